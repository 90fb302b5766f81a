import type { PvcSnapshot } from './pvc.js';

const GROUP_ANNOTATION = 'pvc-chonker.io/group';

/** FNV-1a, 32 bit: stable across runs, processes and Node versions. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** What a PVC is sharded by: its group (so a group is never split), else namespace/name. */
export function shardKey(pvc: PvcSnapshot): string {
  const group = pvc.annotations[GROUP_ANNOTATION];
  return group === undefined || group === ''
    ? `${pvc.namespace}/${pvc.name}`
    : `group:${pvc.namespace}/${group}`;
}

export function shardOf(pvc: PvcSnapshot, count: number): number {
  return fnv1a(shardKey(pvc)) % count;
}
