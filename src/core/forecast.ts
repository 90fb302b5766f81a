/**
 * The growth forecast of one volume: the least-squares slope of its used bytes over time, and
 * what follows from it (days until full, days until max-size, the runway a step must give, the
 * predictive trigger). Pure, but for FitBuilder: the accumulator a reader fills point by point.
 * The slope is an exact fraction of bigints, so every comparison that decides something is exact;
 * floats appear only in what is shown.
 */
import type { ForecastFigures } from './outcome.js';

/** One observation of a volume's used bytes (kubelet usedBytes). */
export interface UsagePoint {
  time: Date;
  usedBytes: bigint;
}

/** Bytes per millisecond as numerator / denominator; the denominator is above 0. */
export interface Rate {
  numerator: bigint;
  denominator: bigint;
}

/** Below this many points, or this short a span, there is no forecast. */
export const MIN_FORECAST_SAMPLES = 3;
export const MIN_FORECAST_SPAN_MS = 3_600_000;

const DAY_MS = 86_400_000;

/** Where the points came from: the PVC's usage-samples annotation, or Prometheus. */
export type ForecastSource = 'samples' | 'prometheus';

export type Forecast =
  | { kind: 'none'; why: string }
  | {
      kind: 'rate';
      rate: Rate;
      source: ForecastSource;
      samples: number;
      spanMs: number;
      /** For display and metrics; decisions use `rate`. */
      bytesPerDay: number;
      /** available / rate, only when the rate is above 0. */
      daysUntilFull: number | undefined;
      /** (max-size − used) / rate, only when the rate is above 0 and a max-size is set. */
      daysUntilMaxSize: number | undefined;
    };

/**
 * What the least-squares line of a series needs: the count, the first and last times, and exact
 * sums with x the whole ms since the first point.
 */
export interface UsageFit {
  samples: number;
  firstMs: number;
  lastMs: number;
  sx: bigint;
  sy: bigint;
  sxx: bigint;
  sxy: bigint;
}

/** Integers up to this are exact doubles; so is a sum of them that stays within it. */
const SAFE = Number.MAX_SAFE_INTEGER;
/** Σxy in doubles splits y as hi · 2^26 + lo: with |x| < 2^26 both products stay exact. */
const SPLIT = 2 ** 26;
const SPLIT_BITS = 26n;

/** An exact sum of whole numbers: a double while that is exact, the rest moved into a bigint. */
class ExactSum {
  private small = 0;
  private big = 0n;

  /** Adds a safe integer. */
  add(term: number): void {
    if (Math.abs(this.small) > SAFE - Math.abs(term)) {
      this.big += BigInt(this.small);
      this.small = term;
    } else this.small += term;
  }

  addBig(term: bigint): void {
    this.big += term;
  }

  value(): bigint {
    return this.big + BigInt(this.small);
  }
}

/**
 * A fit gathered one point at a time, so a source with thousands of points per pass
 * (Prometheus' history) keeps none of them. Exact as bigint sums of every point would be, but
 * without a bigint per point: while x is below 2^26 ms (18.6 h) and used bytes below 2^53, each
 * term is an exact double, and only a sum about to pass 2^53 moves into its bigint.
 */
export class FitBuilder {
  private samples = 0;
  private firstMs = 0;
  private lastMs = 0;
  private readonly sx = new ExactSum();
  private readonly sy = new ExactSum();
  private readonly sxx = new ExactSum();
  /** Σx·hi and Σx·lo of y = hi · 2^26 + lo; the slow path adds its whole x·y to the latter. */
  private readonly sxyHi = new ExactSum();
  private readonly sxyLo = new ExactSum();

