/**
 * Reads back what the last push left: the Pushgateway API's JSON (GET /api/v1/metrics) or the
 * exposition text of a previous --metrics-file. Pure parsers; untrusted input is checked field
 * by field, and anything unexpected is ignored rather than trusted.
 */
import { err, ok, type Result } from '../core/result.js';
import { COUNTER_NAMES, GROUPING_LABELS, METRICS } from './definitions.js';
import type { Labels, PreviousValues, Sample } from './series.js';
import { isRecord } from '../core/json.js';

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') return undefined;
    out[key] = v;
  }
  return out;
}

/** Drops job/cluster/instance and empty labels (an empty label is an absent label). */
function sampleLabels(labels: Readonly<Record<string, string>>): Labels {
  return Object.fromEntries(
    Object.entries(labels).filter(([name, value]) => !GROUPING_LABELS.has(name) && value !== ''),
  );
}

function collect(
  samplesByName: Map<string, Sample[]>,
  name: string,
  labels: Labels,
  value: number,
) {
  const list = samplesByName.get(name) ?? [];
  list.push({ labels: sampleLabels(labels), value });
  samplesByName.set(name, list);
}

function toPrevious(samplesByName: Map<string, Sample[]>): PreviousValues {
  const lastSuccess = samplesByName.get(METRICS.lastSuccessTimestampSeconds.name)?.[0]?.value;
  samplesByName.delete(METRICS.lastSuccessTimestampSeconds.name);
  return { counters: samplesByName, lastSuccessSeconds: lastSuccess };
}

function isWanted(name: string): boolean {
  return COUNTER_NAMES.has(name) || name === METRICS.lastSuccessTimestampSeconds.name;
}

function sameGroup(labels: Record<string, string> | undefined, group: Labels): boolean {
  if (labels === undefined) return false;
  const names = Object.keys(labels);
  return names.length === Object.keys(group).length && names.every((n) => labels[n] === group[n]);
}

function addFamily(samplesByName: Map<string, Sample[]>, name: string, family: unknown): void {
  if (!isRecord(family) || !Array.isArray(family['metrics'])) return;
  for (const metric of family['metrics'] as unknown[]) {
    if (!isRecord(metric)) continue;
    const labels = stringRecord(metric['labels']);
    const value = typeof metric['value'] === 'string' ? Number(metric['value']) : Number.NaN;
    if (labels !== undefined && Number.isFinite(value)) collect(samplesByName, name, labels, value);
  }
}

/**
 * Finds the group whose grouping labels are exactly `group` in a GET /api/v1/metrics reply.
 * ok(undefined): the reply is valid but has no such group (an empty or restarted Pushgateway).
 */
export function previousFromApi(body: unknown, group: Labels): Result<PreviousValues | undefined> {
  if (!isRecord(body) || body['status'] !== 'success' || !Array.isArray(body['data'])) {
    return err('unexpected reply from /api/v1/metrics (no status "success" with a data array)');
  }
  const found = (body['data'] as unknown[]).find(
    (entry) => isRecord(entry) && sameGroup(stringRecord(entry['labels']), group),
  );
  if (!isRecord(found)) return ok(undefined);
  const samplesByName = new Map<string, Sample[]>();
  for (const [name, family] of Object.entries(found)) {
    if (isWanted(name)) addFamily(samplesByName, name, family);
  }
  return ok(toPrevious(samplesByName));
}

// eslint-disable-next-line security/detect-unsafe-regex -- one Prometheus sample line, with one optional group each: linear time
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL_PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_match, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string): Labels | undefined {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  let consumed = 0;
  for (let match = LABEL_PAIR.exec(text); match !== null; match = LABEL_PAIR.exec(text)) {
    const [, name = '', value = ''] = match;
    labels[name] = unescapeLabel(value);
    consumed = LABEL_PAIR.lastIndex;
  }
  return text.slice(consumed).trim() === '' ? labels : undefined;
}

/** Reads counters and last success from Prometheus text exposition (a previous metrics file). */
export function previousFromText(text: string): PreviousValues {
  const samplesByName = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line.trim());
    if (match === null) continue;
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels = parseLabels(labelText);
    const value = Number(valueText);
    if (isWanted(name) && labels !== undefined && Number.isFinite(value)) {
      collect(samplesByName, name, labels, value);
    }
  }
  return toPrevious(samplesByName);
}
