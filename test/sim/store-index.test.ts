// The store's cached sorted views, the continue-key binary search and the kubelet proxy's index
// of Running pods by node: each must answer exactly as a fresh scan of the store would.
import type { Admission } from '../../sim/admission.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listObjects, type ApiContext, type ListResult } from '../../sim/api.js';
import { namespaceOf, nameOf, readPath, type JsonObject } from '../../sim/json.js';
import { runningPodsOn } from '../../sim/kubelet-proxy.js';
import type { ResizeController } from '../../sim/resize.js';
import { resourceForKind } from '../../sim/resources.js';
import { createStore, objectKey, type ObjectStore } from '../../sim/store.js';

const NAMESPACES = ['a', 'a-b', 'a.b', 'ab', 'b', 'z'];
const NAMES = ['p', 'p-0', 'p.1', 'p0', 'q', 'q/r', 'x'];
const NODES = ['n1', 'n2', 'n3'];
const PHASES = ['Running', 'Pending', 'Succeeded'];

type Op =
  | { op: 'put'; ns: string; name: string; node: string; phase: string; tier: string }
  | { op: 'delete'; ns: string; name: string }
  | { op: 'read' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('put' as const),
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...NAMES),
    node: fc.constantFrom(...NODES),
    phase: fc.constantFrom(...PHASES),
    tier: fc.constantFrom('db', 'web'),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...NAMES),
  }),
  fc.constant({ op: 'read' as const }),
);

function pod(o: Extract<Op, { op: 'put' }>): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.ns, labels: { tier: o.tier } },
    spec: { nodeName: o.node },
    status: { phase: o.phase },
  };
}

/** A store with a plain map of what it should hold alongside, as the reference. */
interface Subject {
  store: ObjectStore;
  model: Map<string, JsonObject>;
}

function subject(): Subject {
  return { store: createStore(), model: new Map() };
}

function apply({ store, model }: Subject, o: Op): void {
  if (o.op === 'put') model.set(objectKey(o.ns, o.name), store.put('Pod', pod(o)));
  if (o.op === 'delete') {
    store.delete('Pod', o.ns, o.name);
    model.delete(objectKey(o.ns, o.name));
  }
}

/** What list() returned before it was cached: every object, filtered, sorted by key. */
function naiveList({ model }: Subject, namespace?: string): JsonObject[] {
  return [...model.values()]
    .filter((o) => namespace === undefined || namespaceOf(o) === namespace)
    .sort((x, y) => {
      const a = objectKey(namespaceOf(x), nameOf(x));
      const b = objectKey(namespaceOf(y), nameOf(y));
      return a < b ? -1 : a > b ? 1 : 0;
    });
}

function names(objects: readonly JsonObject[]): string[] {
  return objects.map((o) => objectKey(namespaceOf(o), nameOf(o)));
}

function ctxFor(store: ObjectStore): ApiContext {
  return {
    store,
    resize: {} as ResizeController,
    admission: {} as Admission,
    now: () => new Date(),
  };
}

/** Follows continue tokens to the end; returns every page's items and listMeta. */
function pageThrough(
  store: ObjectStore,
  namespace: string | undefined,
  query: Record<string, string>,
): ListResult[] {
  const target = {
    info: resourceForKind('Pod'),
    namespace,
    name: undefined,
    subresource: undefined,
  };
  const pages: ListResult[] = [];
  let token: string | undefined;
  do {
    const page = listObjects(ctxFor(store), target, token ? { ...query, continue: token } : query);
    pages.push(page);
    token = page.listMeta['continue'] as string | undefined;
  } while (token !== undefined && pages.length < 100);
  return pages;
}

