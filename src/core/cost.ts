/**
 * Money, exactly. A price per GiB-month times a size in bytes divided by 2^30 is a terminating
 * decimal, so amounts are kept as exact fractions of bigints and rounded to the cent only when
 * they are shown: a sum over 10,000 volumes is the sum of the exact amounts, not of rounded ones,
 * and no float ever enters what is reported.
 */
import { GiB } from './quantity.js';

/** An exact amount in US dollars: num / den, den > 0. */
export interface Usd {
  readonly num: bigint;
  readonly den: bigint;
}

export const ZERO_USD: Usd = { num: 0n, den: 1n };

/** A price as written in the table or a price file: digits, optionally a point and up to 12 more. */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored, bounded, no ambiguous nested repetition: linear time
const DECIMAL = /^(\d{1,9})(?:\.(\d{1,12}))?$/;

/** "0.08" → 8/100; undefined unless a non-negative decimal (no sign, exponent or spaces). */
export function parseUsd(text: string): Usd | undefined {
  const match = DECIMAL.exec(text);
  if (match === null) return undefined;
  const fraction = match[2] ?? '';
  return {
    num: BigInt(`${match[1] ?? '0'}${fraction}`),
    den: 10n ** BigInt(fraction.length),
  };
}

export function addUsd(a: Usd, b: Usd): Usd {
  return a.den === b.den
    ? { num: a.num + b.num, den: a.den }
    : { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

export function subUsd(a: Usd, b: Usd): Usd {
  return addUsd(a, { num: -b.num, den: b.den });
}

export function sumUsd(amounts: Iterable<Usd>): Usd {
  let total = ZERO_USD;
  for (const amount of amounts) total = addUsd(total, amount);
  return total;
}

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareUsd(a: Usd, b: Usd): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** What `bytes` of storage cost a month at `perGiBMonth`. */
export function monthlyCost(bytes: bigint, perGiBMonth: Usd): Usd {
  return { num: bytes * perGiBMonth.num, den: perGiBMonth.den * GiB };
}

/** Rounded half away from zero to `places` decimals: "1.60", "-0.25". */
export function formatUsd(amount: Usd, places = 2): string {
  const scale = 10n ** BigInt(places);
  const negative = amount.num < 0n;
  const magnitude = negative ? -amount.num : amount.num;
  // round(x) = floor(x + 1/2) for x >= 0, in integers: floor((2·num·scale + den) / (2·den)).
  const units = (2n * magnitude * scale + amount.den) / (2n * amount.den);
  const whole = units / scale;
  const fraction = (units % scale).toString().padStart(places, '0');
  const sign = negative && units !== 0n ? '-' : '';
  return places === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** The exact decimal of a price as it was written (a table entry has at most 12 decimals). */
export function formatPrice(price: Usd): string {
  let places = 0;
  let den = price.den;
  // A den of 10^k (how parseUsd builds prices) is shown with k decimals, trailing zeros trimmed.
  while (den > 1n && den % 10n === 0n && places < 12) {
    den /= 10n;
    places++;
  }
  const text = formatUsd(price, Math.max(places, 2));
  return text.includes('.') ? text.replace(/(\.\d\d\d*?)0+$/, '$1') : text;
}
