// In-memory object store with one global resourceVersion counter, like etcd's revision.
import { randomUUID } from 'node:crypto';
import { deepCopy, isObject, meta, nameOf, namespaceOf, obj, type JsonObject } from './json.js';
import { apiVersionOf, resourceForKind, wireKind, type SimKind } from './resources.js';

export interface ObjectStore {
  /** Current global resourceVersion (the last write's). */
  revision(): number;
  /** Lists are only consistent from this revision on; older continue tokens are Gone. */
  compactedRevision(): number;
  compact(): void;
  /** Live reference: callers must not mutate it; use put(). */
  get(kind: SimKind, namespace: string | undefined, name: string): JsonObject | undefined;
  /** Live references sorted by namespace/name, the order etcd keys come back in. */
  list(kind: SimKind, namespace?: string): JsonObject[];
  /**
   * Every object of a kind sorted by key (objectKey), with the keys alongside: keys[i] is the
   * key of objects[i]. A cached, shared view: callers must not mutate it or hold on to it.
   */
  sorted(kind: SimKind): SortedObjects;
  /** The revision of the last put/delete of this kind (0 if none): cache key for indexes. */
  kindRevision(kind: SimKind): number;
  /** Create or replace; fills uid/creationTimestamp on create and always bumps resourceVersion. */
  put(kind: SimKind, object: JsonObject): JsonObject;
  delete(kind: SimKind, namespace: string | undefined, name: string): JsonObject | undefined;
  /** Calls `listener` after every put and delete (watch uses it); returns an unsubscribe. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
}

/** One write, as a watch reports it: the object after the write (on DELETED, its last state). */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: SimKind;
  /** The revision of this write; on DELETED the object carries it as its resourceVersion. */
  revision: number;
  object: JsonObject;
  /** The object before the write (undefined on ADDED). */
  previous: JsonObject | undefined;
}

export interface SortedObjects {
  readonly keys: readonly string[];
  readonly objects: readonly JsonObject[];
}

/** Index of the first key in `keys` (sorted ascending) that is greater than `key`. */
export function firstKeyAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] ?? '') > key) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the first key in `keys` (sorted ascending) that is not less than `key`. */
export function firstKeyAtOrAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] ?? '') >= key) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The index range [start, end) of `sorted` whose keys start with `${namespace}/`: a superset of
 * the namespace's objects (a name containing '/' could fall in it), so callers still compare
 * namespaceOf. Keys with that prefix are contiguous: they sort at or after the prefix and
 * before the prefix with its '/' bumped to '0'.
 */
export function namespaceRange(sorted: SortedObjects, namespace: string): [number, number] {
  return [
    firstKeyAtOrAfter(sorted.keys, `${namespace}/`),
    firstKeyAtOrAfter(sorted.keys, `${namespace}0`),
  ];
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** RFC 3339 with second precision: metav1.Time drops sub-second digits on the wire. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** ObjectMeta's maps and lists are `omitempty`: an empty one is not stored, nor served. */
function omitEmptyCollections(md: JsonObject): void {
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
    const value = md[key];
    const empty = Array.isArray(value)
      ? value.length === 0
      : isObject(value) && Object.keys(value).length === 0;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- one of four known keys
    if (empty) delete md[key];
  }
}

/**
 * The PersistentVolume strategy stamps status.lastPhaseTransitionTime on create and whenever
 * the phase changes, unless the writer set a new time itself (GA in Kubernetes 1.31).
 */
function stampPhaseTransition(
  pv: JsonObject,
  existing: JsonObject | undefined,
  now: () => Date,
): void {
  const status = obj(pv['status']);
  const before = obj(existing?.['status']);
  const stamped = status['lastPhaseTransitionTime'];
  const changed = existing === undefined || status['phase'] !== before['phase'];
  if (!changed || status['phase'] === undefined) return;
  if (stamped === undefined || stamped === before['lastPhaseTransitionTime']) {
    status['lastPhaseTransitionTime'] = kubeTime(now());
    pv['status'] = status;
  }
}