describe('store sorted cache', () => {
  it('list() matches a fresh sort after any mix of inserts, updates and deletes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const s = subject();
        const { store } = s;
        for (const o of ops) {
          apply(s, o);
          if (o.op !== 'read') continue;
          // Reads in between populate the cache that the next writes must keep in step.
          expect(store.list('Pod')).toEqual(naiveList(s));
        }
        expect(store.list('Pod')).toEqual(naiveList(s));
        for (const ns of NAMESPACES) expect(store.list('Pod', ns)).toEqual(naiveList(s, ns));
        expect(store.list('Pod', '')).toEqual([]);
        // Updates replace cached entries in place: the cached objects are the live ones.
        for (const o of store.list('Pod'))
          expect(store.get('Pod', namespaceOf(o), nameOf(o))).toBe(o);
        const { keys, objects } = store.sorted('Pod');
        expect(keys).toEqual(names(objects));
      }),
    );
  });

  it('list() hands out a copy, so a caller cannot disturb the cache', () => {
    const store = createStore();
    store.put(
      'Pod',
      pod({ op: 'put', ns: 'a', name: 'p', node: 'n1', phase: 'Running', tier: 'db' }),
    );
    store.list('Pod').pop();
    expect(store.list('Pod')).toHaveLength(1);
  });

  it('kindRevision moves only on writes of that kind', () => {
    const store = createStore();
    expect(store.kindRevision('Pod')).toBe(0);
    store.put(
      'Pod',
      pod({ op: 'put', ns: 'a', name: 'p', node: 'n1', phase: 'Running', tier: 'db' }),
    );
    const after = store.kindRevision('Pod');
    expect(after).toBe(store.revision());
    store.put('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    expect(store.kindRevision('Pod')).toBe(after);
    store.delete('Pod', 'a', 'missing');
    expect(store.kindRevision('Pod')).toBe(after);
    store.delete('Pod', 'a', 'p');
    expect(store.kindRevision('Pod')).toBeGreaterThan(after);
  });
});

describe('paged lists from the sorted cache', () => {
  const queryArb = fc.record(
    {
      limit: fc.constantFrom('1', '2', '3', '5', '0', 'x'),
      labelSelector: fc.constantFrom('tier=db', 'tier!=db', ''),
      fieldSelector: fc.constantFrom('status.phase=Running', 'spec.nodeName=n2'),
    },
    { requiredKeys: [] },
  );

  it('returns the same pages, tokens and counts as filtering the whole list', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }),
        queryArb,
        (ops, namespace, query) => {
          const s = subject();
          for (const o of ops) apply(s, o);
          const pages = pageThrough(s.store, namespace, query);
          const all = naiveList(s, namespace).filter(
            (o) =>
              (query.labelSelector !== 'tier=db' || readPath(o, 'metadata.labels.tier') === 'db') &&
              (query.labelSelector !== 'tier!=db' ||
                readPath(o, 'metadata.labels.tier') !== 'db') &&
              (query.fieldSelector !== 'status.phase=Running' ||
                readPath(o, 'status.phase') === 'Running') &&
              (query.fieldSelector !== 'spec.nodeName=n2' || readPath(o, 'spec.nodeName') === 'n2'),
          );
          expect(pages.flatMap((p) => names(p.items))).toEqual(names(all));
          const limit = Number(query.limit ?? '0');
          const paged = Number.isInteger(limit) && limit > 0;
          let seen = 0;
          for (const page of pages) {
            seen += page.items.length;
            const more = page.listMeta['continue'] !== undefined;
            expect(more).toBe(seen < all.length);
            if (paged && more) expect(page.items).toHaveLength(limit);
            const remaining = page.listMeta['remainingItemCount'];
            if (more && query.labelSelector === undefined && query.fieldSelector === undefined)
              expect(remaining).toBe(all.length - seen);
            else expect(remaining).toBeUndefined();
          }
          if (!paged) expect(pages).toHaveLength(1);
        },
      ),
    );
  });
});

describe('kubelet proxy: Running pods by node', () => {
  it('follows pod writes and deletes, and is not rebuilt by writes of other kinds', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const s = subject();
        const { store } = s;
        for (const o of ops) {
          apply(s, o);
          if (o.op !== 'read') continue;
          for (const node of NODES) {
            const expected = naiveList(s).filter(
              (p) =>
                readPath(p, 'spec.nodeName') === node && readPath(p, 'status.phase') === 'Running',
            );
            expect(names(runningPodsOn(store, node))).toEqual(names(expected));
          }
        }
        apply(s, { op: 'put', ns: 'z', name: 'last', node: 'n1', phase: 'Running', tier: 'db' });
        const before = runningPodsOn(store, 'n1');
        expect(names(before)).toContain('z/last');
        store.put('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
        expect(runningPodsOn(store, 'n1')).toBe(before);
      }),
    );
  });
});
