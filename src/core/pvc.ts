/**
 * The typed, validated view of the Kubernetes objects the decision reads. Adapters build these
 * from API objects once, at the edge; the core never sees raw JSON.
 */
import type { UsageFit } from './forecast.js';

export interface PvcRef {
  namespace: string;
  name: string;
}

export type VolumeMode = 'Filesystem' | 'Block';

export interface PvcSnapshot extends PvcRef {
  uid: string;
  resourceVersion: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** status.phase: only a Bound claim has a volume to grow. */
  phase: string | undefined;
  volumeMode: VolumeMode;
  storageClassName: string | undefined;
  /** spec.volumeAttributesClassName: its parameters (a volume type) override the class's. */
  volumeAttributesClassName?: string | undefined;
  volumeName: string | undefined;
  /** spec.resources.requests.storage in bytes; undefined when absent or unparsable. */
  requestBytes: bigint | undefined;
  /** status.capacity.storage in bytes: what the volume really has. */
  capacityBytes: bigint | undefined;
  /** status.conditions[].type, e.g. Resizing, FileSystemResizePending, ControllerResizeError. */
  conditionTypes: readonly string[];
  /** status.allocatedResourceStatuses.storage (KEP-1790), e.g. ControllerResizeInProgress. */
  allocatedResourceStatus: string | undefined;
}

/** The parts of the bound PersistentVolume that say where the volume lives. */
export interface PersistentVolumeInfo {
  name: string;
  capacityBytes: bigint | undefined;
  /** spec.csi.driver, e.g. ebs.csi.aws.com. */
  csiDriver: string | undefined;
  /** spec.csi.volumeHandle: an EBS volume ID, a GCE disk path, an Azure disk URI. */
  volumeHandle: string | undefined;
  /** In-tree sources that predate CSI. */
  awsElasticBlockStoreVolumeId: string | undefined;
  gcePersistentDiskName: string | undefined;
  /** topology.kubernetes.io/zone (from labels or node affinity), when known. */
  zone: string | undefined;
  /**
   * The `In` requirements of spec.nodeAffinity.required, values by key: where a node-local volume
   * lives (TopoLVM's topology.topolvm.io/node). Empty for most volumes.
   */
  nodeAffinity: Readonly<Record<string, readonly string[]>>;
}

export interface StorageClassInfo {
  name: string;
  provisioner: string;
  allowVolumeExpansion: boolean;
  parameters: Readonly<Record<string, string>>;
  /** pvc-chonker.io/* keys here are class-wide defaults (enabled, settings, provider). */
  annotations: Readonly<Record<string, string>>;
}

/** Filesystem usage of one mounted volume, from the kubelet Summary API. Bytes and counts. */
export interface VolumeStats {
  capacityBytes: bigint;
  availableBytes: bigint;
  usedBytes: bigint;
  /** Absent when the filesystem reports no inode counts (e.g. some Windows and FUSE volumes). */
  inodes: bigint | undefined;
  inodesUsed: bigint | undefined;
  inodesFree: bigint | undefined;
}

/**
 * Where a PVC's usage was read: the node's kubelet directly (`nodes/stats`), the kubelet through
 * the API server's node proxy (`nodes/proxy`), or Prometheus' kubelet_volume_stats_* series.
 */
export type StatsSourceName = 'kubelet' | 'kubelet-proxy' | 'prometheus';

/**
 * What the gather step learnt about a PVC's usage, and the source that answered (or failed);
 * no source when none was asked (the volume is not mounted by a running pod).
 */
export type StatsLookup =
  | {
      kind: 'found';
      stats: VolumeStats;
      source?: StatsSourceName | undefined;
      /** The fit of used bytes over --forecast-window, when the source keeps history (Prometheus). */
      history?: UsageFit | undefined;
    }
  | { kind: 'unavailable'; detail: string; source?: StatsSourceName | undefined };

export function pvcKey(ref: PvcRef): string {
  return `${ref.namespace}/${ref.name}`;
}
