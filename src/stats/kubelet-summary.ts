/**
 * The kubelet Summary API (/stats/summary) as the kubelet really answers it: pods[].volume[] with
 * FsStats fields and a pvcRef for volumes backed by a PVC. Parsed defensively: a malformed entry
 * is dropped, not trusted.
 */
import { pvcKey, type VolumeStats } from '../core/pvc.js';
import { isRecord } from '../core/json.js';

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
const VOLUME_KEY = '"volume"';

/**
 * The same from the response's text, parsing only the pods' volume lists: the rest of a node's
 * summary (CPU, memory, network, containers: kilobytes per pod, 90 % of it) is not turned into
 * objects, a third of a pass's parsing and of its garbage. A key in that JSON cannot contain an
 * unescaped quote, so "volume" followed by a colon is the key itself. Undefined when the text is
 * not as expected (no pods list, or an array that does not close): the caller parses it whole.
 */
export function parseSummaryText(
  text: string,
  wanted?: ReadonlySet<string>,
): Map<string, VolumeStats> | undefined {
  if (!text.includes('"pods"')) return undefined;
  const result = new Map<string, VolumeStats>();
  for (let at = text.indexOf(VOLUME_KEY); at >= 0; at = text.indexOf(VOLUME_KEY, at + 1)) {
    const start = listAfterKey(text, at + VOLUME_KEY.length);
    if (start === undefined) continue;
    const end = closingBracket(text, start);
    if (end === undefined) return undefined;
    const volumes: unknown = JSON.parse(text.slice(start, end + 1));
    if (Array.isArray(volumes)) addVolumes(volumes, wanted, result);
    at = end;
  }
  return result;
}

/** Where the list that is the key's value opens (after `:` and any blanks); else undefined. */
function listAfterKey(text: string, from: number): number | undefined {
  let at = skipBlanks(text, from);
  if (text.charCodeAt(at) !== COLON) return undefined;
  at = skipBlanks(text, at + 1);
  return text.charCodeAt(at) === OPEN_BRACKET ? at : undefined;
}

function skipBlanks(text: string, from: number): number {
  let at = from;
  while (at < text.length && BLANKS.has(text.charCodeAt(at))) at++;
  return at;
}

/** JSON's insignificant whitespace: space, tab, line feed, carriage return. */
const BLANKS = new Set([32, 9, 10, 13]);
const COLON = 58;
const OPEN_BRACKET = 91;
const QUOTE = 34;
const BACKSLASH = 92;

/** Where the array opened at `start` closes, strings skipped; undefined if it does not. */
function closingBracket(text: string, start: number): number | undefined {
  let depth = 0;
  for (let at = start; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) at = stringEnd(text, at);
    else if (code === 91 || code === 123)
      depth++; // [ {
    else if ((code === 93 || code === 125) && --depth === 0) return at; // ] }
  }
  return undefined;
}

/** The closing quote of the string opened at `start` (or the text's end). */
function stringEnd(text: string, start: number): number {
  for (let at = start + 1; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === BACKSLASH) at++;
    else if (code === QUOTE) return at;
  }
  return text.length;
}
