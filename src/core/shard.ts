import type { PvcSnapshot } from './pvc.js';
import { GROUP_ANNOTATION } from './pvc-group.js';

/** FNV-1a, 32 bit: stable across runs, processes and Node versions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * What a PVC is sharded by, so that a group is never split: the PVCGroup it belongs to (cluster-
 * scoped, keyed by name); else, for compatibility with releases before PVCGroups, a
 * `pvc-chonker.io/group` annotation that names no PVCGroup keeps its old per-namespace key;
 * else namespace/name.
 */
export function shardKey(pvc: PvcSnapshot, pvcGroup?: string): string {
  if (pvcGroup !== undefined) return `pvcgroup:${pvcGroup}`;
  const group = pvc.annotations[GROUP_ANNOTATION];
  return group === undefined || group === ''
    ? `${pvc.namespace}/${pvc.name}`
    : `group:${pvc.namespace}/${group}`;
}

export function shardOf(pvc: PvcSnapshot, count: number, pvcGroup?: string): number {
  return fnv1a(shardKey(pvc, pvcGroup)) % count;
}
