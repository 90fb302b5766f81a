/** The forecast's history from Prometheus: the range query's parameters and its matrix, read exactly. */
import { describe, expect, it } from 'vitest';
import { parseMatrix, usageHistoryQuery } from '../../src/stats/prometheus-query.js';

const END = Date.parse('2026-12-03T12:00:00Z');

describe('usageHistoryQuery', () => {
  it.each([
    ['6h: a point every 6 minutes', 6 * 3_600_000, '360'],
    ['1d: every 24 minutes', 86_400_000, '1440'],
    ['30m: never closer than a minute', 1_800_000, '60'],
  ])('%s', (_name, windowMs, step) => {
    const params = usageHistoryQuery('job="kubelet"', END, windowMs);

    expect(params).toEqual({
      query:
        'max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{job="kubelet"})',
      start: String((END - windowMs) / 1000),
      end: String(END / 1000),
      step,
    });
  });
});

describe('parseMatrix', () => {
  const answer = (result: unknown[], resultType = 'matrix'): unknown => ({
    status: 'success',
    data: { resultType, result },
  });

  it('reads each PVC series exactly, past 2^53, leaving out what is no whole number', () => {
    const parsed = parseMatrix(
      answer([
        {
          metric: { namespace: 'db', persistentvolumeclaim: 'data' },
          values: [
            [1764763200, '9007199254740993'],
            [1764763560.5, 'NaN'],
            [1764763920, '9007199254740995'],
          ],
        },
      ]),
    );

    expect(parsed).toEqual({
      ok: true,
      value: new Map([
        [
          'db/data',
          [
            { time: new Date(1764763200_000), usedBytes: 9007199254740993n },
            { time: new Date(1764763920_000), usedBytes: 9007199254740995n },
          ],
        ],
      ]),
    });
  });

  it.each([
    [
      'not a success',
      { status: 'error', error: 'bad' },
      'not a successful Prometheus API response',
    ],
    ['a vector', answer([], 'vector'), 'expected a matrix, got "vector"'],
    [
      'a series without its PVC',
      answer([{ metric: {}, values: [] }]),
      'no namespace and persistentvolumeclaim',
    ],
  ])('%s is an error, not a throw', (_name, body, message) => {
    const parsed = parseMatrix(body);

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });
});
