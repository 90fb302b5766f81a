/**
 * Writes a run's metrics as Prometheus text format 0.0.4, in chunks, straight from the plan:
 * the PUT body and --metrics-file are streamed, so a run never holds the whole text, nor an
 * object per series (a 10,000-PVC fleet in `all` mode is 130,000 series, 10 MB of text).
 */
import { driftBytes, summarizeDrift } from '../core/drift.js';
import type { PvcOutcome } from '../core/outcome.js';
import { costSamples } from '../cost/metrics.js';
import { METRICS, type MetricDefinition, type MetricKey } from './definitions.js';
import { COUNTER_FAMILIES, type MetricsPlan } from './series.js';
import {
  escapeHelp,
  formatValue,
  namespaceLabelText,
  pvcLabelText,
  withLabel,
} from './text-format.js';

/** About 64 KiB of text per chunk: few writes, little held at a time. */
const CHUNK_CHARS = 64 * 1024;

/** Series and bytes written, filled in while the chunks are consumed. */
export interface Tally {
  series: number;
  bytes: number;
}

/** Collects lines and hands them out in chunks; the generator below yields them. */
class ChunkBuffer {
  #text = '';
  readonly tally: Tally = { series: 0, bytes: 0 };

  header(definition: MetricDefinition): void {
    this.#text += `# HELP ${definition.name} ${escapeHelp(definition.help)}\n# TYPE ${definition.name} ${definition.type}\n`;
  }

  sample(name: string, labelText: string, value: number): void {
    const labels = labelText === '' ? '' : `{${labelText}}`;
    this.#text += `${name}${labels} ${formatValue(value)}\n`;
    this.tally.series += 1;
  }

  full(): boolean {
    return this.#text.length >= CHUNK_CHARS;
  }

  take(): string {
    const text = this.#text;
    this.#text = '';
    this.tally.bytes += Buffer.byteLength(text);
    return text;
  }
}

function* counterFamilies(plan: MetricsPlan, out: ChunkBuffer): Generator<string> {
  for (const definition of COUNTER_FAMILIES) {
    const series = plan.counters.get(definition.name);
    // A family without series is left out: HELP and TYPE alone say nothing.
    if (series === undefined || series.size === 0) continue;
    out.header(definition);
    for (const [labelText, value] of series) {
      out.sample(definition.name, labelText, value);
      if (out.full()) yield out.take();
    }
  }
}

function single(out: ChunkBuffer, key: MetricKey, value: number): void {
  out.header(METRICS[key]);
  out.sample(METRICS[key].name, '', value);
}

function labelled(out: ChunkBuffer, key: MetricKey, samples: Iterable<[string, number]>): void {
  let first = true;
  for (const [labelText, value] of samples) {
    if (first) out.header(METRICS[key]);
    first = false;
    out.sample(METRICS[key].name, labelText, value);
  }
}

function outcomeCounts(pvcs: readonly PvcOutcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { action, reason } of pvcs) {
    const labelText = withLabel(withLabel('', 'action', action), 'reason', reason);
    counts.set(labelText, (counts.get(labelText) ?? 0) + 1);
  }
  return counts;
}

/** Managed PVCs per winning PVCPolicy, keyed by `namespace="…",policy="…"`. */
function policyCounts(pvcs: readonly PvcOutcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { namespace, policy } of pvcs) {
    if (policy === undefined) continue;
    const labelText = withLabel(namespaceLabelText(namespace), 'policy', policy);
    counts.set(labelText, (counts.get(labelText) ?? 0) + 1);
  }
  return counts;
}

/** Per PVCGroup: its members in this run and the largest request among them. */
function groupFigures(
  pvcs: readonly PvcOutcome[],
): Map<string, { members: number; bytes: bigint }> {
  const groups = new Map<string, { members: number; bytes: bigint }>();
  for (const { group, requestBytes } of pvcs) {
    if (group === undefined) continue;
    const figures = groups.get(group) ?? { members: 0, bytes: 0n };
    figures.members += 1;
    if (requestBytes !== undefined && requestBytes > figures.bytes) figures.bytes = requestBytes;
    groups.set(group, figures);
  }
  return groups;
}

