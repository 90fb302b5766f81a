// In-memory object store with one global resourceVersion counter, like etcd's revision.
import { randomUUID } from 'node:crypto';
import { deepCopy, meta, nameOf, namespaceOf, type JsonObject } from './json.js';
import { apiVersionOf, resourceForKind, type SimKind } from './resources.js';

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
  /** Create or replace; fills uid/creationTimestamp on create and always bumps resourceVersion. */
  put(kind: SimKind, object: JsonObject): JsonObject;
  delete(kind: SimKind, namespace: string | undefined, name: string): JsonObject | undefined;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** RFC 3339 with second precision: metav1.Time drops sub-second digits on the wire. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createStore(now: () => Date = () => new Date()): ObjectStore {
  const maps = new Map<SimKind, Map<string, JsonObject>>();
  let rv = 1000;
  let compacted = 0;

  function mapFor(kind: SimKind): Map<string, JsonObject> {
    let m = maps.get(kind);
    if (!m) {
      m = new Map();
      maps.set(kind, m);
    }
    return m;
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
    if (!info.namespaced) delete md['namespace'];
    rv += 1;
    md['resourceVersion'] = String(rv);
    // Stored objects carry kind/apiVersion; list responses strip them per item.
    const stored: JsonObject = { kind, apiVersion: apiVersionOf(info), ...copy };
    stored['kind'] = kind;
    stored['apiVersion'] = apiVersionOf(info);
    mapFor(kind).set(key, stored);
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
      const all = [...mapFor(kind).entries()]
        .filter(([, o]) => namespace === undefined || namespaceOf(o) === namespace)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return all.map(([, o]) => o);
    },
    put,
    delete(kind, namespace, name) {
      const m = mapFor(kind);
      const key = objectKey(namespace, name);
      const existing = m.get(key);
      if (existing) {
        m.delete(key);
        rv += 1;
      }
      return existing;
    },
  };
}