  /** Adds a point: a whole-ms time and whole used bytes. */
  add(timeMs: number, usedBytes: number | bigint): void {
    if (this.samples === 0) this.firstMs = timeMs;
    this.samples++;
    this.lastMs = timeMs;
    const x = timeMs - this.firstMs;
    const y =
      typeof usedBytes === 'bigint' && usedBytes <= SAFE && usedBytes >= -SAFE
        ? Number(usedBytes)
        : usedBytes;
    if (
      typeof y === 'number' &&
      Number.isSafeInteger(y) &&
      Number.isInteger(x) &&
      Math.abs(x) < SPLIT
    ) {
      const hi = Math.floor(y / SPLIT);
      this.sx.add(x);
      this.sy.add(y);
      this.sxx.add(x * x);
      this.sxyHi.add(x * hi);
      this.sxyLo.add(x * (y - hi * SPLIT));
      return;
    }
    const bx = BigInt(timeMs) - BigInt(this.firstMs);
    const by = BigInt(y);
    this.sx.addBig(bx);
    this.sy.addBig(by);
    this.sxx.addBig(bx * bx);
    this.sxyLo.addBig(bx * by);
  }

  fit(): UsageFit {
    const { samples, firstMs, lastMs } = this;
    return {
      samples,
      firstMs,
      lastMs,
      sx: this.sx.value(),
      sy: this.sy.value(),
      sxx: this.sxx.value(),
      sxy: (this.sxyHi.value() << SPLIT_BITS) + this.sxyLo.value(),
    };
  }
}

/** The fit of the points, in their order (the first is x = 0). */
export function fitOf(points: readonly UsagePoint[]): UsageFit {
  const builder = new FitBuilder();
  for (const point of points) builder.add(point.time.getTime(), point.usedBytes);
  return builder.fit();
}

/**
 * Least-squares slope of used bytes over time, in bytes per ms, exact:
 * slope = (nΣxy − ΣxΣy) / (nΣx² − (Σx)²). Undefined when every point has the same time.
 * Capacity does not enter it, so a resize in the middle does not bend the line.
 */
export function slopeOf(fit: UsageFit): Rate | undefined {
  const n = BigInt(fit.samples);
  const denominator = n * fit.sxx - fit.sx * fit.sx;
  if (denominator <= 0n) return undefined;
  return { numerator: n * fit.sxy - fit.sx * fit.sy, denominator };
}

/** Bytes per day, as a float for display (exact to 2^53 bytes). */
export function bytesPerDay(rate: Rate): number {
  return Number((rate.numerator * BigInt(DAY_MS) * 1000n) / rate.denominator) / 1000;
}

/** How many days `bytes` last at `rate` (> 0), as a float for display. */
function daysFor(bytes: bigint, rate: Rate): number {
  const ms = (bytes * rate.denominator * 1000n) / rate.numerator;
  return Number(ms) / 1000 / DAY_MS;
}

export interface ForecastInput {
  /** The points' fit: the stored usage samples and the reading now, or Prometheus' history. */
  fit: UsageFit;
  source: ForecastSource;
  /** The kubelet's availableBytes now. */
  availableBytes: bigint;
  usedBytes: bigint;
  maxSizeBytes: bigint | undefined;
}

