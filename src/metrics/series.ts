/**
 * Summary + previous counter values → what to expose for this run. Pure: no I/O, no clock, so
 * the whole metric semantics is table-tested without a Pushgateway. Counters are computed here
 * (a map from label text to value per family); the per-PVC gauges are written straight from the
 * outcomes by exposition.ts, so nothing here holds an object per series.
 */
import {
  STATS_ERROR_REASONS,
  type PvcOutcome,
  type Reason,
  type RunStatus,
  type RunSummary,
  type ThresholdType,
} from '../core/outcome.js';
import { METRICS, type MetricDefinition } from './definitions.js';
import { identityOf, namespaceLabelText, pvcLabelText, withLabel } from './text-format.js';

/**
 * Which managed PVCs get series of their own. `all`: every one. `problems`: only PVCs that
 * need a look (isProblem); `none`: no PVC. In `problems` and `none` the counters are kept per
 * namespace, without the pvc label.
 */
export type PvcMetrics = 'all' | 'problems' | 'none';

export const PVC_METRICS: readonly PvcMetrics[] = ['all', 'problems', 'none'];

/** Above this many managed PVCs the default is `problems`, at or below it `all`. */
export const ALL_PVC_METRICS_UP_TO = 2_000;

/** What --pvc-metrics means for this run: the flag, else a default by fleet size. */
export function resolvePvcMetrics(requested: PvcMetrics | undefined, managed: number): PvcMetrics {
  return requested ?? (managed > ALL_PVC_METRICS_UP_TO ? 'problems' : 'all');
}

const RUN_STATUSES: readonly RunStatus[] = ['success', 'failed', 'interrupted'];
const THRESHOLD_TYPES: readonly ThresholdType[] = ['storage', 'inodes'];

/**
 * Skip reasons that still mean "this PVC could not be grown": a refusal by the StorageClass or
 * the cloud, a resize the storage system rejected, or a size an owner keeps setting back. Waiting by design (cooldown, a resize in
 * flight, the per-run cap, missing or stale stats, max size) is not a failure; max size has
 * its own counter. The alert rules (cronjob/monitoring) list the same words.
 */
export const EXPANSION_FAILURE_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'resize-failed',
  'expansion-not-allowed',
  'provider-refused',
  'provider-circuit-open',
  'provider-error',
  'provider-capacity',
  'offline-expansion-required',
  'conflict',
  'api-error',
  // An owner set the size back: no expansion until a person acts.
  'size-reverted',
]);

/** Whether an outcome counts in pvc_chonker_expansion_failures_total: every error, and refusals. */
export function isExpansionFailure(outcome: Pick<PvcOutcome, 'action' | 'reason'>): boolean {
  return outcome.action === 'error' || EXPANSION_FAILURE_REASONS.has(outcome.reason);
}

/** Reasons that need no look: the PVC is fine, or has no data pvc-chonker could act on. */
const QUIET_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'below-threshold',
  'metrics-unavailable',
  'stats-stale',
  'not-bound',
  'block-mode',
]);

/**
 * A PVC this full (bytes or inodes) keeps its series under `problems` even below its own
 * threshold, so PvcChonkerVolumeNearlyFullNotExpanding (nearly_full_ratio 0.95) still sees it.
 */
export const NEARLY_FULL_RATIO = 0.9;

/**
 * A PVC the forecast sees full within FULL_SOON_DAYS, or at its max-size within
 * MAX_SIZE_SOON_DAYS, keeps its series under `problems` too: PVCFullWithin1DayUnmanaged must not
 * take it for an unmanaged PVC, and PVCMaxSizeWithin7Days must see it.
 */
export const FULL_SOON_DAYS = 1;
export const MAX_SIZE_SOON_DAYS = 7;

function forecastSoon(outcome: PvcOutcome): boolean {
  const figures = outcome.forecast;
  return (
    (figures?.daysUntilFull ?? Infinity) < FULL_SOON_DAYS ||
    (figures?.daysUntilMaxSize ?? Infinity) < MAX_SIZE_SOON_DAYS
  );
}

/**
 * Whether a PVC keeps its per-PVC series under --pvc-metrics problems: over a threshold or
 * nearly full, held back (cooldown, max size, a resize in flight, the per-run cap, a refusal),
 * expanded, unhealthy or in error. Every reason not known to be quiet counts, so a new reason
 * shows up rather than hides.
 */
