/**
 * The report vocabulary. The JSON report, the table, the logs, the Events and the metric labels
 * all use exactly these words; add a word when a feature needs one, never two words for one thing.
 */
import type { StatsSourceName } from './pvc.js';
import type { TemplateDrift } from './drift.js';
import type { VolumeCost } from './volume-cost.js';

/** expand: the PATCH was sent and accepted; would-expand: the same, in --dry-run. */
export type Action = 'expand' | 'would-expand' | 'skip' | 'error';

export type Reason =
  | 'threshold-reached'
  // Under the threshold, but the forecast says full within expand-before-full.
  | 'forecast-full'
  | 'below-threshold'
  | 'cooldown'
  | 'resize-in-progress'
  | 'resize-failed'
  | 'expansion-not-allowed'
  | 'not-bound'
  | 'block-mode'
  | 'metrics-unavailable'
  | 'stats-stale'
  | 'max-size-reached'
  | 'invalid-annotation'
  // The PVCPolicy (or PVCGroup) that governs the PVC is invalid: nothing is expanded.
  | 'invalid-policy'
  // A PVCGroup member raised to the group's size without crossing its own threshold.
  | 'group-sync'
  | 'conflict'
  | 'api-error'
  // Cloud providers: the cloud refuses or cannot be asked.
  | 'provider-refused'
  | 'provider-circuit-open'
  | 'provider-error'
  // On-premises storage (TopoLVM, Longhorn): the node or disk has not the room for the step.
  | 'provider-capacity'
  // Longhorn can grow this volume only while it is detached (its version or data engine).
  | 'offline-expansion-required'
  // The per-run cap on writes; the next run picks the PVC up.
  | 'max-expansions-per-run'
  // A VolumeSnapshot of the PVC or a Velero Backup of its namespace is in progress: wait for it.
  | 'backup-in-progress'
  // The request is below the size pvc-chonker last wrote: an owner set it back; a person decides.
  | 'size-reverted'
  // The run was asked to stop (SIGTERM) before this PVC was handled.
  | 'interrupted';

/** Which usage crossed its threshold. */
export type ThresholdType = 'storage' | 'inodes';

/** One managed PVC's line in the report. Sizes in bytes, ratios in [0, 1]. */
export interface PvcOutcome {
  namespace: string;
  name: string;
  action: Action;
  reason: Reason;
  /** Human explanation with the numbers behind the reason, e.g. "used 91.2% >= threshold 80%". */
  detail: string;
  /** Thresholds crossed this run, whatever the action (a PVC in cooldown can be over threshold). */
  thresholdsReached: readonly ThresholdType[];
  /** status.capacity.storage. */
  currentBytes: bigint | undefined;
  /** spec.resources.requests.storage after the run (the new request when expanded). */
  requestBytes: bigint | undefined;
  /** The size asked for (expand / would-expand) or that would have been asked for. */
  newBytes: bigint | undefined;
  maxSizeBytes: bigint | undefined;
  usedRatio: number | undefined;
  inodesUsedRatio: number | undefined;
  /** Provider that governs the volume (aws, gcp, azure, topolvm, longhorn, generic), when known. */
  provider: string | undefined;
  /** The volume is in a state that needs a human: a failed resize. */
  unhealthy: boolean;
  /** The PVCPolicy (in the PVC's namespace) whose template applied, if any. */
  policy: string | undefined;
  /** Other policies that also selected the PVC ("ns/name"), which lost on priority or name. */
  otherPolicies: readonly string[];
  /** The PVCGroup the PVC belongs to, if any. */
  group: string | undefined;
  /** Where its usage was read (or the source that failed); absent when none was asked. */
  source?: StatsSourceName | undefined;
  /** For a PVC created from a StatefulSet's volumeClaimTemplates: the template's size and its own. */
  templateDrift?: TemplateDrift | undefined;
  /** The cluster the PVC is in: the kubeconfig context, or --cluster-name (the metrics' label). */
  cluster?: string | undefined;
  /** Its volume type, monthly cost, the cost its expansion adds, recommendations (docs/cost.md). */
  cost?: VolumeCost | undefined;
  /** The growth forecast's figures (forecast.ts), when there is a forecast. */
  forecast?: ForecastFigures | undefined;
}

/** What the report, explain and the metrics show of a forecast. */
export interface ForecastFigures {
  /** Least-squares slope of used bytes, per day; undefined: no forecast. */
  growthBytesPerDay: number | undefined;
  daysUntilFull: number | undefined;
  daysUntilMaxSize: number | undefined;
  /** One line: "growing 4.1 GiB/day, full in 3.2 days, ...; 5 samples over 26 h" or why none. */
  summary: string;
}

/** Why an unmanaged PVC was passed over. */
export type UnmanagedReason = 'not-enabled' | 'disabled' | 'other-shard';

export type RunStatus = 'success' | 'failed' | 'interrupted';

export interface RunSummary {
  runId: string;
  startedAt: Date;
  finishedAt: Date;
  dryRun: boolean;
  /** success: the pass completed (per-PVC problems are in `pvcs`); failed: it could not complete. */
  status: RunStatus;
  /** Why the pass could not complete, when status is failed. */
  error: string | undefined;
  pvcsSeen: number;
  unmanaged: Readonly<Record<UnmanagedReason, number>>;
  /** One entry per managed PVC, in list order. */
  pvcs: readonly PvcOutcome[];
  /** The stats sources of the pass: PVCs read from each, failed requests (absent in tests). */
  stats?: StatsSourceReport | undefined;
}

/**
 * Why a request to a stats source failed, one word each (the `reason` label of
 * pvc_chonker_stats_source_errors_total): the kubelet or Prometheus refused the credentials
 * (401 unauthorized, 403 forbidden), could not be reached (connection refused or reset, no
 * route), did not answer in time, failed the TLS verification, answered another HTTP error or
 * a body that is not what it should be, or the node has no address to reach its kubelet on.
 */
export type StatsErrorReason =
  | 'unauthorized'
  | 'forbidden'
  | 'unreachable'
  | 'timeout'
  | 'tls'
  | 'http-error'
  | 'bad-response'
  | 'no-address';

export const STATS_ERROR_REASONS: readonly StatsErrorReason[] = [
  'unauthorized',
  'forbidden',
  'unreachable',
  'timeout',
  'tls',
  'http-error',
  'bad-response',
  'no-address',
];

/** What one pass learnt about its stats sources. */
export interface StatsSourceReport {
  /** The sources this pass could use, in order of preference (their series start at 0). */
  sources: readonly StatsSourceName[];
  /** Managed PVCs whose usage was read from each source. */
  pvcs: Readonly<Partial<Record<StatsSourceName, number>>>;
  /** Failed requests (one per node, or per Prometheus query), by source and reason. */
  errors: readonly { source: StatsSourceName; reason: StatsErrorReason; count: number }[];
}
