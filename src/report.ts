/** The run's report on stdout: a table for people, or one JSON array for scripts. */
import { drifted, type TemplateDrift } from './core/drift.js';
import type { ForecastFigures, PvcOutcome, RunSummary } from './core/outcome.js';
import { formatRatio } from './core/percent.js';
import { formatQuantity } from './core/quantity.js';
import { costJson } from './cost/json.js';

export type OutputFormat = 'table' | 'json';

function size(bytes: bigint | undefined): string | null {
  return bytes === undefined ? null : formatQuantity(bytes);
}

function percent(ratio: number | undefined): string {
  return ratio === undefined ? '-' : formatRatio(ratio);
}

/** A StatefulSet template's drift as the report and `explain` show it. */
export interface TemplateDriftJson {
  statefulSet: string;
  template: string;
  templateSize: string | null;
  pvcSize: string | null;
  drifted: boolean;
}

export function templateDriftJson(drift: TemplateDrift | undefined): TemplateDriftJson | null {
  if (drift === undefined) return null;
  return {
    statefulSet: drift.statefulSet,
    template: drift.template,
    templateSize: size(drift.templateBytes),
    pvcSize: size(drift.pvcBytes),
    drifted: drifted(drift),
  };
}

/** The JSON shape of one PVC: sizes as Kubernetes quantities, ratios in [0, 1] or null. */
export function outcomeJson(outcome: PvcOutcome): Record<string, unknown> {
  return {
    cluster: outcome.cluster ?? null,
    namespace: outcome.namespace,
    name: outcome.name,
    action: outcome.action,
    reason: outcome.reason,
    type: outcome.reason === 'threshold-reached' ? (outcome.thresholdsReached[0] ?? null) : null,
    detail: outcome.detail,
    currentSize: size(outcome.currentBytes),
    newSize: size(outcome.newBytes),
    maxSize: size(outcome.maxSizeBytes),
    usedRatio: outcome.usedRatio ?? null,
    inodesUsedRatio: outcome.inodesUsedRatio ?? null,
    thresholdsReached: outcome.thresholdsReached,
    provider: outcome.provider ?? null,
    unhealthy: outcome.unhealthy,
    policy: outcome.policy ?? null,
    otherPolicies: outcome.otherPolicies,
    group: outcome.group ?? null,
    source: outcome.source ?? null,
    templateDrift: templateDriftJson(outcome.templateDrift),
    ...costJson(outcome.cost),
    ...forecastJson(outcome.forecast),
  };
}

/** The forecast's figures (null without a forecast, or when the volume is not growing). */
function forecastJson(
  figures: ForecastFigures | undefined,
): Record<string, string | number | null> {
  return {
    // The line explain prints: the figures in words, or why there is no forecast.
    forecast: figures?.summary ?? null,
    growthBytesPerDay: figures?.growthBytesPerDay ?? null,
    daysUntilFull: figures?.daysUntilFull ?? null,
    daysUntilMaxSize: figures?.daysUntilMaxSize ?? null,
  };
}

/**
 * The record of a pass that could not complete, after the records decided before it stopped: the
 * fields of a PVC's, for no PVC, so that a script reading a failed run's report sees why it is
 * short. A pass fails only when the API server cannot be read (api-error); a stop is interrupted.
 */
/** The record of a pass that could not complete: an outcome row's keys, `cluster` its name. */
export function failureJson(
  summary: RunSummary,
  cluster: string | null = null,
): Record<string, unknown> | undefined {
  if (summary.error === undefined) return undefined;
  const failed = summary.status === 'failed';
  return {
    cluster,
    namespace: null,
    name: null,
    action: failed ? 'error' : 'skip',
    reason: failed ? 'api-error' : 'interrupted',
    type: null,
    detail: `the pass could not complete: ${summary.error}`,
    currentSize: null,
    newSize: null,
    maxSize: null,
    usedRatio: null,
    inodesUsedRatio: null,
    thresholdsReached: [],
    provider: null,
    unhealthy: false,
    policy: null,
    otherPolicies: [],
    group: null,
    source: null,
    templateDrift: null,
    forecast: null,
    growthBytesPerDay: null,
    daysUntilFull: null,
    daysUntilMaxSize: null,
    ...costJson(undefined),
  };
}

function sizeColumn(outcome: PvcOutcome): string {
  const current = size(outcome.currentBytes) ?? '-';
  const next = size(outcome.newBytes);
  return next !== null && (outcome.action === 'expand' || outcome.action === 'would-expand')
    ? `${current} -> ${next}`
    : current;
}

function reasonColumn(outcome: PvcOutcome): string {
  const type =
    outcome.reason === 'threshold-reached' ? ` (${outcome.thresholdsReached.join(', ')})` : '';
  return `${outcome.reason}${type}`;
}

