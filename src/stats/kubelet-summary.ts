/**
 * The kubelet Summary API (/stats/summary) as the kubelet really answers it: pods[].volume[] with
 * FsStats fields and a pvcRef for volumes backed by a PVC. Parsed defensively: a malformed entry
 * is dropped, not trusted.
 */
import { pvcKey, type VolumeStats } from '../core/pvc.js';
import { isRecord, parseJson } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';

/** Counts arrive as JSON numbers (uint64 on the kubelet side); take only non-negative integers. */
function count(value: unknown): bigint | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  return BigInt(value);
}

function volumeStats(entry: Record<string, unknown>): VolumeStats | undefined {
  const capacityBytes = count(entry['capacityBytes']);
  const availableBytes = count(entry['availableBytes']);
  if (capacityBytes === undefined || availableBytes === undefined) return undefined;
  const inodes = count(entry['inodes']);
  return {
    capacityBytes,
    availableBytes,
    usedBytes: count(entry['usedBytes']) ?? capacityBytes - availableBytes,
    // Zero inodes means the filesystem does not report them (e.g. Windows): same as absent.
    inodes: inodes === 0n ? undefined : inodes,
    inodesUsed: count(entry['inodesUsed']),
    inodesFree: count(entry['inodesFree']),
  };
}

/** The key of a PVC-backed volume entry, when it is one and is wanted. */
function wantedKey(entry: unknown, wanted: ReadonlySet<string> | undefined): string | undefined {
  if (!isRecord(entry) || !isRecord(entry['pvcRef'])) return undefined;
  const { name, namespace } = entry['pvcRef'];
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  const key = pvcKey({ namespace, name });
  return wanted === undefined || wanted.has(key) ? key : undefined;
}

function addVolumes(
  volumes: readonly unknown[],
  wanted: ReadonlySet<string> | undefined,
  result: Map<string, VolumeStats>,
): void {
  for (const entry of volumes) {
    const key = wantedKey(entry, wanted);
    const stats = key === undefined ? undefined : volumeStats(entry as Record<string, unknown>);
    if (key !== undefined && stats !== undefined) result.set(key, stats);
  }
}

/**
 * Stats of the PVC-backed volumes in a Summary response, keyed "ns/name": all of them, or only
 * those in `wanted` (a node also mounts PVCs the pass does not manage; they are not read).
 */
export function parseSummary(
  summary: unknown,
  wanted?: ReadonlySet<string>,
): Map<string, VolumeStats> {
  const result = new Map<string, VolumeStats>();
  if (!isRecord(summary) || !Array.isArray(summary['pods'])) return result;
  for (const pod of summary['pods'] as unknown[]) {
    if (isRecord(pod) && Array.isArray(pod['volume'])) addVolumes(pod['volume'], wanted, result);
  }
  return result;
}

/** A pod's volume list: the only key "volume" of the Summary API (pods[].volume). */
const VOLUME_KEY = Buffer.from('"volume"');
const PODS_KEY = Buffer.from('"pods"');

/**
 * The stats of a /stats/summary answer, from its bytes: only the pods' volume lists are parsed.
 * The rest of a node's summary (CPU, memory, network, containers: kilobytes per pod, 90 % of it)
 * is neither decoded into a string nor turned into objects. A whole answer as one string was a
 * large short-lived object the young generation could not drop in time: it cost a 10,000-PVC
 * pass a quarter of what it promoted to the old generation (docs/scale.md). An answer that is
 * not JSON is the node's failure, not the pass's.
 */
export function readSummary(
  bytes: Buffer,
  wanted?: ReadonlySet<string>,
): Result<Map<string, VolumeStats>> {
  const lists = volumeLists(bytes);
  if (lists === undefined) {
    const whole = parseSlice(bytes, 0, bytes.length);
    return whole.ok ? ok(parseSummary(whole.value, wanted)) : whole;
  }
  const result = new Map<string, VolumeStats>();
  for (const [start, end] of lists) {
    const volumes = parseSlice(bytes, start, end);
    if (!volumes.ok) return volumes;
    if (Array.isArray(volumes.value)) addVolumes(volumes.value, wanted, result);
  }
  return ok(result);
}

/**
 * Where each pods[].volume list starts and ends (end exclusive). A key in that JSON cannot hold an
 * unescaped quote, so "volume" followed by a colon is the key itself; and in UTF-8 every byte of
 * a multi-byte character is 0x80 or above, so the scan can look for quotes and brackets byte by
 * byte. Undefined when the answer is not as expected (no pods list, or a list that does not
 * close): it is then parsed whole.
 */
function volumeLists(bytes: Buffer): Array<[number, number]> | undefined {
  if (bytes.indexOf(PODS_KEY) < 0) return undefined;
  const lists: Array<[number, number]> = [];
  for (let at = bytes.indexOf(VOLUME_KEY); at >= 0; at = bytes.indexOf(VOLUME_KEY, at + 1)) {
    const start = listAfterKey(bytes, at + VOLUME_KEY.length);
    if (start === undefined) continue;
    const end = closingBracket(bytes, start);
    if (end === undefined) return undefined;
    lists.push([start, end + 1]);
    at = end;
  }
  return lists;
}

function parseSlice(bytes: Buffer, start: number, end: number): Result<unknown> {
  const json = parseJson(bytes.toString('utf8', start, end));
  return json.ok ? json : err(`the answer is not a kubelet Summary: ${json.error}`);
}

/** Where the list that is the key's value opens (after `:` and any blanks); else undefined. */
function listAfterKey(bytes: Buffer, from: number): number | undefined {
  let at = skipBlanks(bytes, from);
  if (bytes[at] !== COLON) return undefined;
  at = skipBlanks(bytes, at + 1);
  return bytes[at] === OPEN_BRACKET ? at : undefined;
}

function skipBlanks(bytes: Buffer, from: number): number {
  let at = from;
  while (at < bytes.length && BLANKS.has(bytes[at] ?? 0)) at++;
  return at;
}

/** JSON's insignificant whitespace: space, tab, line feed, carriage return. */
const BLANKS = new Set([32, 9, 10, 13]);
const COLON = 58;
const OPEN_BRACKET = 91;
const QUOTE = 34;
const BACKSLASH = 92;

/** Where the array opened at `start` closes, strings skipped; undefined if it does not. */
function closingBracket(bytes: Buffer, start: number): number | undefined {
  let depth = 0;
  for (let at = start; at < bytes.length; at++) {
    const code = bytes[at];
    if (code === QUOTE) at = stringEnd(bytes, at);
    else if (code === 91 || code === 123)
      depth++; // [ {
    else if ((code === 93 || code === 125) && --depth === 0) return at; // ] }
  }
  return undefined;
}

/** The closing quote of the string opened at `start` (or the answer's end). */
function stringEnd(bytes: Buffer, start: number): number {
  for (let at = start + 1; at < bytes.length; at++) {
    const code = bytes[at];
    if (code === BACKSLASH) at++;
    else if (code === QUOTE) return at;
  }
  return bytes.length;
}
