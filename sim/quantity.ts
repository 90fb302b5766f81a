// Kubernetes resource.Quantity parsing and canonical formatting, enough for storage sizes.
// The real API server stores quantities in canonical form ("1.5Gi" is served back as "1536Mi"),
// and kubectl prints that canonical string in the CAPACITY column.
// Written apart from src/core/quantity.ts on purpose: the simulated API server checks the CLI's
// requests, and an oracle that shares the code under test would share its bugs.

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = {
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
const QUANTITY_RE =
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
  /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The message the API server returns when a quantity string does not parse. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

export interface ParsedQuantity {
  /** Value in base units, rounded up to a whole unit (storage has no sub-byte sizes). */
  bytes: bigint;
  format: QuantityFormat;
}

function pow(base: bigint, exp: number): bigint {
  return base ** BigInt(exp);
}

export function parseQuantity(text: string | number | bigint): ParsedQuantity | undefined {
  if (typeof text !== 'string') return { bytes: BigInt(text), format: 'DecimalSI' };
  const m = QUANTITY_RE.exec(text.trim());
  if (!m) return undefined;
  const [, sign = '', number = '0', suffix, exponent] = m;
  const [intPart = '', fracPart = ''] = number.split('.');
  const scaled = scale(
    BigInt((intPart || '0') + fracPart),
    pow(10n, fracPart.length),
    suffix,
    exponent,
  );
  const bytes = (scaled.num + scaled.den - 1n) / scaled.den;
  return { bytes: sign === '-' ? -bytes : bytes, format: scaled.format };
}

/** Applies the suffix or exponent to num/den. */
function scale(
  num: bigint,
  den: bigint,
  suffix: string | undefined,
  exponent: string | undefined,
): { num: bigint; den: bigint; format: QuantityFormat } {
  const binary = suffix === undefined ? undefined : BINARY[suffix];
  if (binary !== undefined) return { num: num * pow(1024n, binary), den, format: 'BinarySI' };
  const e = exponent !== undefined ? Number(exponent) : (DECIMAL[suffix ?? ''] ?? 0);
  const format: QuantityFormat = exponent !== undefined ? 'DecimalExponent' : 'DecimalSI';
  return e >= 0
    ? { num: num * pow(10n, e), den, format }
    : { num, den: den * pow(10n, -e), format };
}

export function quantityBytes(text: unknown): bigint | undefined {
  if (typeof text !== 'string' && typeof text !== 'number') return undefined;
  return parseQuantity(text)?.bytes;
}

function largestDivisor(bytes: bigint, base: bigint, max: number): number {
  let k = 0;
  let rest = bytes;
  while (k < max && rest !== 0n && rest % base === 0n) {
    rest /= base;
    k++;
  }
  return k;
}

/** Formats bytes the way resource.Quantity.String() does for the given format. */
export function formatQuantity(bytes: bigint, format: QuantityFormat = 'BinarySI'): string {
  const abs = bytes < 0n ? -bytes : bytes;
  const sign = bytes < 0n ? '-' : '';
  if (format === 'BinarySI' && abs >= 1024n) {
    const k = largestDivisor(abs, 1024n, 6);
    const suffix = Object.keys(BINARY).find((s) => BINARY[s] === k) ?? '';
    return `${sign}${abs / pow(1024n, k)}${suffix}`;
  }
  const k = largestDivisor(abs, 1000n, 6);
  if (format === 'DecimalExponent')
    return k === 0 ? `${bytes}` : `${sign}${abs / pow(1000n, k)}e${k * 3}`;
  const suffix = Object.keys(DECIMAL).find((s) => DECIMAL[s] === k * 3) ?? '';
  return `${sign}${abs / pow(1000n, k)}${suffix}`;
}

/** Canonical form of a quantity string, or undefined if it does not parse. */
export function canonicalQuantity(text: string | number): string | undefined {
  const q = parseQuantity(typeof text === 'number' ? String(text) : text);
  return q ? formatQuantity(q.bytes, q.format) : undefined;
}