export function createStore(now: () => Date = () => new Date()): ObjectStore {
  const maps = new Map<SimKind, Map<string, JsonObject>>();
  // Per kind: the sorted view list() serves from, dropped when a key is added or removed (an
  // update of an existing key replaces its entry in place), and the revision of the last write.
  const sortedCache = new Map<SimKind, { keys: string[]; objects: JsonObject[] }>();
  const kindRevisions = new Map<SimKind, number>();
  let rv = 1000;
  let compacted = 0;
  const listeners = new Set<(event: StoreEvent) => void>();

  function notify(event: StoreEvent): void {
    for (const listener of listeners) listener(event);
  }

  function mapFor(kind: SimKind): Map<string, JsonObject> {
    let m = maps.get(kind);
    if (!m) {
      m = new Map();
      maps.set(kind, m);
    }
    return m;
  }

  function sorted(kind: SimKind): SortedObjects {
    const cached = sortedCache.get(kind);
    if (cached) return cached;
    const entries = [...mapFor(kind).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const built = { keys: entries.map(([k]) => k), objects: entries.map(([, o]) => o) };
    sortedCache.set(kind, built);
    return built;
  }

  /** Keeps the sorted cache in step with a write of `key` (stored undefined: a delete). */
  function written(kind: SimKind, key: string, existed: boolean, stored?: JsonObject): void {
    kindRevisions.set(kind, rv);
    const cached = sortedCache.get(kind);
    if (!cached) return;
    if (!existed || !stored) {
      sortedCache.delete(kind);
      return;
    }
    const i = firstKeyAtOrAfter(cached.keys, key);
    if (cached.keys[i] === key) cached.objects[i] = stored;
    else sortedCache.delete(kind);
  }

  function put(kind: SimKind, object: JsonObject): JsonObject {
    const info = resourceForKind(kind);
    const copy = deepCopy(object);
    const md = meta(copy);
    copy['metadata'] = md;
    const key = objectKey(info.namespaced ? namespaceOf(copy) : undefined, nameOf(copy));
    const existing = mapFor(kind).get(key);
    const existingMeta = existing ? meta(existing) : undefined;
    md['uid'] ??= existingMeta?.['uid'] ?? randomUUID();
    md['creationTimestamp'] ??= existingMeta?.['creationTimestamp'] ?? kubeTime(now());
    omitEmptyCollections(md);
    if (kind === 'PersistentVolume') stampPhaseTransition(copy, existing, now);
    if (!info.namespaced) delete md['namespace'];
    rv += 1;
    md['resourceVersion'] = String(rv);
    // Stored objects carry kind/apiVersion; list responses strip them per item.
    const stored: JsonObject = { kind: wireKind(info), apiVersion: apiVersionOf(info), ...copy };
    stored['kind'] = wireKind(info);
    stored['apiVersion'] = apiVersionOf(info);
    mapFor(kind).set(key, stored);
    written(kind, key, existing !== undefined, stored);
    notify({
      type: existing ? 'MODIFIED' : 'ADDED',
      kind,
      revision: rv,
      object: stored,
      previous: existing,
    });
    return stored;
  }

  return {
    revision: () => rv,
    compactedRevision: () => compacted,
    compact() {
      // Advance past every issued token so they all fall below the compaction point.
      rv += 1;
      compacted = rv;
    },
    get(kind, namespace, name) {
      return mapFor(kind).get(objectKey(namespace, name));
    },
    list(kind, namespace) {
      const all = sorted(kind);
      if (namespace === undefined) return all.objects.slice();
      const [start, end] = namespaceRange(all, namespace);
      return all.objects.slice(start, end).filter((o) => namespaceOf(o) === namespace);
    },
    sorted,
    kindRevision: (kind) => kindRevisions.get(kind) ?? 0,
    put,
    delete(kind, namespace, name) {
      const m = mapFor(kind);
      const key = objectKey(namespace, name);
      const existing = m.get(key);
      if (existing) {
        m.delete(key);
        rv += 1;
        written(kind, key, true);
        const last = deepCopy(existing);
        meta(last)['resourceVersion'] = String(rv);
        notify({ type: 'DELETED', kind, revision: rv, object: last, previous: existing });
      }
      return existing;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
