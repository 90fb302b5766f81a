/** Builders for the core's inputs: pvc({ size: '10Gi' }), usage({ usedPercent: 91 }). */
import type { PvcSnapshot, StatsLookup, StorageClassInfo } from '../../src/core/pvc.js';
import { parseQuantity } from '../../src/core/quantity.js';

export function bytes(text: string): bigint {
  const parsed = parseQuantity(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export interface PvcSpec {
  name?: string;
  namespace?: string;
  size?: string;
  request?: string;
  annotations?: Record<string, string>;
  enabled?: boolean;
  phase?: string;
  volumeMode?: 'Filesystem' | 'Block';
  conditions?: string[];
  allocatedResourceStatus?: string;
  storageClassName?: string;
}

export function pvc(spec: PvcSpec = {}): PvcSnapshot {
  const size = spec.size ?? '10Gi';
  const annotations: Record<string, string> = {
    ...(spec.enabled === false ? {} : { 'pvc-chonker.io/enabled': 'true' }),
    ...spec.annotations,
  };
  return {
    namespace: spec.namespace ?? 'db',
    name: spec.name ?? 'data-0',
    uid: 'uid-1',
    resourceVersion: '7',
    labels: {},
    annotations,
    phase: spec.phase ?? 'Bound',
    volumeMode: spec.volumeMode ?? 'Filesystem',
    storageClassName: spec.storageClassName ?? 'gp3',
    volumeName: 'pv-1',
    requestBytes: bytes(spec.request ?? size),
    capacityBytes: spec.phase === 'Pending' ? undefined : bytes(size),
    conditionTypes: spec.conditions ?? [],
    allocatedResourceStatus: spec.allocatedResourceStatus,
  };
}

export function storageClass(allowVolumeExpansion = true): StorageClassInfo {
  return {
    name: 'gp3',
    provisioner: 'ebs.csi.aws.com',
    allowVolumeExpansion,
    parameters: {},
    annotations: {},
  };
}

export interface UsageSpec {
  /** kubelet capacityBytes; defaults to the PVC's size. */
  capacity?: string;
  usedPercent?: number;
  available?: string;
  inodes?: number;
  inodesUsedPercent?: number;
}

export function usage(spec: UsageSpec = {}, size = '10Gi'): StatsLookup {
  const capacityBytes = bytes(spec.capacity ?? size);
  const availableBytes =
    spec.available !== undefined
      ? bytes(spec.available)
      : (capacityBytes * BigInt(100 - (spec.usedPercent ?? 50))) / 100n;
  const inodes = spec.inodes === undefined ? undefined : BigInt(spec.inodes);
  const inodesUsed =
    inodes === undefined ? undefined : (inodes * BigInt(spec.inodesUsedPercent ?? 10)) / 100n;
  return {
    kind: 'found',
    stats: {
      capacityBytes,
      availableBytes,
      usedBytes: capacityBytes - availableBytes,
      inodes,
      inodesUsed,
      inodesFree:
        inodes === undefined || inodesUsed === undefined ? undefined : inodes - inodesUsed,
    },
  };
}
