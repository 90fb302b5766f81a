import { formatQuantity, parseQuantity } from './quantity.js';
import { err, ok, type Result } from './result.js';
import { isRecord, parseJson } from './json.js';

/** One past expansion, as kept in the pvc-chonker.io/expansion-history annotation. */
export interface ExpansionRecord {
  time: Date;
  fromBytes: bigint;
  toBytes: bigint;
  reason: string;
  /** The kubelet's usedBytes when it was made; absent in entries written before forecasts. */
  usedBytes?: bigint | undefined;
}

export const HISTORY_LIMIT = 10;
/** A history longer than this was not written by us; refuse it rather than parse megabytes. */
const HISTORY_MAX_CHARS = 8192;

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

export function parseTime(text: string): Result<Date> {
  const time = RFC3339.test(text) ? new Date(text) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) {
    return err(`${JSON.stringify(text)} is not an RFC 3339 time (e.g. 2026-01-15T10:30:00Z)`);
  }
  return ok(time);
}

/** RFC 3339 at second precision, as written to annotations. */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseRecord(entry: unknown, index: number): Result<ExpansionRecord> {
  if (!isRecord(entry)) return err(`entry ${index} is not an object`);
  const { time, from, to, reason, used } = entry;
  if (typeof time !== 'string' || typeof from !== 'string' || typeof to !== 'string') {
    return err(`entry ${index} needs string fields time, from and to`);
  }
  const parsedTime = parseTime(time);
  const fromBytes = parseQuantity(from);
  const toBytes = parseQuantity(to);
  if (!parsedTime.ok) return err(`entry ${index}: ${parsedTime.error}`);
  if (!fromBytes.ok) return err(`entry ${index}: from ${fromBytes.error}`);
  if (!toBytes.ok) return err(`entry ${index}: to ${toBytes.error}`);
  const usedBytes = usedOf(used);
  if (!usedBytes.ok) return err(`entry ${index}: used ${usedBytes.error}`);
  return ok({
    time: parsedTime.value,
    fromBytes: fromBytes.value,
    toBytes: toBytes.value,
    reason: typeof reason === 'string' ? reason : '',
    ...(usedBytes.value === undefined ? {} : { usedBytes: usedBytes.value }),
  });
}

/** An entry's `used` (entries written before forecasts have none). */
function usedOf(used: unknown): Result<bigint | undefined> {
  return typeof used === 'string' ? parseQuantity(used) : ok(undefined);
}

export function parseHistory(text: string): Result<ExpansionRecord[]> {
  if (text.length > HISTORY_MAX_CHARS) return err(`is ${text.length} characters long`);
  const json = parseJson(text);
  if (!json.ok) return err(`is not JSON: ${json.error}`);
  if (!Array.isArray(json.value)) return err('is not a JSON array');
  const records: ExpansionRecord[] = [];
  for (const [index, entry] of json.value.entries()) {
    const record = parseRecord(entry, index);
    if (!record.ok) return record;
    records.push(record.value);
  }
  return ok(records);
}

/** Appends a record and keeps the newest HISTORY_LIMIT, serialised for the annotation. */
export function appendHistory(
  history: readonly ExpansionRecord[],
  record: ExpansionRecord,
): string {
  const kept = [...history, record].slice(-HISTORY_LIMIT);
  return JSON.stringify(
    kept.map((entry) => ({
      time: formatTime(entry.time),
      from: formatQuantity(entry.fromBytes),
      to: formatQuantity(entry.toBytes),
      reason: entry.reason,
      ...(entry.usedBytes === undefined ? {} : { used: formatQuantity(entry.usedBytes) }),
    })),
  );
}