/** The forecast from the points' fit, or why there is none. */
export function forecastOf(input: ForecastInput): Forecast {
  const { fit } = input;
  const { samples } = fit;
  const spanMs = fit.lastMs - fit.firstMs;
  if (samples < MIN_FORECAST_SAMPLES)
    return {
      kind: 'none',
      why: `${samples} ${plural(samples, 'sample')}, ${MIN_FORECAST_SAMPLES} needed`,
    };
  if (spanMs < MIN_FORECAST_SPAN_MS)
    return {
      kind: 'none',
      why: `${samples} samples over ${formatSpan(spanMs)}, at least 1 h needed`,
    };
  const rate = slopeOf(fit);
  if (rate === undefined) return { kind: 'none', why: 'the samples share one time' };
  const growing = rate.numerator > 0n;
  const room =
    input.maxSizeBytes === undefined || input.maxSizeBytes <= input.usedBytes
      ? 0n
      : input.maxSizeBytes - input.usedBytes;
  return {
    kind: 'rate',
    rate,
    source: input.source,
    samples,
    spanMs,
    bytesPerDay: bytesPerDay(rate),
    daysUntilFull: growing ? daysFor(maxOf(input.availableBytes, 0n), rate) : undefined,
    daysUntilMaxSize: growing && input.maxSizeBytes !== undefined ? daysFor(room, rate) : undefined,
  };
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Whether `availableBytes` run out within `withinMs` at the forecast rate (exact). */
export function fullWithin(forecast: Forecast, availableBytes: bigint, withinMs: number): boolean {
  if (forecast.kind !== 'rate' || forecast.rate.numerator <= 0n || withinMs <= 0) return false;
  // available / (num / den) < within  ⇔  available · den < within · num  (num, den > 0)
  return availableBytes * forecast.rate.denominator < BigInt(withinMs) * forecast.rate.numerator;
}

/** Bytes the volume grows by in `runwayMs` at the forecast rate, rounded up; 0 when not growing. */
export function runwayBytes(forecast: Forecast, runwayMs: number): bigint {
  if (forecast.kind !== 'rate' || forecast.rate.numerator <= 0n || runwayMs <= 0) return 0n;
  const { numerator, denominator } = forecast.rate;
  const product = numerator * BigInt(runwayMs);
  return (product + denominator - 1n) / denominator;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

/** "26 h", "45 min", "3.5 days": a sample span as people say it. */
export function formatSpan(ms: number): string {
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * DAY_MS) return `${Math.round(ms / 3_600_000)} h`;
  return `${trim(ms / DAY_MS)} days`;
}

function trim(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

const UNITS: readonly [string, number][] = [
  ['TiB', 1024 ** 4],
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
];

/** "4.1 GiB", "512 MiB", "12 B": a growth amount, one decimal. */
export function formatBytesShort(bytes: number): string {
  const size = Math.abs(bytes);
  for (const [unit, scale] of UNITS) {
    if (size >= scale) return `${trim(size / scale)} ${unit}`;
  }
  return `${Math.round(size)} B`;
}

function formatDays(days: number): string {
  const text = trim(days);
  return `${text} ${text === '1' ? 'day' : 'days'}`;
}

/**
 * One line for `explain`, the report and the Event: "growing 4.1 GiB/day, full in 3.2 days,
 * max-size in 40 days; 5 samples over 26 h", or "no forecast: 2 samples, 3 needed".
 */
export function describeForecast(forecast: Forecast): string {
  if (forecast.kind === 'none') return `no forecast: ${forecast.why}`;
  const span = `${forecast.samples} samples over ${formatSpan(forecast.spanMs)}${forecast.source === 'prometheus' ? ' (Prometheus)' : ''}`;
  const { numerator } = forecast.rate;
  if (numerator === 0n) return `flat; ${span}`;
  const speed = `${formatBytesShort(forecast.bytesPerDay)}/day`;
  if (numerator < 0n) return `shrinking ${speed}; ${span}`;
  const parts = [`growing ${speed}`];
  if (forecast.daysUntilFull !== undefined)
    parts.push(`full in ${formatDays(forecast.daysUntilFull)}`);
  if (forecast.daysUntilMaxSize !== undefined)
    parts.push(`max-size in ${formatDays(forecast.daysUntilMaxSize)}`);
  return `${parts.join(', ')}; ${span}`;
}

/** The report's figures of a forecast (outcome.ts), rounded for people: 2 decimals of a day. */
export function forecastFigures(forecast: Forecast): ForecastFigures {
  const round = (days: number | undefined): number | undefined =>
    days === undefined ? undefined : Math.round(days * 100) / 100;
  return forecast.kind === 'none'
    ? {
        growthBytesPerDay: undefined,
        daysUntilFull: undefined,
        daysUntilMaxSize: undefined,
        summary: describeForecast(forecast),
      }
    : {
        growthBytesPerDay: Math.round(forecast.bytesPerDay),
        daysUntilFull: round(forecast.daysUntilFull),
        daysUntilMaxSize: round(forecast.daysUntilMaxSize),
        summary: describeForecast(forecast),
      };
}