export function isProblem(outcome: PvcOutcome): boolean {
  return (
    !QUIET_REASONS.has(outcome.reason) ||
    outcome.action === 'error' ||
    outcome.unhealthy ||
    outcome.thresholdsReached.length > 0 ||
    (outcome.usedRatio ?? 0) >= NEARLY_FULL_RATIO ||
    (outcome.inodesUsedRatio ?? 0) >= NEARLY_FULL_RATIO ||
    forecastSoon(outcome)
  );
}

/** Provider label when the volume's provider is not known. */
export const UNKNOWN_PROVIDER = 'unknown';

/** Counter series by metric name, then by label text (text-format.ts order, escaped). */
export type CounterValues = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** What the last push left behind that this run builds on. */
export interface PreviousValues {
  /** Counter series read back, grouping labels removed; only valid label names and values. */
  counters: CounterValues;
  /** pvc_chonker_last_success_timestamp_seconds, re-sent by a failed run (PUT replaces the group). */
  lastSuccessSeconds: number | undefined;
}

export const NO_PREVIOUS_VALUES: PreviousValues = {
  counters: new Map(),
  lastSuccessSeconds: undefined,
};

/** Everything exposition.ts writes for one run. */
export interface MetricsPlan {
  summary: RunSummary;
  pvcMetrics: PvcMetrics;
  /** Every counter family's series: carried forward, seeded at 0 and incremented. */
  counters: CounterValues;
  lastSuccessSeconds: number;
  /** The outcomes that get per-PVC gauges, in report order. */
  pvcs: readonly PvcOutcome[];
}

/** Counter families in the order they are written. */
export const COUNTER_FAMILIES: readonly MetricDefinition[] = [
  METRICS.expansionsTotal,
  METRICS.expansionFailuresTotal,
  METRICS.thresholdReachedTotal,
  METRICS.maxSizeReachedTotal,
  METRICS.pvcUnhealthyTotal,
  METRICS.wouldExpandTotal,
  METRICS.runsTotal,
  METRICS.statsSourceErrorsTotal,
];

type Series = Map<string, number>;

function add(series: Series, labelText: string, increment: number): void {
  series.set(labelText, (series.get(labelText) ?? 0) + increment);
}

/**
 * Which previous series survive. After a completed pass only those of PVCs still managed, in
 * this run's shape (per PVC, or per namespace): a deleted PVC's series disappear, and so do
 * those of the other shape after --pvc-metrics changed. After a failed or interrupted pass the
 * PVC list may be partial, so every series is kept as it was.
 */
function keeper(summary: RunSummary, perPvc: boolean): (labelText: string) => boolean {
  if (summary.status !== 'success') return () => true;
  const identities = new Set<string>();
  for (const o of summary.pvcs) {
    identities.add(perPvc ? pvcLabelText(o.namespace, o.name) : namespaceLabelText(o.namespace));
  }
  return (labelText) => {
    const identity = identityOf(labelText);
    // Series of the job itself (runs_total) have no identity and always carry forward.
    return identity === '' || identities.has(identity);
  };
}

interface Counters {
  expansions: Series;
  failures: Series;
  thresholds: Series;
  maxSize: Series;
  unhealthy: Series;
  wouldExpand: Series;
  runs: Series;
  statsErrors: Series;
}

/**
 * One PVC's increments, keyed per PVC or per namespace. Zero seeds too: increase() only sees
 * a step within an existing series, so a PVC's (or namespace's) first expansion must not be
 * the moment its series appears.
 */
function countOutcome(counters: Counters, outcome: PvcOutcome, identity: string, dryRun: boolean) {
  const provider = withLabel(identity, 'provider', outcome.provider ?? UNKNOWN_PROVIDER);
  add(counters.expansions, provider, outcome.action === 'expand' ? 1 : 0);
  if (dryRun) add(counters.wouldExpand, provider, outcome.action === 'would-expand' ? 1 : 0);
  for (const type of THRESHOLD_TYPES) {
    const reached = outcome.thresholdsReached.includes(type) ? 1 : 0;
    add(counters.thresholds, withLabel(identity, 'type', type), reached);
  }
  add(counters.maxSize, identity, outcome.reason === 'max-size-reached' ? 1 : 0);
  add(counters.unhealthy, identity, outcome.unhealthy ? 1 : 0);
  if (isExpansionFailure(outcome))
    add(counters.failures, withLabel(identity, 'reason', outcome.reason), 1);
}

