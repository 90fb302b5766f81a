import { err, ok, type Result } from './result.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
// eslint-disable-next-line security/detect-unsafe-regex -- one unit per match, no nested repetition: linear time
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses Go-style durations with days: "30m", "6h", "1d", "1h30m", "0s". Milliseconds. */
export function parseDuration(text: string): Result<number> {
  if (text === '0') return ok(0);
  if (!DURATION.test(text))
    return err(`${JSON.stringify(text)} is not a duration (e.g. 30m, 6h, 1d)`);
  let total = 0;
  for (const [, amount = '0', unit = 's'] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit] ?? 0);
  }
  if (!Number.isFinite(total) || total > 365 * 86_400_000) {
    return err(`${JSON.stringify(text)} is longer than a year`);
  }
  return ok(Math.round(total));
}

/** Short human form for reports: 14m59s, 2h, 1d3h. */
export function formatDuration(ms: number): string {
  let seconds = Math.max(0, Math.ceil(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join('');
}
