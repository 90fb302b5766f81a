/** The forecast's history from Prometheus: the range query's parameters and its matrix, read exactly. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitBuilder, fitOf, type UsageFit } from '../../src/core/forecast.js';
import { isRecord } from '../../src/core/json.js';
import { err, ok, type Result } from '../../src/core/result.js';
import { readMatrix } from '../../src/stats/prometheus-matrix.js';
import { exactCount, usageHistoryQuery } from '../../src/stats/prometheus-query.js';

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

/**
 * What the range answer said before it was read from bytes: JSON.parse, then each series' points
 * (a number time and a whole-number string value; anything else left out), fitted in order. The
 * reader must agree with it on every answer.
 */
function reference(text: string): Result<Map<string, UsageFit>> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return err('not JSON');
  }
  if (!isRecord(body) || body['status'] !== 'success' || !isRecord(body['data']))
    return err('not a success');
  const { resultType, result } = body['data'];
  if (resultType !== 'matrix' || !Array.isArray(result)) return err('no matrix');
  const fits = new Map<string, UsageFit>();
  for (const entry of result as unknown[]) {
    if (!isRecord(entry) || !isRecord(entry['metric']) || !Array.isArray(entry['values']))
      return err('no labels');
    const { namespace, persistentvolumeclaim: name } = entry['metric'];
    if (typeof namespace !== 'string' || typeof name !== 'string') return err('no labels');
    const fit = new FitBuilder();
    for (const pair of entry['values'] as unknown[]) {
      if (!Array.isArray(pair)) continue;
      const [time, value] = pair as unknown[];
      const usedBytes = typeof value === 'string' ? exactCount(value) : undefined;
      if (typeof time === 'number' && usedBytes !== undefined)
        fit.add(Math.round(time * 1000), usedBytes);
    }
    fits.set(`${namespace}/${name}`, fit.fit());
  }
  return ok(fits);
}

const read = (text: string): Result<Map<string, UsageFit>> => readMatrix(Buffer.from(text, 'utf8'));

/** The same fits as the reference, or an error where it has one. */
function agrees(text: string): void {
  const expected = reference(text);
  const actual = read(text);
  if (expected.ok) expect(actual).toEqual(expected);
  else expect(actual.ok).toBe(false);
}

