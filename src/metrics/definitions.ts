/**
 * Every metric pvc-chonker exposes: name, type, help and label names. docs/metrics.md, the
 * dashboard and the alert rules use these names; the Pushgateway rejects a push whose help or
 * type differs from what another group already holds, so change them only with a version note.
 */

import { canonicalOrder } from './text-format.js';

export type MetricType = 'counter' | 'gauge';

export interface MetricDefinition {
  name: string;
  type: MetricType;
  help: string;
  labelNames: readonly string[];
}

function counter(name: string, help: string, labelNames: readonly string[] = []): MetricDefinition {
  return { name, type: 'counter', help, labelNames };
}

function gauge(name: string, help: string, labelNames: readonly string[] = []): MetricDefinition {
  return { name, type: 'gauge', help, labelNames };
}

const PVC = ['pvc', 'namespace'] as const;

export const METRICS = {
  // The roadmap's six.
  expansionsTotal: counter(
    'pvc_chonker_expansions_total',
    'PVC expansions pvc-chonker requested and the API server accepted (action expand).',
    [...PVC, 'provider'],
  ),
  expansionFailuresTotal: counter(
    'pvc_chonker_expansion_failures_total',
    'Runs in which a managed PVC could not be expanded because of an error or a refusal, by reason.',
    [...PVC, 'reason'],
  ),
  loopDurationSeconds: gauge(
    'pvc_chonker_loop_duration_seconds',
    'Duration of the last run, from start to the end of the pass, in seconds.',
  ),
  thresholdReachedTotal: counter(
    'pvc_chonker_threshold_reached_total',
    'Runs in which a managed PVC was at or over its threshold, by type (storage or inodes).',
    [...PVC, 'type'],
  ),
  maxSizeReachedTotal: counter(
    'pvc_chonker_max_size_reached_total',
    'Runs in which a managed PVC needed to grow but was already at its max size.',
    PVC,
  ),
  pvcUnhealthyTotal: counter(
    'pvc_chonker_pvc_unhealthy_total',
    'Runs in which a managed PVC was unhealthy (a failed resize that needs a human).',
    PVC,
  ),
  // Dry runs.
  wouldExpandTotal: counter(
    'pvc_chonker_would_expand_total',
    'Expansions a --dry-run run would have requested (action would-expand); never counted as expansions.',
    [...PVC, 'provider'],
  ),
  // The batch job itself.
  runsTotal: counter('pvc_chonker_runs_total', 'Runs that pushed metrics, by status.', ['status']),
  lastRunTimestampSeconds: gauge(
    'pvc_chonker_last_run_timestamp_seconds',
    'Unix time the last run finished, whatever its status.',
  ),
  lastSuccessTimestampSeconds: gauge(
    'pvc_chonker_last_success_timestamp_seconds',
    'Unix time the last successful run finished; 0 if none is known.',
  ),
  lastRunStatus: gauge(
    'pvc_chonker_last_run_status',
    'Status of the last run: 1 for its status (success, failed, interrupted), 0 for the others.',
    ['status'],
  ),
  dryRun: gauge('pvc_chonker_dry_run', '1 if the last run was a --dry-run, else 0.'),
  pvcsSeen: gauge('pvc_chonker_pvcs_seen', 'PVCs listed by the last run, managed or not.'),
  pvcsManaged: gauge(
    'pvc_chonker_pvcs_managed',
    'PVCs the last run managed (opted in, in its shard).',
  ),
  pvcsUnmanaged: gauge(
    'pvc_chonker_pvcs_unmanaged',
    'PVCs the last run passed over, by reason (not-enabled, disabled, other-shard).',
    ['reason'],
  ),
  // One series per PVCPolicy and per PVCGroup that governed a managed PVC: bounded by the
  // custom resources, not by the PVCs, so they are written whatever --pvc-metrics says.
  policyPvcs: gauge(
    'pvc_chonker_policy_pvcs',
    'Managed PVCs governed by this PVCPolicy (the one that won) in the last run, invalid-policy ones included.',
    ['namespace', 'policy'],
  ),
  groupMembers: gauge(
    'pvc_chonker_group_members',
    'Managed members of this PVCGroup in the last run.',
    ['group'],
  ),
  groupRequestedBytes: gauge(
    'pvc_chonker_group_requested_bytes',
    'The largest spec.resources.requests.storage among the members after the last run, in bytes.',
    ['group'],
  ),
  // One series per StatefulSet volumeClaimTemplate whose PVCs are managed: bounded by the
  // StatefulSets, not by the PVCs, so written whatever --pvc-metrics says.
  templateDriftBytes: gauge(
    'pvc_chonker_template_drift_bytes',
    'The largest request among the managed PVCs of a StatefulSet volumeClaimTemplate minus the template size, in bytes; above 0: the manifests are behind (pvc-chonker drift).',
    ['namespace', 'statefulset', 'template'],
  ),
  // Cost at the price table's figures (docs/cost.md): by provider and by kind only, never per PVC.
  monthlyCostUsd: gauge(
    'pvc_chonker_monthly_cost_usd',
    'Monthly cost of the managed PVCs whose volume type has a price, at their size after the last run, in USD.',
    ['provider'],
  ),
  monthlyCostAddedUsd: gauge(
    'pvc_chonker_monthly_cost_added_usd',
    'Monthly cost the expansions of the last run added (action expand), in USD.',
    ['provider'],
  ),
  recommendations: gauge(
    'pvc_chonker_recommendations',
    'Volume-type recommendations for the managed PVCs in the last run, by kind (never applied).',
    ['kind'],
  ),
  pvcsByOutcome: gauge(
    'pvc_chonker_pvcs_by_outcome',
    'Managed PVCs in the last run by action and reason.',
    ['action', 'reason'],
  ),
  // Where the usage came from: --stats-source (docs/metrics.md, "Stats sources").
  statsSourceErrorsTotal: counter(
    'pvc_chonker_stats_source_errors_total',
    'Failed requests to a stats source (one per node for kubelet and kubelet-proxy, one per query for prometheus), by source and reason.',
    ['source', 'reason'],
  ),
  statsSourcePvcs: gauge(
    'pvc_chonker_stats_source_pvcs',
    'Managed PVCs whose usage the last run read from this source (kubelet, kubelet-proxy, prometheus).',
    ['source'],
  ),
  // One series per managed PVC, as of the last run.
  pvcStatus: gauge(
    'pvc_chonker_pvc_status',
    'Always 1: the action and reason of the PVC in the last run, and its PVCPolicy and PVCGroup if any.',
    [...PVC, 'action', 'reason', 'policy', 'group'],
  ),
  pvcUsedRatio: gauge(
    'pvc_chonker_pvc_used_ratio',
    'Used bytes / capacity (kubelet stats), 0-1.',
    PVC,
  ),
  pvcInodesUsedRatio: gauge(
    'pvc_chonker_pvc_inodes_used_ratio',
    'Used inodes / inodes (kubelet stats), 0-1.',
    PVC,
  ),
  pvcCapacityBytes: gauge(
    'pvc_chonker_pvc_capacity_bytes',
    'status.capacity.storage in bytes.',
    PVC,
  ),
  pvcRequestedBytes: gauge(
    'pvc_chonker_pvc_requested_bytes',
    'spec.resources.requests.storage after the run, in bytes.',
    PVC,
  ),
  pvcMaxSizeBytes: gauge(
    'pvc_chonker_pvc_max_size_bytes',
    'The max size the PVC may grow to, in bytes; absent when none is set.',
    PVC,
  ),
  pvcThresholdReached: gauge(
    'pvc_chonker_pvc_threshold_reached',
    '1 if the PVC was at or over its threshold of this type in the last run, else 0.',
    [...PVC, 'type'],
  ),
  pvcUnhealthy: gauge(
    'pvc_chonker_pvc_unhealthy',
    '1 if the PVC was unhealthy (a failed resize) in the last run, else 0.',
    PVC,
  ),
  // The growth forecast (forecast.ts): per PVC, only while the volume grows.
  daysUntilFull: gauge(
    'pvc_chonker_days_until_full',
    'Days until the volume is full at its forecast growth rate (available / rate); absent unless it grows.',
    PVC,
  ),
  daysUntilMaxSize: gauge(
    'pvc_chonker_days_until_max_size',
    'Days until the volume reaches its max size at its forecast growth rate; absent unless it grows and has a max size.',
    PVC,
  ),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/**
 * The label names a counter's series may carry, in canonical order: with `pvc` (--pvc-metrics
 * all) and without it, per namespace (problems, none). A series read back with other names
 * comes from an older schema and is not carried forward.
 */
export function counterShapes(definition: MetricDefinition): readonly string[][] {
  const all = canonicalOrder(definition.labelNames);
  return all.includes('pvc') ? [all, all.filter((name) => name !== 'pvc')] : [all];
}
