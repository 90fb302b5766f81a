/**
 * The kubelet Summary API (/stats/summary) as the kubelet really answers it: pods[].volume[] with
 * FsStats fields and a pvcRef for volumes backed by a PVC. Parsed defensively: a malformed entry
 * is dropped, not trusted.
 */
import { pvcKey, type VolumeStats } from '../core/pvc.js';
import { isRecord } from '../core/json.js';

/** Counts arrive as JSON numbers (uint64 on the kubelet side); take only non-negative integers. */
function count(value: unknown): bigint | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  return BigInt(value);
}

function volumeStats(entry: Record<string, unknown>): VolumeStats | undefined {
  const capacityBytes = count(entry['capacityBytes']);
  const availableBytes = count(entry['availableBytes']);
  if (capacityBytes === undefined || availableBytes === undefined) return undefined;
  const inodes = count(entry['inodes']);
  return {
    capacityBytes,
    availableBytes,
    usedBytes: count(entry['usedBytes']) ?? capacityBytes - availableBytes,
    // Zero inodes means the filesystem does not report them (e.g. Windows): same as absent.
    inodes: inodes === 0n ? undefined : inodes,
    inodesUsed: count(entry['inodesUsed']),
    inodesFree: count(entry['inodesFree']),
  };
}

/** The key of a PVC-backed volume entry, when it is one and is wanted. */
function wantedKey(entry: unknown, wanted: ReadonlySet<string> | undefined): string | undefined {
  if (!isRecord(entry) || !isRecord(entry['pvcRef'])) return undefined;
  const { name, namespace } = entry['pvcRef'];
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  const key = pvcKey({ namespace, name });
  return wanted === undefined || wanted.has(key) ? key : undefined;
}

/**
 * Stats of the PVC-backed volumes in a Summary response, keyed "ns/name": all of them, or only
 * those in `wanted` (a node also mounts PVCs the pass does not manage; they are not read).
 */
export function parseSummary(
  summary: unknown,
  wanted?: ReadonlySet<string>,
): Map<string, VolumeStats> {
  const result = new Map<string, VolumeStats>();
  if (!isRecord(summary) || !Array.isArray(summary['pods'])) return result;
  for (const pod of summary['pods'] as unknown[]) {
    if (!isRecord(pod) || !Array.isArray(pod['volume'])) continue;
    for (const entry of pod['volume'] as unknown[]) {
      const key = wantedKey(entry, wanted);
      const stats = key === undefined ? undefined : volumeStats(entry as Record<string, unknown>);
      if (key !== undefined && stats !== undefined) result.set(key, stats);
    }
  }
  return result;
}
