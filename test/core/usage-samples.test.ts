import { describe, expect, it } from 'vitest';
import {
  appendUsageSample,
  formatUsageSamples,
  parseUsageSamples,
  sampleDue,
  sampleOffsetMs,
  USAGE_SAMPLES_LIMIT,
  type UsageSample,
} from '../../src/core/usage-samples.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-12-01T00:00:00Z');
const at = (hours: number): Date => new Date(T0.getTime() + hours * HOUR);
const sample = (hours: number, usedBytes: bigint): UsageSample => ({
  time: at(hours),
  usedBytes,
});
const seconds = (hours: number): number => T0.getTime() / 1000 + hours * 3600;

describe('the usage-samples annotation', () => {
  it('reads what it writes, oldest first, second precision', () => {
    const samples = [sample(0, 5n * 2n ** 30n), sample(6, 6n * 2n ** 30n)];

    const text = formatUsageSamples(samples);

    expect(text).toBe(`${seconds(0)}:5368709120,${seconds(6)}:6442450944`);
    expect(parseUsageSamples(text)).toEqual({ ok: true, value: samples });
  });

  it('an empty value holds no samples', () => {
    expect(parseUsageSamples('')).toEqual({ ok: true, value: [] });
  });

  it.each([
    ['not a pair', 'abc', 'entry 0 "abc" is not <unix seconds>:<used bytes>'],
    ['a negative size', `${seconds(0)}:-5`, 'is not <unix seconds>:<used bytes>'],
    ['a fraction', `${seconds(0)}:1.5`, 'is not <unix seconds>:<used bytes>'],
    ['a trailing comma', `${seconds(0)}:1,`, 'entry 1 "" is not'],
    ['out of order', `${seconds(6)}:1,${seconds(0)}:2`, 'entry 1 is not later than the one before'],
    ['a repeated time', `${seconds(6)}:1,${seconds(6)}:2`, 'entry 1 is not later'],
    [
      'more than 12',
      Array.from({ length: 13 }, (_, i) => `${seconds(i)}:1`).join(','),
      'holds 13 samples, more than 12',
    ],
    ['megabytes', 'x'.repeat(600), 'is 600 characters long'],
  ])('%s is a problem (a value, not a throw)', (_name, text, message) => {
    const parsed = parseUsageSamples(text);

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  it('keeps the newest 12, and a sample at the same second replaces the last', () => {
    const full = Array.from({ length: USAGE_SAMPLES_LIMIT }, (_, i) => sample(i, BigInt(i)));

    const appended = appendUsageSample(full, sample(20, 99n));
    const replaced = appendUsageSample([sample(0, 1n)], { time: at(0), usedBytes: 2n });

    expect(appended).toHaveLength(USAGE_SAMPLES_LIMIT);
    expect(appended[0]?.usedBytes).toBe(1n);
    expect(appended.at(-1)?.usedBytes).toBe(99n);
    expect(replaced).toEqual([sample(0, 2n)]);
  });
});

describe('the sampling schedule', () => {
  const interval = 6 * HOUR;

  it('the first sample is due at once', () => {
    expect(sampleDue([], { uid: 'a', now: T0, intervalMs: interval })).toBe(true);
  });

  it('is stable per uid and spreads uids over the interval', () => {
    const offsets = Array.from({ length: 1000 }, (_, i) => sampleOffsetMs(`uid-${i}`, interval));
    const buckets = new Array<number>(12).fill(0);
    for (const offset of offsets) buckets[Math.floor(offset / (interval / 12))]! += 1;

    expect(sampleOffsetMs('uid-7', interval)).toBe(offsets[7]);
    // 1000 uids over 12 slices of the interval: none empty, none holding a crowd.
    expect(Math.min(...buckets)).toBeGreaterThan(40);
    expect(Math.max(...buckets)).toBeLessThan(130);
  });

  it('passes every 5 minutes for 3 days write one sample per interval, at the PVC phase', () => {
    for (const uid of ['a', 'b', 'c', 'd']) {
      let samples: UsageSample[] = [];
      const written: number[] = [];
      for (let minute = 0; minute <= 3 * 24 * 60; minute += 5) {
        const now = new Date(T0.getTime() + minute * 60_000);
        if (!sampleDue(samples, { uid, now, intervalMs: interval })) continue;
        samples = appendUsageSample(samples, { time: now, usedBytes: 1n });
        written.push(now.getTime());
      }

      const gaps = written.slice(1).map((t, i) => t - (written[i] ?? 0));
      // First at once, then once per interval: 12 or 13 in 3 days, never closer than half.
      // The second waits for the PVC's boundary, or half an interval when the boundary came
      // sooner; from the third on, each is the first pass after the PVC's own boundary.
      expect(written.length).toBeGreaterThanOrEqual(12);
      expect(written.length).toBeLessThanOrEqual(13);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(interval / 2);
      expect(gaps.slice(1).every((gap) => Math.abs(gap - interval) <= interval / 2)).toBe(true);
      expect(gaps.slice(2).every((gap) => Math.abs(gap - interval) <= 5 * 60_000)).toBe(true);
      const offset = sampleOffsetMs(uid, interval);
      for (const time of written.slice(2))
        expect((((time - offset) % interval) + interval) % interval).toBeLessThan(5 * 60_000);
    }
  });

  it('is not due again within the same interval', () => {
    const samples = [sample(0, 1n)];

    expect(sampleDue(samples, { uid: 'a', now: at(1), intervalMs: interval })).toBe(false);
    expect(sampleDue(samples, { uid: 'a', now: at(13), intervalMs: interval })).toBe(true);
  });
});

describe('an entry of the usage-samples annotation', () => {
  /** The entry's grammar as a regular expression: what the hand-written reader must agree with. */
  const PAIR = /^(\d{1,12}):(\d{1,20})$/;

  it.each([
    '1765094400:5368709120',
    '1:0',
    '123456789012:1',
    '1234567890123:1',
    '1:12345678901234567890',
    '1:123456789012345678901',
    ':5',
    '5:',
    ':',
    '',
    '1:2:3',
    '1::2',
    ' 1:2',
    '1:2 ',
    '+1:2',
    '1:-2',
    '1.5:2',
    '١٢:3',
    '1:0x10',
  ])('%j is read as the grammar says', (entry) => {
    const match = PAIR.exec(entry);

    const parsed = parseUsageSamples(entry);

    if (entry === '') expect(parsed).toEqual({ ok: true, value: [] });
    else if (match === null) expect(parsed.ok).toBe(false);
    else
      expect(parsed).toEqual({
        ok: true,
        value: [{ time: new Date(Number(match[1]) * 1000), usedBytes: BigInt(match[2] ?? '') }],
      });
  });
});
