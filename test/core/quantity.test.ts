import { describe, expect, it } from 'vitest';
import { formatQuantity, GiB, parseQuantity, roundUpToGiB } from '../../src/core/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['10Gi', 10n * GiB],
    ['1Ki', 1024n],
    ['1.5Gi', 1610612736n],
    ['500M', 500_000_000n],
    ['1G', 1_000_000_000n],
    ['1k', 1000n],
    ['1073741824', GiB],
    ['0', 0n],
    ['1e3', 1000n],
    ['1E3', 1000n],
    ['1E', 1_000_000_000_000_000_000n],
    ['100m', 1n], // 0.1 byte rounds up, as Quantity.Value() does
    ['1500m', 2n],
    ['.5Ki', 512n],
    ['+1Mi', 1048576n],
    ['7Ei', 7n * 1024n ** 6n],
    ['9007199254740993', 9007199254740993n], // 2^53 + 1 stays exact
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseQuantity(text)).toEqual({ ok: true, value: bytes });
  });

  it.each([
    '',
    '10Gx',
    'eighty',
    '10 Gi',
    ' 10Gi',
    '-5Gi',
    '10GiB',
    'Gi',
    '1.2.3',
    '8Ei',
    '1e99',
    '0x10',
  ])('%j is rejected with a message naming it', (text) => {
    const parsed = parseQuantity(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(JSON.stringify(text));
  });
});

describe('formatQuantity', () => {
  it.each([
    [0n, '0'],
    [10n * GiB, '10Gi'],
    [1536n * 1024n * 1024n, '1536Mi'],
    [1024n ** 4n, '1Ti'],
    [1000n, '1000'],
    [1623168045056n, '1585125044Ki'],
  ])('%d is %s', (bytes, text) => {
    expect(formatQuantity(bytes)).toBe(text);
  });
});

describe('roundUpToGiB', () => {
  it.each([
    [0n, 0n],
    [1n, GiB],
    [GiB, GiB],
    [GiB + 1n, 2n * GiB],
  ])('%d -> %d', (bytes, rounded) => {
    expect(roundUpToGiB(bytes)).toBe(rounded);
  });
});