function governanceFamilies(pvcs: readonly PvcOutcome[], out: ChunkBuffer): void {
  labelled(out, 'policyPvcs', policyCounts(pvcs));
  const groups = [...groupFigures(pvcs)].map(
    ([group, figures]) => [withLabel('', 'group', group), figures] as const,
  );
  labelled(
    out,
    'groupMembers',
    groups.map(([labelText, { members }]) => [labelText, members]),
  );
  labelled(
    out,
    'groupRequestedBytes',
    groups
      .filter(([, { bytes }]) => bytes > 0n)
      .map(([labelText, { bytes }]) => [labelText, Number(bytes)]),
  );
}

/** Per StatefulSet template of the managed PVCs: largest request − template size. */
function driftSamples(pvcs: readonly PvcOutcome[]): [string, number][] {
  const claims = pvcs.flatMap(({ namespace, templateDrift }) =>
    templateDrift === undefined ? [] : [{ namespace, drift: templateDrift }],
  );
  return summarizeDrift(claims).flatMap((row): [string, number][] => {
    const bytes = driftBytes(row);
    if (bytes === undefined) return [];
    const labelText = withLabel(
      withLabel(namespaceLabelText(row.namespace), 'statefulset', row.statefulSet),
      'template',
      row.template,
    );
    return [[labelText, Number(bytes)]];
  });
}

function runFamilies(plan: MetricsPlan, out: ChunkBuffer): void {
  const { summary } = plan;
  const seconds = (date: Date): number => date.getTime() / 1000;
  single(out, 'loopDurationSeconds', seconds(summary.finishedAt) - seconds(summary.startedAt));
  single(out, 'lastRunTimestampSeconds', seconds(summary.finishedAt));
  single(out, 'lastSuccessTimestampSeconds', plan.lastSuccessSeconds);
  labelled(
    out,
    'lastRunStatus',
    (['success', 'failed', 'interrupted'] as const).map((status) => [
      withLabel('', 'status', status),
      status === summary.status ? 1 : 0,
    ]),
  );
  single(out, 'dryRun', summary.dryRun ? 1 : 0);
  single(out, 'pvcsSeen', summary.pvcsSeen);
  single(out, 'pvcsManaged', summary.pvcs.length);
  labelled(
    out,
    'pvcsUnmanaged',
    Object.entries(summary.unmanaged).map(([reason, n]) => [withLabel('', 'reason', reason), n]),
  );
  const cost = costSamples(summary.pvcs);
  labelled(out, 'monthlyCostUsd', cost.monthly);
  labelled(out, 'monthlyCostAddedUsd', cost.added);
  labelled(out, 'recommendations', cost.recommendations);
  labelled(out, 'pvcsByOutcome', outcomeCounts(summary.pvcs));
  const stats = summary.stats;
  if (stats !== undefined)
    labelled(
      out,
      'statsSourcePvcs',
      stats.sources.map((source) => [withLabel('', 'source', source), stats.pvcs[source] ?? 0]),
    );
  governanceFamilies(summary.pvcs, out);
  labelled(out, 'templateDriftBytes', driftSamples(summary.pvcs));
}

/**
 * pvc_status's labels: the PVC, its action, and its PVCPolicy and PVCGroup when it has them
 * (an absent label is left out, which PromQL reads as ""). Only this always-1 series carries
 * policy and group, as kube-state-metrics' *_info series do: the numeric gauges and the
 * counters keep a series identity that a policy or group change does not break.
 */
function statusLabelText(o: PvcOutcome, pvc: string): string {
  let labelText = withLabel(pvc, 'action', o.action);
  if (o.group !== undefined) labelText = withLabel(labelText, 'group', o.group);
  if (o.policy !== undefined) labelText = withLabel(labelText, 'policy', o.policy);
  return withLabel(labelText, 'reason', o.reason);
}

