/**
 * The Prometheus side of the usage, pure: the PromQL of the pass's queries, the HTTP API's
 * answers (/api/v1/query: `{"status":"success","data":{"resultType":"vector","result":[...]}}`,
 * values as strings), and the stats of one PVC built from them. Byte and inode counts stay exact:
 * the string a sample carries is read as an integer, never through a float.
 */
import { isRecord } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';
import type { VolumeStats } from '../core/pvc.js';

/** The kubelet's volume series (pkg/kubelet/metrics/collectors/volume_stats.go), by field. */
export const VOLUME_METRICS = {
  capacityBytes: 'kubelet_volume_stats_capacity_bytes',
  availableBytes: 'kubelet_volume_stats_available_bytes',
  usedBytes: 'kubelet_volume_stats_used_bytes',
  inodes: 'kubelet_volume_stats_inodes',
  inodesFree: 'kubelet_volume_stats_inodes_free',
  inodesUsed: 'kubelet_volume_stats_inodes_used',
} as const;

export type VolumeField = keyof typeof VOLUME_METRICS;

export const VOLUME_FIELDS = Object.keys(VOLUME_METRICS) as VolumeField[];

/**
 * One series per PVC: after a pod moves, the old and the new node's series can both be within
 * the lookback window for a while, so they are folded with max by the PVC's labels.
 */
const BY_PVC = 'max by (namespace, persistentvolumeclaim)';

function selected(metric: string, selector: string): string {
  return selector === '' ? metric : `${metric}{${selector}}`;
}

export function volumeQuery(field: VolumeField, selector: string): string {
  return `${BY_PVC} (${selected(VOLUME_METRICS[field], selector)})`;
}

/**
 * When each PVC's capacity was last scraped (seconds): an instant query's samples carry the
 * evaluation time, not the scrape time, so the age needs timestamp().
 */
export function freshnessQuery(selector: string): string {
  return `${BY_PVC} (timestamp(${selected(VOLUME_METRICS.capacityBytes, selector)}))`;
}

/** An instant vector: the evaluation time (seconds) and each PVC's value text, keyed "ns/name". */
export interface Vector {
  evaluatedAt: number;
  values: Map<string, string>;
}

function sampleOf(entry: unknown): { key: string; time: number; value: string } | undefined {
  if (!isRecord(entry) || !isRecord(entry['metric']) || !Array.isArray(entry['value']))
    return undefined;
  const { namespace, persistentvolumeclaim: name } = entry['metric'];
  const [time, value] = entry['value'] as unknown[];
  if (typeof namespace !== 'string' || typeof name !== 'string') return undefined;
  if (typeof time !== 'number' || typeof value !== 'string') return undefined;
  return { key: `${namespace}/${name}`, time, value };
}

/** A successful /api/v1/query answer of type vector, or why it is not one. */
export function parseVector(body: unknown): Result<Vector> {
  if (!isRecord(body) || body['status'] !== 'success' || !isRecord(body['data']))
    return err('the answer is not a successful Prometheus API response');
  const { data } = body;
  if (data['resultType'] !== 'vector' || !Array.isArray(data['result']))
    return err(`expected a vector, got ${JSON.stringify(data['resultType'])}`);
  const values = new Map<string, string>();
  let evaluatedAt = Number.NaN;
  for (const entry of data['result'] as unknown[]) {
    const sample = sampleOf(entry);
    if (sample === undefined)
      return err('a sample has no namespace and persistentvolumeclaim labels');
    values.set(sample.key, sample.value);
    evaluatedAt = sample.time;
  }
  return ok({ evaluatedAt, values });
}

/**
 * A count as Prometheus prints it (Go's strconv.FormatFloat(v, 'f', -1, 64): integers without a
 * decimal point or exponent), read exactly; anything else (NaN, +Inf, fractions) is no count.
 */
export function exactCount(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^\d{1,30}$/.test(text)) return undefined;
  return BigInt(text);
}

export type VolumeValues = Record<VolumeField, ReadonlyMap<string, string>>;

function invalid(field: VolumeField, text: string): string {
  return `Prometheus reports ${VOLUME_METRICS[field]} ${JSON.stringify(text)}, not a whole number`;
}

