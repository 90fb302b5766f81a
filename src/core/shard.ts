import { fnv1a } from './hash.js';
import type { PvcSnapshot } from './pvc.js';
import { GROUP_ANNOTATION } from './pvc-group.js';

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