type PvcGaugeKey =
  | 'pvcUsedRatio'
  | 'pvcInodesUsedRatio'
  | 'pvcCapacityBytes'
  | 'pvcRequestedBytes'
  | 'pvcMaxSizeBytes'
  | 'pvcUnhealthy'
  | 'daysUntilFull'
  | 'daysUntilMaxSize';

/** Per-PVC gauges: name, and the value (undefined: no series for that PVC). */
const PVC_GAUGES: readonly [PvcGaugeKey, (o: PvcOutcome) => number | bigint | undefined][] = [
  ['pvcUsedRatio', (o) => o.usedRatio],
  ['pvcInodesUsedRatio', (o) => o.inodesUsedRatio],
  ['pvcCapacityBytes', (o) => o.currentBytes],
  ['pvcRequestedBytes', (o) => o.requestBytes],
  ['pvcMaxSizeBytes', (o) => o.maxSizeBytes],
  ['pvcUnhealthy', (o) => (o.unhealthy ? 1 : 0)],
  ['daysUntilFull', (o) => o.forecast?.daysUntilFull],
  ['daysUntilMaxSize', (o) => o.forecast?.daysUntilMaxSize],
];

function* pvcFamily(
  out: ChunkBuffer,
  definition: MetricDefinition,
  pvcs: readonly PvcOutcome[],
  write: (o: PvcOutcome, pvc: string) => void,
): Generator<string> {
  if (pvcs.length === 0) return;
  out.header(definition);
  for (const outcome of pvcs) {
    write(outcome, pvcLabelText(outcome.namespace, outcome.name));
    if (out.full()) yield out.take();
  }
}

function* pvcFamilies(plan: MetricsPlan, out: ChunkBuffer): Generator<string> {
  const { pvcs } = plan;
  const status = METRICS.pvcStatus;
  yield* pvcFamily(out, status, pvcs, (o, pvc) => {
    out.sample(status.name, statusLabelText(o, pvc), 1);
  });
  for (const [key, value] of PVC_GAUGES) {
    const { name } = METRICS[key];
    const present = pvcs.filter((o) => value(o) !== undefined);
    yield* pvcFamily(out, METRICS[key], present, (o, pvc) => {
      // bigint → float loses precision only above 2^53 bytes (8 PiB), like every Prometheus value.
      out.sample(name, pvc, Number(value(o)));
    });
    // Keep the family order of the documentation: threshold_reached after max_size.
    if (key === 'pvcMaxSizeBytes') yield* thresholdFamily(out, pvcs);
  }
}

function thresholdFamily(out: ChunkBuffer, pvcs: readonly PvcOutcome[]): Generator<string> {
  const { name } = METRICS.pvcThresholdReached;
  return pvcFamily(out, METRICS.pvcThresholdReached, pvcs, (o, pvc) => {
    for (const type of ['storage', 'inodes'] as const) {
      out.sample(name, withLabel(pvc, 'type', type), o.thresholdsReached.includes(type) ? 1 : 0);
    }
  });
}

/**
 * The exposition text of one run, in chunks of about 64 KiB. Every call starts afresh, so a
 * retried PUT sends the same text again; `tally` counts what has been handed out.
 */
export function* expositionChunks(plan: MetricsPlan, tally?: Tally): Generator<string> {
  const out = new ChunkBuffer();
  try {
    yield* counterFamilies(plan, out);
    runFamilies(plan, out);
    yield* pvcFamilies(plan, out);
    const rest = out.take();
    if (rest !== '') yield rest;
  } finally {
    if (tally !== undefined) Object.assign(tally, out.tally);
  }
}

/** The whole text at once, for tests and small runs. */
export function renderExposition(plan: MetricsPlan): string {
  return [...expositionChunks(plan)].join('');
}
