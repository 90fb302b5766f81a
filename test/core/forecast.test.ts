import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  describeForecast,
  FitBuilder,
  fitOf,
  forecastFigures,
  forecastOf,
  fullWithin,
  runwayBytes,
  slopeOf,
  type Forecast,
  type UsageFit,
  type UsagePoint,
} from '../../src/core/forecast.js';

const GiB = 2n ** 30n;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2026-12-01T00:00:00Z').getTime();

/** Points at these hours with these used sizes in GiB (fractions allowed, to the byte). */
function series(...pairs: [hours: number, gib: number][]): UsagePoint[] {
  return pairs.map(([hours, gib]) => ({
    time: new Date(T0 + hours * HOUR),
    usedBytes: BigInt(Math.round(gib * 2 ** 30)),
  }));
}

function forecast(points: UsagePoint[], availableGiB = 10, maxSizeGiB?: number): Forecast {
  const last = points.at(-1)?.usedBytes ?? 0n;
  return forecastOf({
    fit: fitOf(points),
    source: 'samples',
    availableBytes: BigInt(availableGiB) * GiB,
    usedBytes: last,
    maxSizeBytes: maxSizeGiB === undefined ? undefined : BigInt(maxSizeGiB) * GiB,
  });
}

describe('the least-squares slope', () => {
  it.each([
    ['flat', series([0, 5], [6, 5], [12, 5], [18, 5]), 0],
    ['steady growth of 1 GiB a day', series([0, 5], [6, 5.25], [12, 5.5], [18, 5.75]), 2 ** 30],
    ['shrinking 2 GiB a day', series([0, 9], [12, 8], [24, 7]), -(2 ** 31)],
    // Days 0..3 at 10, 12, 11, 15 GiB: slope 7/5 GiB a day (worked by hand).
    ['noisy', series([0, 10], [24, 12], [48, 11], [72, 15]), 1.4 * 2 ** 30],
    // A resize in the middle changes capacity and available, never used: the line stays.
    ['a resize in the middle', series([0, 8], [6, 8.5], [12, 9], [18, 9.5], [24, 10]), 2 * 2 ** 30],
  ])('%s', (_name, points, bytesPerDay) => {
    const result = forecast(points);

    expect(result.kind).toBe('rate');
    if (result.kind === 'rate') expect(result.bytesPerDay).toBeCloseTo(bytesPerDay, 2);
  });

  it('is an exact fraction: the noisy series runs out of 2.8 GiB in exactly 2 days', () => {
    const rate = forecast(series([0, 10], [24, 12], [48, 11], [72, 15]));
    // 1.4 GiB/day × 2 days = 3006477107.2 bytes: one byte either side of the line decides.
    const exact = (14n * GiB * 2n) / 10n;

    expect(fullWithin(rate, exact, 2 * DAY)).toBe(true);
    expect(fullWithin(rate, exact + 1n, 2 * DAY)).toBe(false);
  });

  it('is exact where floats are not: a growth of 1 byte a day on a 8 PiB volume', () => {
    const base = 2n ** 53n;
    const points = [0, 1, 2].map((d) => ({
      time: new Date(T0 + d * DAY),
      usedBytes: base + BigInt(d),
    }));

    expect(slopeOf(fitOf(points))).toEqual({
      numerator: 6n * BigInt(DAY),
      denominator: 6n * BigInt(DAY) ** 2n,
    });
  });

  it('the same times give no slope', () => {
    expect(slopeOf(fitOf(series([0, 1], [0, 2], [0, 3])))).toBeUndefined();
  });
});

/** The fit as bigint sums of every point: what FitBuilder must equal, however it adds. */
function bigintFit(points: readonly [timeMs: number, usedBytes: bigint][]): UsageFit {
  const first = points[0]?.[0] ?? 0;
  const fit = { samples: 0, firstMs: first, lastMs: 0, sx: 0n, sy: 0n, sxx: 0n, sxy: 0n };
  for (const [timeMs, y] of points) {
    const x = BigInt(timeMs) - BigInt(first);
    fit.samples++;
    fit.lastMs = timeMs;
    fit.sx += x;
    fit.sy += y;
    fit.sxx += x * x;
    fit.sxy += x * y;
  }
  return fit;
}

