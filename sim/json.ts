// Small helpers for walking untyped Kubernetes JSON without `any`.
import { isDeepStrictEqual } from 'node:util';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as an object, or an empty object, so that deep reads never throw. */
export function obj(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Returns the child object at `key`, creating it when absent. */
export function child(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

export function deepCopy<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

export function meta(o: JsonObject): JsonObject {
  return obj(o['metadata']);
}

export function nameOf(o: JsonObject): string {
  return str(meta(o)['name']) ?? '';
}

export function namespaceOf(o: JsonObject): string | undefined {
  const ns = str(meta(o)['namespace']);
  return ns === '' ? undefined : ns;
}

export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(value))) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Reads a dotted path such as `spec.resources.requests.storage`. */
export function readPath(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}
