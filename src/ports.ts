/**
 * The small interfaces the pass talks to the world through. Real adapters live in kube/, stats/,
 * providers/ and metrics/; tests pass fakes. Wired together only in main.ts.
 */
import type {
  PersistentVolumeInfo,
  PvcRef,
  PvcSnapshot,
  StatsLookup,
  StorageClassInfo,
} from './core/pvc.js';

/**
 * A merge patch for one PVC, guarded by the resourceVersion it was computed from: a new size with
 * its state annotations, or (no requestStorage) annotations alone, as a usage sample is written.
 */
export interface PvcPatch {
  resourceVersion: string;
  requestStorage?: string;
  annotations: Readonly<Record<string, string>>;
}

export type PatchOutcome =
  | { kind: 'patched'; pvc: PvcSnapshot }
  | { kind: 'conflict' }
  | { kind: 'not-found' }
  /** The API server refused the change (422 Invalid, 403 Forbidden): its message says why. */
  | { kind: 'rejected'; status: number; message: string }
  /**
   * No answer came (a timeout, a connection lost in flight), and the patch was not sent again:
   * the PVC was read again to learn whether it applied. `pvc`: the re-read PVC when it did;
   * undefined when it did not or no one knows. `detail` says why no answer came and which.
   */
  | { kind: 'unanswered'; pvc: PvcSnapshot | undefined; detail: string };

export interface PvcEvent {
  pvc: PvcSnapshot;
  type: 'Normal' | 'Warning';
  /** A word of the report vocabulary, e.g. threshold-reached, max-size-reached. */
  reason: string;
  /** What was done: expand, skip, error. */
  action: string;
  message: string;
}

/** Which keys a list keeps; a Set is one, and so is the pass's view of the PVCs listed so far. */
export interface KeyFilter {
  has(key: string): boolean;
}

/** Reads and writes of the Kubernetes API the pass needs; every method may throw KubeApiError. */
export interface Cluster {
  /** Pages through PVCs (all namespaces when `namespaces` is empty), `pageSize` at a time. */
  listPvcs(namespaces: readonly string[], pageSize: number): AsyncIterable<PvcSnapshot[]>;
  /**
   * Bound PVs by name, only those whose names the filter keeps (the list is paged regardless).
   * The filter is asked as each page comes in: the pass lists PVs beside the PVCs.
   */
  listPersistentVolumes(
    names: KeyFilter,
    pageSize: number,
  ): Promise<Map<string, PersistentVolumeInfo>>;
  listStorageClasses(): Promise<Map<string, StorageClassInfo>>;
  /**
   * For each PVC key ("ns/name") asked for and mounted by a Running pod, the node that pod runs
   * on (all pods are listed; only the keys the filter keeps, asked as each page comes in).
   */
  listMountingNodes(
    claims: KeyFilter,
    namespaces: readonly string[],
    pageSize: number,
  ): Promise<Map<string, string>>;
  getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined>;
  patchPvc(ref: PvcRef, patch: PvcPatch): Promise<PatchOutcome>;
  recordEvent(event: PvcEvent): Promise<void>;
}

/** Volume usage from the kubelets, asked once per node, or from Prometheus. */
export interface VolumeStatsSource {
  /**
   * True: asked node by node (the kubelets), so the pass reads each PVC's node from the pods
   * first. False (Prometheus): `pvcsByNode` has one entry holding every PVC that can have stats,
   * and the pods are read only if some PVC is left without stats, to tell "not mounted" apart.
   */
  readonly perNode: boolean;
  /**
   * Keyed by "ns/name"; a PVC missing from the map was not reported by its node. `onStats`, if
   * given, may be called with part of the answer as soon as it is known (a node's PVCs), so the
   * pass can decide and write those PVCs while other nodes are still being asked.
   */
  collect(
    pvcsByNode: ReadonlyMap<string, readonly PvcRef[]>,
    onStats?: (stats: ReadonlyMap<string, StatsLookup>) => void,
  ): Promise<Map<string, StatsLookup>>;
}

/** A PVC the core wants to expand, as handed to the cloud provider for a last check. */
export interface ExpansionCandidate {
  pvc: PvcSnapshot;
  pv: PersistentVolumeInfo | undefined;
  storageClass: StorageClassInfo | undefined;
  /** status.capacity. */
  fromBytes: bigint;
  /** What the core decided to request (capped at max-size, whole Gi). */
  toBytes: bigint;
  /** The PVC's min-increase: a provider that can grant only a smaller step grants none below it. */
  minIncreaseBytes: bigint;
  history: readonly { time: Date; fromBytes: bigint; toBytes: bigint; reason: string }[];
}

