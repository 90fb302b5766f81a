import { err, ok, type Result } from './result.js';

/**
 * A percentage kept as an exact fraction, so "used >= 80%" is decided on integers and a volume of
 * 2^60 bytes is judged as exactly as one of 2^20.
 */
export interface Percent {
  /** As written, for reports: "80%". */
  text: string;
  /** value in percent = numerator / denominator */
  numerator: bigint;
  denominator: bigint;
}

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
const PERCENT = /^(\d+)(?:\.(\d+))?%$/;

/** Parses "80%" or "12.5%"; `max` bounds the value in percent (100 for a ratio of usage). */
export function parsePercent(text: string, max: number): Result<Percent> {
  const match = PERCENT.exec(text);
  if (!match) return err(`${JSON.stringify(text)} is not a percentage (e.g. 80%)`);
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > 6) return err(`${JSON.stringify(text)} has more than 6 decimal places`);
  const percent: Percent = {
    text,
    numerator: BigInt(`${whole}${fraction}`),
    denominator: 10n ** BigInt(fraction.length),
  };
  if (percent.numerator === 0n) return err(`${JSON.stringify(text)} must be above 0%`);
  if (percent.numerator > BigInt(max) * percent.denominator) {
    return err(`${JSON.stringify(text)} is above ${max}%`);
  }
  return ok(percent);
}

/** part / whole >= percent, exactly. `whole` must be positive. */
export function reachesPercent(part: bigint, whole: bigint, percent: Percent): boolean {
  return part * 100n * percent.denominator >= percent.numerator * whole;
}

/** ceil(whole * percent), in the units of whole. */
export function percentOf(whole: bigint, percent: Percent): bigint {
  const denominator = 100n * percent.denominator;
  return (whole * percent.numerator + denominator - 1n) / denominator;
}

/** "92.5%": one decimal, rounded down, so a value just below a threshold never shows as reaching it. */
export function formatRatio(value: number): string {
  return `${(Math.floor(value * 1000) / 10).toFixed(1)}%`;
}

/** A ratio in [0, 1] for display and gauges; exactness is not needed there. */
export function ratio(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  // Scale to keep 9 significant digits through the conversion to a double.
  return Number((part * 1_000_000_000n) / whole) / 1_000_000_000;
}
