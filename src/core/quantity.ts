import { err, ok, type Result } from './result.js';

/**
 * Kubernetes resource quantities ("10Gi", "1.5G", "500M", "1e9", "100m") as exact byte counts.
 * Bytes are bigint so sizes past 2^53 keep every byte; fractional bytes round up, as
 * resource.Quantity.Value() does.
 */

export const KiB = 1024n;
export const MiB = KiB * 1024n;
export const GiB = MiB * 1024n;

/** The largest value a Kubernetes quantity holds as an int64. */
const MAX_BYTES = (1n << 63n) - 1n;

const BINARY_SUFFIXES: Readonly<Record<string, bigint>> = {
  Ki: KiB,
  Mi: MiB,
  Gi: GiB,
  Ti: GiB * KiB,
  Pi: GiB * MiB,
  Ei: GiB * GiB,
};

/** Decimal suffixes as powers of ten. */
const DECIMAL_EXPONENTS: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const QUANTITY =
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/** The quantity as an exact fraction of bytes; undefined when the exponent is absurd. */
function exactValue(
  number: string,
  exponent: string | undefined,
  suffix: string,
): { numerator: bigint; denominator: bigint } | undefined {
  const [whole = '', fraction = ''] = number.split('.');
  // digits / 10^fraction.length is the number as written, exactly.
  const digits = BigInt(`${whole}${fraction}` || '0');
  const denominator = 10n ** BigInt(fraction.length);
  const binary = BINARY_SUFFIXES[suffix];
  if (binary !== undefined) return { numerator: digits * binary, denominator };
  const power =
    exponent !== undefined ? Number(exponent.slice(1)) : (DECIMAL_EXPONENTS[suffix] ?? 0);
  if (Math.abs(power) > 40) return undefined;
  return power >= 0
    ? { numerator: digits * 10n ** BigInt(power), denominator }
    : { numerator: digits, denominator: denominator * 10n ** BigInt(-power) };
}

/** Parses a quantity into whole bytes (rounded up). Negative values and values above int64 are errors. */
export function parseQuantity(text: string): Result<bigint> {
  const match = QUANTITY.exec(text.trim());
  if (!match || text.trim() !== text) {
    return err(
      `${JSON.stringify(text)} is not a Kubernetes quantity (e.g. 10Gi, 500M, 1073741824)`,
    );
  }
  const [, sign = '', number = '', exponent, suffix = ''] = match;
  const value = exactValue(number, exponent, suffix);
  if (value === undefined) return err(`${JSON.stringify(text)} is out of range`);
  if (sign === '-' && value.numerator > 0n) return err(`${JSON.stringify(text)} is negative`);
  const bytes = ceilDiv(value.numerator, value.denominator);
  if (bytes > MAX_BYTES)
    return err(`${JSON.stringify(text)} is larger than the largest quantity (8Ei - 1)`);
  return ok(bytes);
}

/** Canonical form: the largest binary unit that divides the value exactly, else plain bytes. */
/** Largest unit first; built once: formatQuantity runs several times per PVC of a pass. */
const UNITS_DESCENDING: readonly (readonly [string, bigint])[] =
  Object.entries(BINARY_SUFFIXES).reverse();

/**
 * Formatted sizes by value. A fleet has few distinct sizes and a pass formats each PVC's sizes
 * several times (report, log line, annotations): tens of thousands of BigInt divisions otherwise.
 * Bounded, as a fleet of odd sizes must not grow it without limit.
 */
const formatted = new Map<bigint, string>();
const MAX_FORMATTED = 4096;

export function formatQuantity(bytes: bigint): string {
  const known = formatted.get(bytes);
  if (known !== undefined) return known;
  const text = formatBytes(bytes);
  if (formatted.size >= MAX_FORMATTED) formatted.clear();
  formatted.set(bytes, text);
  return text;
}

function formatBytes(bytes: bigint): string {
  if (bytes === 0n) return '0';
  for (const [suffix, unit] of UNITS_DESCENDING) {
    if (bytes % unit === 0n) return `${bytes / unit}${suffix}`;
  }
  return bytes.toString();
}

export function roundUpToGiB(bytes: bigint): bigint {
  return ceilDiv(bytes, GiB) * GiB;
}

export function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
