import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { parsePercent, percentOf, reachesPercent } from '../../src/core/percent.js';

describe('parsePercent', () => {
  it.each([
    ['80%', 100, 80n, 1n],
    ['12.5%', 100, 125n, 10n],
    ['100%', 100, 100n, 1n],
    ['250%', 1000, 250n, 1n],
  ])('%s (max %d) is %d/%d', (text, max, numerator, denominator) => {
    expect(parsePercent(text, max)).toEqual({ ok: true, value: { text, numerator, denominator } });
  });

  it.each([
    ['eighty', 100],
    ['80', 100],
    ['-5%', 100],
    ['150%', 100],
    ['0%', 100],
    ['1.1234567%', 100],
    ['%', 100],
  ])('%j is rejected', (text, max) => {
    const parsed = parsePercent(text, max);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(text);
  });
});

describe('percent arithmetic is exact', () => {
  const eighty = { text: '80%', numerator: 80n, denominator: 1n };
  it.each([
    [80n, 100n, true],
    [79n, 100n, false],
    // One byte short of 80% of 5 * 2^58 bytes: a double would round this to "reached".
    [(4n << 58n) - 1n, 5n << 58n, false],
    [4n << 58n, 5n << 58n, true],
  ])('%d of %d reaches 80%%: %s', (part, whole, expected) => {
    expect(reachesPercent(part, whole, eighty)).toBe(expected);
  });

  it('percentOf rounds up', () => {
    expect(percentOf(105n, { text: '10%', numerator: 10n, denominator: 1n })).toBe(11n);
    expect(percentOf(100n, { text: '10%', numerator: 10n, denominator: 1n })).toBe(10n);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30m', 1_800_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['0s', 0],
    ['0', 0],
    ['1.5h', 5_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each(['', '15', 'soon', '-5m', '1w', '5 m', '400d'])('%j is rejected', (text) => {
    expect(parseDuration(text).ok).toBe(false);
  });

  it.each([
    [899_000, '14m59s'],
    [3_600_000, '1h'],
    [90_000_000, '1d1h'],
    [0, '0s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