function countAll(
  summary: RunSummary,
  previous: CounterValues,
  pvcMetrics: PvcMetrics,
): CounterValues {
  const perPvc = pvcMetrics === 'all';
  const keep = keeper(summary, perPvc);
  const carried = (definition: MetricDefinition): Series => {
    const series: Series = new Map();
    for (const [labelText, value] of previous.get(definition.name) ?? []) {
      if (keep(labelText)) series.set(labelText, value);
    }
    return series;
  };
  const counters: Counters = {
    expansions: carried(METRICS.expansionsTotal),
    failures: carried(METRICS.expansionFailuresTotal),
    thresholds: carried(METRICS.thresholdReachedTotal),
    maxSize: carried(METRICS.maxSizeReachedTotal),
    unhealthy: carried(METRICS.pvcUnhealthyTotal),
    wouldExpand: carried(METRICS.wouldExpandTotal),
    runs: carried(METRICS.runsTotal),
    statsErrors: carried(METRICS.statsSourceErrorsTotal),
  };
  for (const status of RUN_STATUSES) {
    add(counters.runs, withLabel('', 'status', status), status === summary.status ? 1 : 0);
  }
  countStatsErrors(counters.statsErrors, summary);
  for (const outcome of summary.pvcs) {
    const identity = perPvc
      ? pvcLabelText(outcome.namespace, outcome.name)
      : namespaceLabelText(outcome.namespace);
    countOutcome(counters, outcome, identity, summary.dryRun);
  }
  return new Map([
    [METRICS.expansionsTotal.name, counters.expansions],
    [METRICS.expansionFailuresTotal.name, counters.failures],
    [METRICS.thresholdReachedTotal.name, counters.thresholds],
    [METRICS.maxSizeReachedTotal.name, counters.maxSize],
    [METRICS.pvcUnhealthyTotal.name, counters.unhealthy],
    [METRICS.wouldExpandTotal.name, counters.wouldExpand],
    [METRICS.runsTotal.name, counters.runs],
    [METRICS.statsSourceErrorsTotal.name, counters.statsErrors],
  ]);
}

/** `reason="…",source="…"`: the label text of a stats source error series (canonical order). */
export function statsErrorLabelText(source: string, reason: string): string {
  return withLabel(withLabel('', 'reason', reason), 'source', source);
}

/**
 * Every reason of the sources the pass could use starts at 0, so that a source's first failure
 * is a step increase() sees; then this pass's failures are added.
 */
function countStatsErrors(series: Series, summary: RunSummary): void {
  const report = summary.stats;
  if (report === undefined) return;
  for (const source of report.sources)
    for (const reason of STATS_ERROR_REASONS) add(series, statsErrorLabelText(source, reason), 0);
  for (const { source, reason, count } of report.errors)
    add(series, statsErrorLabelText(source, reason), count);
}

function lastSuccessSeconds(summary: RunSummary, previous: PreviousValues): number {
  if (summary.status === 'success') return summary.finishedAt.getTime() / 1000;
  return previous.lastSuccessSeconds ?? 0;
}

function selectPvcs(pvcs: readonly PvcOutcome[], pvcMetrics: PvcMetrics): readonly PvcOutcome[] {
  switch (pvcMetrics) {
    case 'all':
      return pvcs;
    case 'problems':
      return pvcs.filter(isProblem);
    case 'none':
      return [];
  }
}

/**
 * Everything to expose for this run. `requested` is --pvc-metrics (undefined: the default by
 * the number of managed PVCs).
 */
export function planMetrics(
  summary: RunSummary,
  previous: PreviousValues,
  requested: PvcMetrics | undefined,
): MetricsPlan {
  const pvcMetrics = resolvePvcMetrics(requested, summary.pvcs.length);
  return {
    summary,
    pvcMetrics,
    counters: countAll(summary, previous.counters, pvcMetrics),
    lastSuccessSeconds: lastSuccessSeconds(summary, previous),
    pvcs: selectPvcs(summary.pvcs, pvcMetrics),
  };
}
