// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic-merge
// approximation. The strategic variant treats lists as atomic (right for every field pvc-chonker
// touches: requests map, annotations) except the merge-keyed lists of MERGE_KEYS.
import { apiError, badRequest } from './status.js';
import { deepCopy, deepEqual, isObject, type JsonObject } from './json.js';

export type PatchType = 'merge' | 'json' | 'strategic';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

export function unsupportedPatchType(): Error {
  return apiError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
  );
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepCopy(patch);
  const out: JsonObject = isObject(target) ? deepCopy(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      // Keys are reflected from the patch document, never from user-controlled prototypes.
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
      delete out[key];
    } else {
      out[key] = mergePatch(out[key], value);
    }
  }
  return out;
}

/**
 * Lists merged by a key, as the built-in types declare with patchMergeKey; every other list is
 * replaced. Only the webhooks of the webhook configurations so far: `kubectl apply` sends them
 * when a defaulted field of a webhook (rules[].scope) differs from the manifest.
 */
const MERGE_KEYS: Record<string, string> = { webhooks: 'name' };

function strategicPatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepCopy(patch);
  const out: JsonObject = isObject(target) ? deepCopy(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue; // $patch / $retainKeys / $setElementOrder handled below or not simulated
    const mergeKey = MERGE_KEYS[key];
    if (value === null) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
      delete out[key];
    } else if (mergeKey !== undefined && Array.isArray(value) && Array.isArray(out[key])) {
      out[key] = mergeKeyedList(out[key], value, mergeKey, patch[`$setElementOrder/${key}`]);
    } else {
      out[key] = strategicPatch(out[key], value);
    }
  }
  return out;
}

/**
 * A patch element updates the element with the same key (or is appended, or with
 * `$patch: delete` removes it); elements the patch does not name stay. `$setElementOrder`
 * orders the named elements; the others keep their place after them.
 */
function mergeKeyedList(
  target: unknown[],
  patch: unknown[],
  key: string,
  order: unknown,
): unknown[] {
  const keyOf = (o: unknown): unknown => (isObject(o) ? o[key] : undefined);
  let out = target.map((o) => deepCopy(o));
  for (const element of patch) {
    const i = out.findIndex((o) => keyOf(o) !== undefined && deepEqual(keyOf(o), keyOf(element)));
    if (isObject(element) && element['$patch'] === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = strategicPatch(out[i], element);
    } else {
      out.push(strategicPatch(undefined, element));
    }
  }
  if (Array.isArray(order)) {
    const rank = (o: unknown): number => {
      const r = order.findIndex((k) => deepEqual(keyOf(k), keyOf(o)));
      return r < 0 ? order.length : r;
    };
    out = out
      .map((o, i) => ({ o, i }))
      .sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i)
      .map((x) => x.o);
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

interface PointerParent {
  parent: JsonObject | unknown[];
  key: string;
}

function resolveParent(doc: unknown, pointer: string): PointerParent {
  if (pointer === '' || !pointer.startsWith('/'))
    throw badRequest(`the server rejected our request due to an error in our request`);
  const tokens = pointer.slice(1).split('/').map(unescapePointer);
  const last = tokens.pop() ?? '';
  let cur: unknown = doc;
  for (const t of tokens) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (cur === undefined)
      throw badRequest(`jsonpatch add operation does not apply: doc is missing path: "${pointer}"`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw badRequest(`doc is missing path: "${pointer}"`);
  return { parent: cur, key: last };
}

function getAt(p: PointerParent): unknown {
  return Array.isArray(p.parent) ? p.parent[Number(p.key)] : p.parent[p.key];
}

function removeAt(p: PointerParent, pointer: string): unknown {
  const existing = getAt(p);
  if (existing === undefined)
    throw badRequest(
      `jsonpatch remove operation does not apply: doc is missing path: "${pointer}"`,
    );
  if (Array.isArray(p.parent)) p.parent.splice(Number(p.key), 1);
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
  else delete p.parent[p.key];
  return existing;
}

function addAt(p: PointerParent, value: unknown): void {
  if (!Array.isArray(p.parent)) {
    p.parent[p.key] = value;
    return;
  }
  const index = p.key === '-' ? p.parent.length : Number(p.key);
  p.parent.splice(index, 0, value);
}

function applyOp(doc: unknown, op: JsonObject): void {
  const path = typeof op['path'] === 'string' ? op['path'] : '';
  const from = typeof op['from'] === 'string' ? op['from'] : '';
  switch (op['op']) {
    case 'add':
      addAt(resolveParent(doc, path), deepCopy(op['value']));
      return;
    case 'remove':
      removeAt(resolveParent(doc, path), path);
      return;
    case 'replace': {
      const p = resolveParent(doc, path);
      removeAt(p, path);
      addAt(p, deepCopy(op['value']));
      return;
    }
    case 'move':
      addAt(resolveParent(doc, path), removeAt(resolveParent(doc, from), from));
      return;
    case 'copy':
      addAt(resolveParent(doc, path), deepCopy(getAt(resolveParent(doc, from))));
      return;
    case 'test':
      if (!deepEqual(getAt(resolveParent(doc, path)), op['value'])) {
        throw apiError(
          422,
          'Invalid',
          `the server rejected our request due to an error in our request`,
        );
      }
      return;
    default:
      throw badRequest(`Unexpected kind: ${String(op['op'])}`);
  }
}

export function jsonPatch(target: JsonObject, ops: unknown): JsonObject {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = deepCopy(target);
  for (const op of ops) applyOp(doc, isObject(op) ? op : {});
  return doc;
}

export function applyPatch(type: PatchType, target: JsonObject, patch: unknown): JsonObject {
  if (type === 'json') return jsonPatch(target, patch);
  const result = type === 'merge' ? mergePatch(target, patch) : strategicPatch(target, patch);
  if (!isObject(result))
    throw badRequest('json: cannot unmarshal non-object into the patched object');
  return result;
}