describe('the fit, gathered one point at a time', () => {
  it('is the fit of the same points: x from the first, the span first to last', () => {
    const points = series([0, 10], [24, 12], [48, 11], [72, 15]);
    const builder = new FitBuilder();
    for (const p of points) builder.add(p.time.getTime(), p.usedBytes);

    expect(builder.fit()).toEqual(fitOf(points));
    expect(builder.fit()).toMatchObject({ samples: 4, firstMs: T0, lastMs: T0 + 72 * HOUR });
    expect(fitOf([])).toEqual(bigintFit([]));
  });

  it.each([
    // Sums in doubles past 2^53: 1,000 points of 16 TiB, 6 h apart from the first by the ms.
    [
      'sums past 2^53',
      Array.from({ length: 1000 }, (_, i) => [T0 + i * 21_000, 2n ** 44n + BigInt(i)]),
    ],
    [
      'used bytes past 2^53',
      [
        [T0, 2n ** 60n],
        [T0 + HOUR, 2n ** 53n + 1n],
        [T0 + 2 * HOUR, 5n],
      ],
    ],
    [
      'x at and past 2^26 ms',
      [
        [T0, 7n],
        [T0 + 2 ** 26 - 1, 2n ** 52n],
        [T0 + 2 ** 26, 2n ** 52n],
        [T0 + 30 * DAY, 1n],
      ],
    ],
    [
      'times out of order, x below 0',
      [
        [T0, 1n],
        [T0 - 5 * HOUR, 2n ** 40n],
        [T0 + HOUR, 3n],
      ],
    ],
    [
      'no bytes used',
      [
        [T0, 0n],
        [T0 + HOUR, 0n],
      ],
    ],
  ] as [string, [number, bigint][]][])('equals bigint sums: %s', (_name, points) => {
    const builder = new FitBuilder();
    for (const [timeMs, usedBytes] of points) builder.add(timeMs, usedBytes);

    expect(builder.fit()).toEqual(bigintFit(points));
  });

  it('equals bigint sums for any points, used bytes given as a number or a bigint', () => {
    const point = fc.record({
      dt: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      usedBytes: fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        fc.bigInt({ min: 0n, max: 2n ** 53n }),
      ),
      asNumber: fc.boolean(),
    });
    const start = fc.integer({ min: 0, max: 2 ** 42 });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 80 }), start, (raw, t0) => {
        const builder = new FitBuilder();
        for (const { dt, usedBytes, asNumber } of raw)
          builder.add(
            t0 + dt,
            asNumber && usedBytes <= BigInt(Number.MAX_SAFE_INTEGER)
              ? Number(usedBytes)
              : usedBytes,
          );

        expect(builder.fit()).toEqual(
          bigintFit(raw.map(({ dt, usedBytes }) => [t0 + dt, usedBytes])),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('when there is no forecast, it says so', () => {
  it.each([
    ['no samples', [], 'no forecast: 0 samples, 3 needed'],
    ['two samples', series([0, 1], [6, 2]), 'no forecast: 2 samples, 3 needed'],
    [
      'three samples within 50 minutes',
      series([0, 1], [0.5, 2], [50 / 60, 3]),
      'no forecast: 3 samples over 50 min, at least 1 h needed',
    ],
  ])('%s', (_name, points, line) => {
    const result = forecast(points);

    expect(result.kind).toBe('none');
    expect(describeForecast(result)).toBe(line);
    expect(forecastFigures(result)).toMatchObject({
      growthBytesPerDay: undefined,
      daysUntilFull: undefined,
    });
  });
});

describe('derived figures', () => {
  const growing = series([0, 10], [6, 11], [12, 12], [18, 13], [26, 14 + 1 / 3]);

  it('days until full and until max-size, only when growing', () => {
    const result = forecast(series([0, 10], [12, 12], [24, 14]), 6, 54);

    expect(forecastFigures(result)).toEqual({
      growthBytesPerDay: 4 * 2 ** 30,
      daysUntilFull: 1.5,
      daysUntilMaxSize: 10,
      summary: 'growing 4 GiB/day, full in 1.5 days, max-size in 10 days; 3 samples over 24 h',
    });
  });

  it('no max-size: no days until max-size', () => {
    expect(forecastFigures(forecast(growing)).daysUntilMaxSize).toBeUndefined();
  });

  it.each([
    ['flat', series([0, 5], [6, 5], [12, 5]), 'flat; 3 samples over 12 h'],
    ['shrinking', series([0, 9], [12, 8], [24, 7]), 'shrinking 2 GiB/day; 3 samples over 24 h'],
  ])('%s: neither', (_name, points, line) => {
    const result = forecast(points, 5, 100);

    expect(forecastFigures(result)).toMatchObject({
      daysUntilFull: undefined,
      daysUntilMaxSize: undefined,
      summary: line,
    });
    expect(fullWithin(result, 0n, DAY)).toBe(false);
    expect(runwayBytes(result, 3 * DAY)).toBe(0n);
  });

  it('the explain line', () => {
    const result = forecast(series([0, 10], [6, 11], [12, 12], [18, 13], [26, 14.5]), 13, 180);

    expect(describeForecast(result)).toBe(
      'growing 4.1 GiB/day, full in 3.1 days, max-size in 40.1 days; 5 samples over 26 h',
    );
  });
});

describe('runway and the predictive trigger', () => {
  // 4 GiB a day.
  const fast = forecast(series([0, 10], [12, 12], [24, 14]), 6);

  it.each([
    ['3 days of runway at 4 GiB/day', 3 * DAY, 12n * GiB],
    ['12 hours', 12 * HOUR, 2n * GiB],
    ['off (0)', 0, 0n],
  ])('%s', (_name, runwayMs, bytes) => {
    expect(runwayBytes(fast, runwayMs)).toBe(bytes);
  });

  it('rounds a fractional byte up', () => {
    const odd = forecast(series([0, 0], [24, 0], [48, 1 / 2 ** 30]));

    // 0.5 byte a day over one day: 1 byte, not 0.
    expect(runwayBytes(odd, DAY)).toBe(1n);
  });

  it.each([
    ['6 GiB left, 4 GiB a day: full in 1.5 days, within 2d', 6n * GiB, 2 * DAY, true],
    ['exactly at the line (8 GiB in 2 days) is not within', 8n * GiB, 2 * DAY, false],
    ['a byte less is', 8n * GiB - 1n, 2 * DAY, true],
    ['off (0)', 1n, 0, false],
  ])('%s', (_name, available, withinMs, expected) => {
    expect(fullWithin(fast, available, withinMs)).toBe(expected);
  });
});
