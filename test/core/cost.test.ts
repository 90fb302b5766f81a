import { describe, expect, it } from 'vitest';
import {
  addUsd,
  compareUsd,
  formatPrice,
  formatUsd,
  monthlyCost,
  parseUsd,
  subUsd,
  sumUsd,
  type Usd,
} from '../../src/core/cost.js';
import { GiB, MiB } from '../../src/core/quantity.js';

function usd(text: string): Usd {
  const parsed = parseUsd(text);
  if (parsed === undefined) throw new Error(`not a price: ${text}`);
  return parsed;
}

describe('parseUsd', () => {
  it.each([
    ['0.08', { num: 8n, den: 100n }],
    ['0.10', { num: 10n, den: 100n }],
    ['1', { num: 1n, den: 1n }],
    ['0.132001953125', { num: 132001953125n, den: 10n ** 12n }],
    ['135.17', { num: 13517n, den: 100n }],
  ])('%s', (text, value) => {
    expect(parseUsd(text)).toEqual(value);
  });

  it.each(['', '-0.08', '+1', '1e-3', '0.1234567890123', '.5', '5.', ' 1', '1,5', 'NaN'])(
    '%j is not a price',
    (text) => {
      expect(parseUsd(text)).toBeUndefined();
    },
  );
});

describe('monthlyCost and formatUsd', () => {
  it.each([
    ['20Gi of gp3 at 0.08', 20n * GiB, '0.08', '1.60'],
    ['1Gi of sc1 at 0.015 rounds half up', GiB, '0.015', '0.02'],
    [
      'a 1 TiB Premium SSD at the P30-derived price is $135.17',
      1024n * GiB,
      '0.132001953125',
      '135.17',
    ],
    ['20Gi at the P30-derived price', 20n * GiB, '0.132001953125', '2.64'],
    ['nothing costs nothing', 0n, '0.10', '0.00'],
    ['512Mi at 0.10', 512n * MiB, '0.10', '0.05'],
    ['1 byte at 0.10', 1n, '0.10', '0.00'],
    ['16 TiB of io2', 16n * 1024n * GiB, '0.125', '2048.00'],
  ])('%s: $%s', (_, bytes, price, text) => {
    expect(formatUsd(monthlyCost(bytes, usd(price)))).toBe(text);
  });

  it('sums exactly and rounds once: 3 × 1Gi at 0.015 is 0.05, not 3 × 0.02', () => {
    const one = monthlyCost(GiB, usd('0.015'));

    expect(formatUsd(sumUsd([one, one, one]))).toBe('0.05');
  });

  it('sums 10,000 volumes exactly: 10,000 × 3Gi at 0.015 is $450.00 (cent by cent it would be $500.00)', () => {
    const each = monthlyCost(3n * GiB, usd('0.015'));

    const total = sumUsd(Array.from({ length: 10_000 }, () => each));

    expect(formatUsd(each)).toBe('0.05');
    expect(formatUsd(total)).toBe('450.00');
  });

  it.each([
    ['-25/100', -25n, 100n, '-0.25'],
    ['-1/1000', -1n, 1000n, '0.00'],
    ['5/1000', 5n, 1000n, '0.01'],
    ['1/3', 1n, 3n, '0.33'],
    ['2/3', 2n, 3n, '0.67'],
  ])('%s is %s', (_, num, den, text) => {
    expect(formatUsd({ num, den })).toBe(text);
  });

  it('adds, subtracts and compares across denominators', () => {
    const a = usd('0.10');
    const b = usd('0.015');

    expect(formatUsd(subUsd(a, b), 3)).toBe('0.085');
    expect(formatUsd(addUsd(a, b), 3)).toBe('0.115');
    expect(compareUsd(a, b)).toBe(1);
    expect(compareUsd(b, a)).toBe(-1);
    expect(compareUsd(usd('0.1'), usd('0.100'))).toBe(0);
  });
});

describe('formatPrice', () => {
  it.each([
    ['0.08', '0.08'],
    ['0.10', '0.10'],
    ['0.125', '0.125'],
    ['0.015', '0.015'],
    ['0.132001953125', '0.132001953125'],
    ['1', '1.00'],
    ['0.0800', '0.08'],
  ])('%s is shown as %s', (text, shown) => {
    expect(formatPrice(usd(text))).toBe(shown);
  });
});
