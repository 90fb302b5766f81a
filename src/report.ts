/** The run's report on stdout: a table for people, or one JSON array for scripts. */
import type { PvcOutcome, RunSummary } from './core/outcome.js';
import { formatRatio } from './core/percent.js';
import { formatQuantity } from './core/quantity.js';

export type OutputFormat = 'table' | 'json';

function size(bytes: bigint | undefined): string | null {
  return bytes === undefined ? null : formatQuantity(bytes);
}

function percent(ratio: number | undefined): string {
  return ratio === undefined ? '-' : formatRatio(ratio);
}

/** The JSON shape of one PVC: sizes as Kubernetes quantities, ratios in [0, 1] or null. */
export function outcomeJson(outcome: PvcOutcome): Record<string, unknown> {
  return {
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

export function formatTable(summary: RunSummary): string {
  const header = ['NAMESPACE', 'PVC', 'USED', 'INODES', 'SIZE', 'ACTION', 'REASON', 'DETAIL'];
  const rows = summary.pvcs.map((o) => [
    o.namespace,
    o.name,
    percent(o.usedRatio),
    percent(o.inodesUsedRatio),
    sizeColumn(o),
    o.action,
    reasonColumn(o),
    o.detail,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ');
  const counts = new Map<string, number>();
  for (const outcome of summary.pvcs)
    counts.set(outcome.action, (counts.get(outcome.action) ?? 0) + 1);
  const tally = [...counts].map(([action, count]) => `${count} ${action}`).join(', ');
  const footer = `${summary.pvcsSeen} PVCs seen, ${summary.pvcs.length} managed${tally === '' ? '' : `: ${tally}`}${summary.dryRun ? ' (dry run: nothing was changed)' : ''}`;
  return [line(header), ...rows.map(line), '', footer].join('\n') + '\n';
}

/** Report text is handed out in pieces of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The JSON report, byte for byte what `JSON.stringify(rows, null, 2)` gives, made one row at a
 * time: at 10,000 PVCs the whole text (7 MB) and its row objects at once were the pass's last
 * memory peak. Each row is stringified inside a one-element array, which indents it as the whole
 * array would; the text between that array's brackets is the row (no second pass over the text).
 */
function* jsonChunks(outcomes: readonly PvcOutcome[]): Generator<string> {
  if (outcomes.length === 0) {
    yield '[]\n';
    return;
  }
  let chunk = '[';
  let separator = '\n';
  for (const outcome of outcomes) {
    // "[\n" + the indented row + "\n]"
    chunk += separator + JSON.stringify([outcomeJson(outcome)], null, 2).slice(2, -2);
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
  return format === 'json' ? jsonChunks(summary.pvcs) : [formatTable(summary)];
}

export function formatReport(summary: RunSummary, format: OutputFormat): string {
  return [...reportChunks(summary, format)].join('');
}