describe('readMatrix', () => {
  const answer = (result: unknown[], resultType = 'matrix'): string =>
    JSON.stringify({ status: 'success', data: { resultType, result } });

  it('fits each PVC series exactly, past 2^53, leaving out what is no whole number', () => {
    const parsed = read(
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
          fitOf([
            { time: new Date(1764763200_000), usedBytes: 9007199254740993n },
            { time: new Date(1764763920_000), usedBytes: 9007199254740995n },
          ]),
        ],
      ]),
    });
  });

  it('reads Prometheus as it writes: fractional seconds, labels in any order, escapes', () => {
    const text =
      '{"status":"success","data":{"resultType":"matrix","result":[' +
      '{"metric":{"persistentvolumeclaim":"a\\"b","job":"kubelet","namespace":"n\\u00e9"},' +
      '"values":[[1764763200.123,"10"],[1764766800.5,"20"]]}]}}';

    agrees(text);
    expect(read(text)).toMatchObject({
      ok: true,
      value: new Map([['né/a"b', { samples: 2, firstMs: 1764763200123, lastMs: 1764766800500 }]]),
    });
  });

  it.each([
    [
      'the last of two data keys counts',
      '{"data":{"result":[{}]},"status":"success","data":{"resultType":"matrix","result":[]}}',
    ],
    [
      'the last of two values keys counts',
      answer([{ metric: { namespace: 'n', persistentvolumeclaim: 'p' }, values: 1 }]).replace(
        '"values":1',
        '"values":1,"values":[[1764763200,"5"]]',
      ),
    ],
    [
      'the last of two metric keys counts',
      answer([{ metric: { namespace: 'n' }, values: [] }]).replace(
        '"metric":{"namespace":"n"}',
        '"metric":{"namespace":"n","persistentvolumeclaim":"p"},"metric":{"namespace":"n"}',
      ),
    ],
  ])('duplicate keys as JSON.parse reads them: %s', (_name, text) => {
    agrees(text);
  });

  it('reads times as JSON.parse does however they are written: exponents, signs, many decimals', () => {
    const values = [
      '[1.7647632E9,"5"]',
      '[-0,"6"]',
      '[-1764763200.5,"7"]',
      '[1764763200.0001,"8"]',
      '[1764763200.9999,"9"]',
      '[12345678901.5,"10"]',
      '[123456789012.25,"11"]',
      '[1764763200,"0123"]',
      '[1764763200,"1234567890123456"]',
      '[1764763200,"12345678901234567890123456789012"]',
      '[1764763200,"1\\u0030"]',
    ];
    const text = answer([]).replace(
      '[]',
      `[{"metric":{"namespace":"n","persistentvolumeclaim":"p"},"values":[${values.join(',')}]}]`,
    );

    agrees(text);
    expect(read(text)).toMatchObject({ ok: true, value: new Map([['n/p', { samples: 10 }]]) });
  });

  it.each([
    [
      'not a success',
      JSON.stringify({ status: 'error', error: 'bad' }),
      'not a successful Prometheus API response',
    ],
    ['a vector', answer([], 'vector'), 'expected a matrix, got "vector"'],
    [
      'a series without its PVC',
      answer([{ metric: {}, values: [] }]),
      'no namespace and persistentvolumeclaim',
    ],
    ['an HTML page', '<html>', 'the answer is not JSON: '],
    ['a cut answer', answer([]).slice(0, -3), 'the answer is not JSON: '],
    ['more after the answer', `${answer([])} {}`, 'the answer is not JSON: '],
    ['a bad number', answer([]).replace('[]', '[[01,"1"]]'), 'the answer is not JSON: '],
    ['nested past the stack', '['.repeat(200_000), 'the answer is not JSON: '],
  ])('%s is an error, not a throw', (_name, text, message) => {
    const parsed = read(text);

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  // Text a byte reader could mistake for structure, and characters of 2, 3 and 4 UTF-8 bytes.
  const tricky = fc.string({
    unit: fc.constantFrom('"', '[', ']', '{', '}', '\\', ':', ',', ' ', 'values', 'é', 'ボ', '𝄞'),
    maxLength: 8,
  });
  const value = fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
    fc.constantFrom('NaN', '+Inf', '1.5', '-3', '1e3', ''),
    fc.integer(),
    fc.constant(null),
  );
  const time = fc.oneof(
    fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
    fc.double({ min: 1_600_000_000, max: 1_900_000_000, noNaN: true }),
    fc.constantFrom('1764763200', null),
  );
  const point = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(time, value) },
    { weight: 1, arbitrary: fc.tuple(time, value, tricky) },
    { weight: 1, arbitrary: fc.oneof(fc.constant([]), tricky, fc.dictionary(tricky, tricky)) },
  );
  const labels = fc.record(
    { namespace: fc.oneof(tricky, fc.integer()), persistentvolumeclaim: tricky, job: tricky },
    { requiredKeys: [] },
  );
  const series = fc.record(
    { metric: labels, values: fc.array(point, { maxLength: 6 }), extra: tricky },
    { requiredKeys: ['metric', 'values'] },
  );
  const document = fc.record(
    {
      status: fc.oneof({ weight: 9, arbitrary: fc.constant('success') }, tricky),
      data: fc.record(
        {
          resultType: fc.oneof({ weight: 9, arbitrary: fc.constant('matrix') }, tricky),
          result: fc.array(series, { maxLength: 5 }),
          stats: fc.dictionary(tricky, fc.oneof(fc.double(), fc.boolean(), fc.constant(null))),
        },
        { requiredKeys: ['resultType', 'result'] },
      ),
      warnings: fc.array(tricky, { maxLength: 2 }),
    },
    { requiredKeys: ['status', 'data'] },
  );

  it('reads what JSON.parse reads, for any answer, compact or indented', () => {
    fc.assert(
      fc.property(document, fc.boolean(), (doc, indented) => {
        agrees(JSON.stringify(doc, null, indented ? 2 : undefined));
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on a cut answer, and fails where JSON.parse fails', () => {
    fc.assert(
      fc.property(document, fc.nat(), (doc, cut) => {
        const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
        const part = bytes.subarray(0, cut % (bytes.length + 1));
        const actual = readMatrix(part);
        expect(actual.ok).toBe(reference(part.toString('utf8')).ok);
      }),
      { numRuns: 400 },
    );
  });
});