export type ProviderVerdict =
  | {
      ok: true;
      provider: string;
      toBytes: bigint;
      warnings: string[];
      /** The volume type the cloud itself reported (EBS DescribeVolumes, the Compute disk). */
      volumeType?: string | undefined;
    }
  | {
      ok: false;
      provider: string;
      reason:
        | 'provider-refused'
        | 'provider-circuit-open'
        | 'provider-error'
        | 'provider-capacity'
        | 'offline-expansion-required'
        | 'max-size-reached';
      detail: string;
      retryAt: Date | undefined;
    };

/**
 * Whole lists of any kind, for the on-premises providers (TopoLVM's Nodes, Longhorn's custom
 * resources): every item of every page, as untrusted JSON the reader validates. Throws
 * KubeApiError.
 */
export interface KubeReader {
  list(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
  ): Promise<unknown[]>;
}

/** What the cloud will allow: the provider of each volume, and a batched check of candidates. */
export interface ProviderGate {
  providerFor(
    pvc: PvcSnapshot,
    pv: PersistentVolumeInfo | undefined,
    storageClass: StorageClassInfo | undefined,
  ): string;
  /**
   * Whether providerFor reads this PVC's PV (`pvc` undefined: a PVC without the provider
   * annotation). Unset: always. A pass lists the PVs up front only when it does; otherwise
   * when some PVC needs its PV: to detect its provider, or for its cloud check when it is to grow.
   */
  detectsFromVolume?(pvc: PvcSnapshot | undefined): boolean;
  /** Whether a provider's cloud check reads its candidates' PVs (generic's does not). Unset: yes. */
  checksVolume?(provider: string): boolean;
  /**
   * Whether a provider's candidates must be checked together, in one batch of the whole pass:
   * they share capacity (a TopoLVM volume group, a Longhorn disk), so each one's room depends
   * on the others. Others are checked in batches as the kubelets answer. Unset: none.
   */
  checksTogether?(provider: string): boolean;
  /** Keyed by "ns/name". Never throws for expected cloud errors. */
  check(
    candidates: readonly ExpansionCandidate[],
    now: Date,
  ): Promise<Map<string, ProviderVerdict>>;
}

/** A list of custom resources; `installed: false` when the CRD is not installed (the list is 404). */
export type CustomResourceList = { installed: false } | { installed: true; items: unknown[] };

export type CustomResourceKind = 'pvcpolicies' | 'pvcgroups';

export interface CustomResourceRef {
  kind: CustomResourceKind;
  /** Undefined for the cluster-scoped PVCGroup. */
  namespace: string | undefined;
  name: string;
}

export type StatusWriteOutcome = 'written' | 'conflict' | 'not-found';

/** PVCPolicy and PVCGroup reads, and status writes; every method may throw KubeApiError. */
export interface CustomResources {
  /** Pages through PVCPolicies (all namespaces when `namespaces` is empty). */
  listPvcPolicies(namespaces: readonly string[], pageSize: number): Promise<CustomResourceList>;
  listPvcGroups(pageSize: number): Promise<CustomResourceList>;
  /** The object as it is now, after a 409; undefined when it was deleted. */
  get(ref: CustomResourceRef): Promise<unknown>;
  /** A merge patch of the status subresource, guarded by resourceVersion. */
  writeStatus(
    ref: CustomResourceRef,
    resourceVersion: string,
    status: Readonly<Record<string, unknown>>,
  ): Promise<StatusWriteOutcome>;
}

/** A list of another system's objects, each kept or dropped as it is read; installed: false on 404. */
export type Listed<T> = { installed: false } | { installed: true; items: T[] };

/**
 * Objects of the systems the pass acts beside, read once per pass each: CSI snapshots and
 * Velero backups (wait for them), StatefulSets (their claim templates). Pages are read one at a
 * time and `keep` turns each object into what is kept (undefined: dropped), so a cluster with
 * thousands of ready snapshots holds none of them. Every method may throw KubeApiError.
 */
export interface Coordination {
  /** snapshot.storage.k8s.io/v1 VolumeSnapshots (all namespaces when `namespaces` is empty). */
  listVolumeSnapshots<T>(
    namespaces: readonly string[],
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>>;
  /** velero.io/v1 Backups of every namespace: they live in Velero's, not in the PVCs'. */
  listVeleroBackups<T>(
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>>;
  /** storage.k8s.io/v1 VolumeAttributesClasses (cluster-scoped): cheaper volume types. */
  listVolumeAttributesClasses<T>(
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>>;
  /** apps/v1 StatefulSets. */
  listStatefulSets<T>(
    namespaces: readonly string[],
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>>;
}