/** The DETAIL cell: the decision's detail, and the template's size when the PVC outgrew it. */
function detailColumn(outcome: PvcOutcome): string {
  const drift = outcome.templateDrift;
  if (drift === undefined || !drifted(drift)) return outcome.detail;
  return `${outcome.detail}; statefulset ${drift.statefulSet} template ${drift.template} is ${size(drift.templateBytes) ?? '-'} (pvc-chonker drift)`;
}

/** One pass's report, with the name of its cluster. */
export interface ClusterReport {
  name: string;
  summary: RunSummary;
}

function footerOf(summary: RunSummary): string {
  const counts = new Map<string, number>();
  for (const outcome of summary.pvcs)
    counts.set(outcome.action, (counts.get(outcome.action) ?? 0) + 1);
  const tally = [...counts].map(([action, count]) => `${count} ${action}`).join(', ');
  const failed =
    summary.status === 'success'
      ? ''
      : ` (${summary.status}${summary.error === undefined ? '' : `: ${summary.error}`})`;
  return `${summary.pvcsSeen} PVCs seen, ${summary.pvcs.length} managed${tally === '' ? '' : `: ${tally}`}${failed}`;
}

/**
 * The table of one or more passes. With `showCluster` a CLUSTER column comes first and the
 * footer has one line per cluster; a cluster whose pass failed says why there.
 */
export function formatClustersTable(
  reports: readonly ClusterReport[],
  showCluster: boolean,
): string {
  const header = [
    ...(showCluster ? ['CLUSTER'] : []),
    'NAMESPACE',
    'PVC',
    'USED',
    'INODES',
    'SIZE',
    'ACTION',
    'REASON',
    'DETAIL',
  ];
  const rows = reports.flatMap(({ name, summary }) =>
    summary.pvcs.map((o) => [
      ...(showCluster ? [name] : []),
      o.namespace,
      o.name,
      percent(o.usedRatio),
      percent(o.inodesUsedRatio),
      sizeColumn(o),
      o.action,
      reasonColumn(o),
      detailColumn(o),
    ]),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ');
  const dryRun = reports.some(({ summary }) => summary.dryRun)
    ? ' (dry run: nothing was changed)'
    : '';
  const footers = showCluster
    ? [...reports.map(({ name, summary }) => `${name}: ${footerOf(summary)}`), dryRun.trim()]
    : reports.map(({ summary }) => `${footerOf(summary)}${dryRun}`);
  // Over several clusters each footer already says which pass failed, and why.
  const failures = reports.flatMap(({ summary }) =>
    showCluster || summary.error === undefined
      ? []
      : [`the pass could not complete: ${summary.error}`],
  );
  return (
    [line(header), ...rows.map(line), '', ...footers.filter((f) => f !== ''), ...failures].join(
      '\n',
    ) + '\n'
  );
}

export function formatTable(summary: RunSummary): string {
  return formatClustersTable([{ name: '', summary }], false);
}

/** Report text is handed out in pieces of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The JSON report, byte for byte what `JSON.stringify(rows, null, 2)` gives, made one row at a
 * time: at 10,000 PVCs the whole text (7 MB) and its row objects at once were the pass's last
 * memory peak. Each row is stringified inside a one-element array, which indents it as the whole
 * array would; the text between that array's brackets is the row (no second pass over the text).
 */
/** Each pass's rows, then its failure record; over several clusters that record names its own. */
function* jsonRows(reports: readonly ClusterReport[]): Generator<Record<string, unknown>> {
  for (const { name, summary } of reports) {
    for (const outcome of summary.pvcs) yield outcomeJson(outcome);
    const failure = failureJson(summary, name === '' ? null : name);
    if (failure !== undefined) yield failure;
  }
}

function* jsonChunks(reports: readonly ClusterReport[]): Generator<string> {
  if (reports.every(({ summary }) => summary.pvcs.length === 0 && summary.error === undefined)) {
    yield '[]\n';
    return;
  }
  let chunk = '[';
  let separator = '\n';
  for (const row of jsonRows(reports)) {
    // "[\n" + the indented row + "\n]"
    chunk += separator + JSON.stringify([row], null, 2).slice(2, -2);
    separator = ',\n';
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}\n]\n`;
}

/** The report in pieces, for a writer that waits for the pipe between them. */
export function reportChunks(summary: RunSummary, format: OutputFormat): Iterable<string> {
  return format === 'json' ? jsonChunks([{ name: '', summary }]) : [formatTable(summary)];
}

/** One report over several passes: every row carries its cluster (the outcomes' `cluster`). */
export function clustersReportChunks(
  reports: readonly ClusterReport[],
  format: OutputFormat,
  showCluster: boolean,
): Iterable<string> {
  if (format === 'table') return [formatClustersTable(reports, showCluster)];
  return jsonChunks(reports);
}

export function formatReport(summary: RunSummary, format: OutputFormat): string {
  return [...reportChunks(summary, format)].join('');
}