/** An optional count: absent stays absent, present must be exact. */
function optional(
  values: VolumeValues,
  field: VolumeField,
  key: string,
): Result<bigint | undefined> {
  const text = values[field].get(key);
  if (text === undefined) return ok(undefined);
  const count = exactCount(text);
  return count === undefined ? err(invalid(field, text)) : ok(count);
}

/**
 * One PVC's stats, in the shape the Summary API gives (kubelet-summary.ts): capacity and
 * available required, used defaulting to their difference, zero inodes meaning "not reported".
 */
export function volumeStatsOf(values: VolumeValues, key: string): Result<VolumeStats> {
  const capacityText = values.capacityBytes.get(key) ?? '';
  const availableText = values.availableBytes.get(key);
  if (availableText === undefined)
    return err(
      `Prometheus has ${VOLUME_METRICS.capacityBytes} but no ${VOLUME_METRICS.availableBytes} for the volume`,
    );
  const capacityBytes = exactCount(capacityText);
  if (capacityBytes === undefined) return err(invalid('capacityBytes', capacityText));
  const availableBytes = exactCount(availableText);
  if (availableBytes === undefined) return err(invalid('availableBytes', availableText));
  const optionals = {
    usedBytes: optional(values, 'usedBytes', key),
    inodes: optional(values, 'inodes', key),
    inodesFree: optional(values, 'inodesFree', key),
    inodesUsed: optional(values, 'inodesUsed', key),
  };
  for (const result of Object.values(optionals)) if (!result.ok) return result;
  const value = (r: Result<bigint | undefined>): bigint | undefined => (r.ok ? r.value : undefined);
  const inodes = value(optionals.inodes);
  return ok({
    capacityBytes,
    availableBytes,
    usedBytes: value(optionals.usedBytes) ?? capacityBytes - availableBytes,
    // Zero inodes means the filesystem does not report them (e.g. Windows): same as absent.
    inodes: inodes === 0n ? undefined : inodes,
    inodesUsed: value(optionals.inodesUsed),
    inodesFree: value(optionals.inodesFree),
  });
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const OPERATOR = /^(=~|!~|!=|=)/;

/** The length of the quoted string at the start of `text` ("…", '…' with escapes, `…` raw). */
function quotedLength(text: string): number | undefined {
  const quote = text[0];
  if (quote !== '"' && quote !== "'" && quote !== '`') return undefined;
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\' && quote !== '`') i++;
    else if (text[i] === quote) return i + 1;
  }
  return undefined;
}

/**
 * --prometheus-selector: label matchers as inside PromQL braces (`job="kubelet", cluster=~"eu-.*"`),
 * checked at start-up so that a typo is an exit-2 error, not a failed query at every pass.
 */
export function parseSelector(text: string): Result<string> {
  let rest = text.trim();
  const matchers: string[] = [];
  while (rest !== '') {
    const name = LABEL_NAME.exec(rest)?.[0];
    if (name === undefined) return err(`expected a label name at ${JSON.stringify(rest)}`);
    rest = rest.slice(name.length).trimStart();
    const operator = OPERATOR.exec(rest)?.[0];
    if (operator === undefined) return err(`expected =, !=, =~ or !~ after ${name}`);
    rest = rest.slice(operator.length).trimStart();
    const length = quotedLength(rest);
    if (length === undefined) return err(`expected a quoted value after ${name}${operator}`);
    matchers.push(`${name}${operator}${rest.slice(0, length)}`);
    rest = rest.slice(length).trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
    else if (rest !== '') return err(`expected , between matchers at ${JSON.stringify(rest)}`);
  }
  return ok(matchers.join(', '));
}

/**
 * The forecast's history: each PVC's used bytes over --forecast-window, one point a step, as
 * /api/v1/query_range parameters (seconds). About 60 points whatever the window, at least a
 * minute apart (the kubelet's series change no faster than it is scraped).
 */
export function usageHistoryQuery(
  selector: string,
  endMs: number,
  windowMs: number,
): Record<string, string> {
  const step = Math.max(60, Math.round(windowMs / 1000 / 60));
  return {
    query: volumeQuery('usedBytes', selector),
    start: String((endMs - windowMs) / 1000),
    end: String(endMs / 1000),
    step: String(step),
  };
}
