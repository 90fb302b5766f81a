// Deletion as the API server does it: an object that carries finalizers is only marked
// (metadata.deletionTimestamp) and is removed once an update leaves it without any. The sim also
// plays the controllers that hold the finalizers the StorageObjectInUseProtection admission
// plugin adds (seed.ts): pvc-protection lets a claim go once no pod that may still run uses it,
// pv-protection lets a volume go once it is no longer Bound.
import { arr, meta, nameOf, namespaceOf, obj, readPath, str, type JsonObject } from './json.js';
import type { SimKind } from './resources.js';
import { PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER } from './seed.js';
import { kubeTime, type ObjectStore } from './store.js';

function finalizersOf(o: JsonObject): string[] {
  return arr(meta(o)['finalizers']).filter((f): f is string => typeof f === 'string');
}

function isTerminating(o: JsonObject): boolean {
  return meta(o)['deletionTimestamp'] !== undefined;
}

/** A pod that has not finished may still mount the claim (the controller's podUsesPVC). */
function claimInUse(store: ObjectStore, pvc: JsonObject): boolean {
  return store.list('Pod', namespaceOf(pvc)).some((pod) => {
    const phase = readPath(pod, 'status.phase');
    if (phase === 'Succeeded' || phase === 'Failed') return false;
    return arr(readPath(pod, 'spec.volumes')).some(
      (v) => str(readPath(v, 'persistentVolumeClaim.claimName')) === nameOf(pvc),
    );
  });
}

/** The finalizer a protection controller would remove from this terminating object now. */
function releasable(store: ObjectStore, kind: SimKind, o: JsonObject): string | undefined {
  const finalizers = finalizersOf(o);
  if (kind === 'PersistentVolumeClaim' && finalizers.includes(PVC_PROTECTION_FINALIZER))
    return claimInUse(store, o) ? undefined : PVC_PROTECTION_FINALIZER;
  if (kind === 'PersistentVolume' && finalizers.includes(PV_PROTECTION_FINALIZER))
    return readPath(o, 'status.phase') === 'Bound' ? undefined : PV_PROTECTION_FINALIZER;
  return undefined;
}

/** Removes a terminating object whose last finalizer is gone; answers whether it did. */
export function finishDeletion(store: ObjectStore, kind: SimKind, o: JsonObject): boolean {
  if (!isTerminating(o) || finalizersOf(o).length > 0) return false;
  store.delete(kind, namespaceOf(o), nameOf(o));
  return true;
}

/** The protection controllers' pass over every terminating claim and volume. */
export function releaseProtection(store: ObjectStore): void {
  for (const kind of ['PersistentVolumeClaim', 'PersistentVolume'] as const) {
    for (const o of store.list(kind).filter(isTerminating)) {
      const finalizer = releasable(store, kind, o);
      if (finalizer === undefined) continue;
      const md = { ...meta(o), finalizers: finalizersOf(o).filter((f) => f !== finalizer) };
      const stored = store.put(kind, { ...o, metadata: md });
      finishDeletion(store, kind, stored);
    }
  }
}

/**
 * DELETE: gone at once without finalizers; else marked and kept (deletionGracePeriodSeconds 0,
 * as for any object without a graceful-deletion strategy) until its finalizers are removed.
 * Answers the object as the response carries it.
 */
export function deleteStored(
  store: ObjectStore,
  kind: SimKind,
  existing: JsonObject,
  now: Date,
): JsonObject {
  if (finalizersOf(existing).length === 0) {
    store.delete(kind, namespaceOf(existing), nameOf(existing));
    // A pod gone may free a claim.
    releaseProtection(store);
    return existing;
  }
  const marked = isTerminating(existing)
    ? existing
    : store.put(kind, {
        ...existing,
        metadata: {
          ...obj(existing['metadata']),
          deletionTimestamp: kubeTime(now),
          deletionGracePeriodSeconds: 0,
        },
      });
  releaseProtection(store);
  return store.get(kind, namespaceOf(marked), nameOf(marked)) ?? marked;
}
