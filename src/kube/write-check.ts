/**
 * After a write goes unanswered (a timeout, a connection lost in flight), the object is read
 * again to learn whether the write applied, instead of sending it again blindly: client-go
 * leaves a timed-out mutation to its caller too. These say, from the re-read object, whether it
 * did. Every write of the pass is guarded by resourceVersion (or creates a named object), so a
 * write that did not apply by the re-read can still land later only as itself, never twice.
 */
import { isRecord } from '../core/json.js';
import type { PvcSnapshot } from '../core/pvc.js';

/** What a re-read after an unanswered write found. */
export type Reread<T> =
  { found: 'applied'; object: T } | { found: 'not-applied' } | { found: 'unknown'; detail: string };

function resourceVersionOf(object: unknown): unknown {
  const metadata = isRecord(object) ? object['metadata'] : undefined;
  return isRecord(metadata) ? metadata['resourceVersion'] : undefined;
}

/**
 * Whether `object` holds every value `patch` sets: a null removes a field (RFC 7386), an object
 * is compared field by field, anything else must be equal. Undefined values are not sent.
 */
export function holdsPatch(patch: unknown, object: unknown): boolean {
  if (!isRecord(patch)) return JSON.stringify(patch) === JSON.stringify(object);
  if (!isRecord(object)) return false;
  return Object.entries(patch).every(([key, value]) => {
    if (value === undefined) return true;
    if (value === null) return !(key in object);
    return holdsPatch(value, object[key]);
  });
}

/**
 * A merge patch guarded by `metadata.resourceVersion` applied when the object moved past that
 * version and holds every other value the patch sets.
 */
export function guardedPatchApplied(patch: Record<string, unknown>, object: unknown): boolean {
  const guard = resourceVersionOf(patch);
  if (object === undefined || resourceVersionOf(object) === guard) return false;
  // The guard itself is the one value the object no longer holds.
  const metadata = { ...(isRecord(patch['metadata']) ? patch['metadata'] : {}) };
  delete metadata['resourceVersion'];
  return holdsPatch({ ...patch, metadata }, object);
}

/**
 * A PVC expansion applied when the PVC moved past the guard's resourceVersion, requests the new
 * size (compared as bytes: the API server may spell a quantity its own way) and carries the
 * state annotations written with it (last-expansion holds the patch's own time).
 */
export function expansionApplied(
  written: {
    resourceVersion: string;
    /** undefined: an annotation-only patch (a usage sample). */
    requestBytes: bigint | undefined;
    annotations: Readonly<Record<string, string>>;
  },
  pvc: PvcSnapshot | undefined,
): boolean {
  if (pvc === undefined || pvc.resourceVersion === written.resourceVersion) return false;
  if (written.requestBytes !== undefined && pvc.requestBytes !== written.requestBytes) return false;
  return Object.entries(written.annotations).every(
    ([key, value]) => pvc.annotations[key] === value,
  );
}
