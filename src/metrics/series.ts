/**
 * Summary + previous counter values → the samples to expose. Pure: no I/O, no clock, so the
 * whole metric semantics is table-tested without a Pushgateway.
 */
import type { PvcOutcome, Reason, RunStatus, RunSummary, ThresholdType } from '../core/outcome.js';
import { METRICS, type MetricDefinition, type MetricKey } from './definitions.js';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface Family {
  definition: MetricDefinition;
  samples: readonly Sample[];
}

/** Counter samples read back from the last push, by metric name, grouping labels removed. */
export type PreviousCounters = ReadonlyMap<string, readonly Sample[]>;

const RUN_STATUSES: readonly RunStatus[] = ['success', 'failed', 'interrupted'];
const THRESHOLD_TYPES: readonly ThresholdType[] = ['storage', 'inodes'];

/**
 * Skip reasons that still mean "this PVC could not be grown": a refusal by the StorageClass or
 * the cloud, or a resize the storage system rejected. Waiting by design (cooldown, a resize in
 * flight, the per-run cap, missing or stale stats, max size) is not a failure; max size has
 * its own counter. The alert rules (cronjob/monitoring) list the same words.
 */
export const EXPANSION_FAILURE_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'resize-failed',
  'expansion-not-allowed',
  'provider-refused',
  'provider-circuit-open',
  'provider-error',
  'conflict',
  'api-error',
]);

/** Whether an outcome counts in pvc_chonker_expansion_failures_total: every error, and refusals. */
export function isExpansionFailure(outcome: Pick<PvcOutcome, 'action' | 'reason'>): boolean {
  return outcome.action === 'error' || EXPANSION_FAILURE_REASONS.has(outcome.reason);
}

/** Provider label when the volume's provider is not known. */
export const UNKNOWN_PROVIDER = 'unknown';

function labelKey(definition: MetricDefinition, labels: Labels): string {
  return JSON.stringify(definition.labelNames.map((name) => labels[name] ?? ''));
}

/** Whether a sample read back has exactly this metric's label names (else an older schema). */
function hasLabelNames(definition: MetricDefinition, labels: Labels): boolean {
  const names = Object.keys(labels);
  return (
    names.length === definition.labelNames.length && definition.labelNames.every((n) => n in labels)
  );
}

function pvcKey(namespace: string | undefined, pvc: string | undefined): string {
  return `${namespace ?? ''}/${pvc ?? ''}`;
}

/** Accumulates one counter: previous values, zero seeds, then this run's increments. */
class CounterValues {
  readonly #values = new Map<string, Sample>();
  readonly definition: MetricDefinition;

  constructor(definition: MetricDefinition) {
    this.definition = definition;
  }

  add(labels: Labels, increment: number): void {
    const key = labelKey(this.definition, labels);
    const current = this.#values.get(key);
    this.#values.set(key, { labels, value: (current?.value ?? 0) + increment });
  }

  family(): Family {
    return { definition: this.definition, samples: [...this.#values.values()] };
  }
}

/**
 * Seeds a counter from the previous push. After a completed pass only the series of PVCs still
 * managed survive, so a deleted PVC's series disappear; after a failed or interrupted pass the
 * PVC list may be partial, so every series is kept.
 */
function carryForward(
  counter: CounterValues,
  previous: PreviousCounters,
  keep: (labels: Labels) => boolean,
): void {
  for (const sample of previous.get(counter.definition.name) ?? []) {
    const valid = Number.isFinite(sample.value) && sample.value >= 0;
    if (valid && hasLabelNames(counter.definition, sample.labels) && keep(sample.labels)) {
      counter.add(sample.labels, sample.value);
    }
  }
}

function pvcLabels(outcome: PvcOutcome): { pvc: string; namespace: string } {
  return { pvc: outcome.name, namespace: outcome.namespace };
}

interface PvcCounters {
  expansions: CounterValues;
  wouldExpand: CounterValues;
  failures: CounterValues;
  thresholds: CounterValues;
  maxSize: CounterValues;
  unhealthy: CounterValues;
}

/**
 * One PVC's increments. Zero seeds too: increase() only sees a step within an existing series,
 * so a PVC's first expansion must not be the moment its series appears.
 */
function countOutcome(counters: PvcCounters, outcome: PvcOutcome, dryRun: boolean): void {
  const pvc = pvcLabels(outcome);
  const provider = { ...pvc, provider: outcome.provider ?? UNKNOWN_PROVIDER };
  counters.expansions.add(provider, outcome.action === 'expand' ? 1 : 0);
  if (dryRun) counters.wouldExpand.add(provider, outcome.action === 'would-expand' ? 1 : 0);
  for (const type of THRESHOLD_TYPES) {
    counters.thresholds.add({ ...pvc, type }, outcome.thresholdsReached.includes(type) ? 1 : 0);
  }
  counters.maxSize.add(pvc, outcome.reason === 'max-size-reached' ? 1 : 0);
  counters.unhealthy.add(pvc, outcome.unhealthy ? 1 : 0);
  if (isExpansionFailure(outcome)) counters.failures.add({ ...pvc, reason: outcome.reason }, 1);
}

function counterFamilies(summary: RunSummary, previous: PreviousCounters): Family[] {
  const managed = new Set(summary.pvcs.map((outcome) => pvcKey(outcome.namespace, outcome.name)));
  const completed = summary.status === 'success';
  const keep = (labels: Labels): boolean =>
    !completed || !('pvc' in labels) || managed.has(pvcKey(labels['namespace'], labels['pvc']));
  const make = (definition: MetricDefinition): CounterValues => {
    const counter = new CounterValues(definition);
    carryForward(counter, previous, keep);
    return counter;
  };
  const expansions = make(METRICS.expansionsTotal);
  const wouldExpand = make(METRICS.wouldExpandTotal);
  const failures = make(METRICS.expansionFailuresTotal);
  const thresholds = make(METRICS.thresholdReachedTotal);
  const maxSize = make(METRICS.maxSizeReachedTotal);
  const unhealthy = make(METRICS.pvcUnhealthyTotal);
  const runs = make(METRICS.runsTotal);

  const counters = { expansions, wouldExpand, failures, thresholds, maxSize, unhealthy };

  for (const status of RUN_STATUSES) runs.add({ status }, status === summary.status ? 1 : 0);
  for (const outcome of summary.pvcs) countOutcome(counters, outcome, summary.dryRun);
  return [expansions, failures, thresholds, maxSize, unhealthy, wouldExpand, runs].map((c) =>
    c.family(),
  );
}

function single(key: MetricKey, value: number): Family {
  return { definition: METRICS[key], samples: [{ labels: {}, value }] };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function lastSuccessSeconds(summary: RunSummary, previous: PreviousValues): number {
  if (summary.status === 'success') return summary.finishedAt.getTime() / 1000;
  return previous.lastSuccessSeconds ?? 0;
}

function runFamilies(summary: RunSummary, previous: PreviousValues): Family[] {
  const outcomes = countBy(summary.pvcs, (o) => JSON.stringify([o.action, o.reason]));
  return [
    single(
      'loopDurationSeconds',
      (summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000,
    ),
    single('lastRunTimestampSeconds', summary.finishedAt.getTime() / 1000),
    single('lastSuccessTimestampSeconds', lastSuccessSeconds(summary, previous)),
    {
      definition: METRICS.lastRunStatus,
      samples: RUN_STATUSES.map((status) => ({
        labels: { status },
        value: status === summary.status ? 1 : 0,
      })),
    },
    single('dryRun', summary.dryRun ? 1 : 0),
    single('pvcsSeen', summary.pvcsSeen),
    single('pvcsManaged', summary.pvcs.length),
    {
      definition: METRICS.pvcsUnmanaged,
      samples: Object.entries(summary.unmanaged).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    },
    {
      definition: METRICS.pvcsByOutcome,
      samples: [...outcomes].map(([key, value]) => {
        const [action = '', reason = ''] = JSON.parse(key) as string[];
        return { labels: { action, reason }, value };
      }),
    },
  ];
}

type PvcGaugeKey =
  | 'pvcUsedRatio'
  | 'pvcInodesUsedRatio'
  | 'pvcCapacityBytes'
  | 'pvcRequestedBytes'
  | 'pvcMaxSizeBytes'
  | 'pvcUnhealthy';

function pvcGauge(
  key: PvcGaugeKey,
  pvcs: readonly PvcOutcome[],
  value: (o: PvcOutcome) => number | bigint | undefined,
): Family {
  const samples: Sample[] = [];
  for (const outcome of pvcs) {
    const v = value(outcome);
    // bigint → float loses precision only above 2^53 bytes (8 PiB), like every Prometheus value.
    if (v !== undefined) samples.push({ labels: pvcLabels(outcome), value: Number(v) });
  }
  return { definition: METRICS[key], samples };
}

function pvcFamilies(pvcs: readonly PvcOutcome[]): Family[] {
  return [
    {
      definition: METRICS.pvcStatus,
      samples: pvcs.map((o) => ({
        labels: { ...pvcLabels(o), action: o.action, reason: o.reason },
        value: 1,
      })),
    },
    pvcGauge('pvcUsedRatio', pvcs, (o) => o.usedRatio),
    pvcGauge('pvcInodesUsedRatio', pvcs, (o) => o.inodesUsedRatio),
    pvcGauge('pvcCapacityBytes', pvcs, (o) => o.currentBytes),
    pvcGauge('pvcRequestedBytes', pvcs, (o) => o.requestBytes),
    pvcGauge('pvcMaxSizeBytes', pvcs, (o) => o.maxSizeBytes),
    {
      definition: METRICS.pvcThresholdReached,
      samples: pvcs.flatMap((o) =>
        THRESHOLD_TYPES.map((type) => ({
          labels: { ...pvcLabels(o), type },
          value: o.thresholdsReached.includes(type) ? 1 : 0,
        })),
      ),
    },
    pvcGauge('pvcUnhealthy', pvcs, (o) => (o.unhealthy ? 1 : 0)),
  ];
}

/** What the last push left behind that this run builds on. */
export interface PreviousValues {
  counters: PreviousCounters;
  /** pvc_chonker_last_success_timestamp_seconds, re-sent by a failed run (PUT replaces the group). */
  lastSuccessSeconds: number | undefined;
}

export const NO_PREVIOUS_VALUES: PreviousValues = {
  counters: new Map(),
  lastSuccessSeconds: undefined,
};

/** Every family to expose for this run, in a stable order. */
export function buildFamilies(summary: RunSummary, previous: PreviousValues): Family[] {
  return [
    ...counterFamilies(summary, previous.counters),
    ...runFamilies(summary, previous),
    ...pvcFamilies(summary.pvcs),
  ];
}
