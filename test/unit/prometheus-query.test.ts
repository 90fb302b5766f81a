import { describe, expect, it } from 'vitest';
import { err, ok } from '../../src/core/result.js';
import {
  exactCount,
  freshnessQuery,
  parseSelector,
  parseVector,
  volumeQuery,
  volumeStatsOf,
  type VolumeValues,
} from '../../src/stats/prometheus-query.js';

/** An instant vector answer as Prometheus' /api/v1/query gives it. */
function vector(samples: [ns: string, pvc: string, value: string][], time = 1_700_000_000.5) {
  return {
    status: 'success',
    data: {
      resultType: 'vector',
      result: samples.map(([namespace, persistentvolumeclaim, value]) => ({
        metric: { namespace, persistentvolumeclaim },
        value: [time, value],
      })),
    },
  };
}

function values(
  entries: Partial<Record<keyof VolumeValues, string>>,
  key = 'db/data',
): VolumeValues {
  const map = (field: keyof VolumeValues): Map<string, string> => {
    const text = entries[field];
    return new Map(text === undefined ? [] : [[key, text]]);
  };
  return {
    capacityBytes: map('capacityBytes'),
    availableBytes: map('availableBytes'),
    usedBytes: map('usedBytes'),
    inodes: map('inodes'),
    inodesFree: map('inodesFree'),
    inodesUsed: map('inodesUsed'),
  };
}

describe('the queries', () => {
  it('fold a PVC’s series with max by its labels, selector inside the braces', () => {
    expect(volumeQuery('availableBytes', 'job="kubelet"')).toBe(
      'max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{job="kubelet"})',
    );
    expect(volumeQuery('inodesUsed', '')).toBe(
      'max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_inodes_used)',
    );
    expect(freshnessQuery('job="kubelet"')).toBe(
      'max by (namespace, persistentvolumeclaim) (timestamp(kubelet_volume_stats_capacity_bytes{job="kubelet"}))',
    );
  });
});

describe('parseVector', () => {
  it('keys each sample by namespace/name and keeps the value text', () => {
    expect(parseVector(vector([['db', 'data', '10737418240']]))).toEqual(
      ok({ evaluatedAt: 1_700_000_000.5, values: new Map([['db/data', '10737418240']]) }),
    );
  });

  it.each([
    ['an error answer', { status: 'error', errorType: 'bad_data', error: 'x' }],
    ['a matrix', { status: 'success', data: { resultType: 'matrix', result: [] } }],
    [
      'a sample without the PVC labels',
      {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [1, '1'] }] },
      },
    ],
    [
      'a value that is not a string',
      {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [{ metric: { namespace: 'a', persistentvolumeclaim: 'b' }, value: [1, 1] }],
        },
      },
    ],
  ])('refuses %s', (_name, body) => {
    expect(parseVector(body).ok).toBe(false);
  });
});

describe('exactCount', () => {
  it.each<[string, bigint | undefined]>([
    ['0', 0n],
    ['10737418240', 10_737_418_240n],
    // Above 2^53: the digits Prometheus prints are kept as they are, not rounded again.
    ['9007199254740993', 9_007_199_254_740_993n],
    ['1.073741824e+10', undefined],
    ['12.5', undefined],
    ['-1', undefined],
    ['NaN', undefined],
    ['+Inf', undefined],
    ['', undefined],
  ])('%s → %s', (text, count) => {
    expect(exactCount(text)).toBe(count);
  });
});

describe('volumeStatsOf', () => {
  it('builds the stats of the Summary API, exactly', () => {
    const stats = volumeStatsOf(
      values({
        capacityBytes: '1623168045056',
        availableBytes: '1622958559232',
        usedBytes: '192700416',
        inodes: '100663296',
        inodesFree: '100663285',
        inodesUsed: '11',
      }),
      'db/data',
    );

    expect(stats).toEqual(
      ok({
        capacityBytes: 1_623_168_045_056n,
        availableBytes: 1_622_958_559_232n,
        usedBytes: 192_700_416n,
        inodes: 100_663_296n,
        inodesFree: 100_663_285n,
        inodesUsed: 11n,
      }),
    );
  });

  it('derives used bytes and reads zero inodes as not reported, as the Summary parser does', () => {
    expect(
      volumeStatsOf(values({ capacityBytes: '100', availableBytes: '40', inodes: '0' }), 'db/data'),
    ).toEqual(
      ok({
        capacityBytes: 100n,
        availableBytes: 40n,
        usedBytes: 60n,
        inodes: undefined,
        inodesFree: undefined,
        inodesUsed: undefined,
      }),
    );
  });

  it.each<[string, Partial<Record<keyof VolumeValues, string>>, string]>([
    ['no available bytes', { capacityBytes: '100' }, 'no kubelet_volume_stats_available_bytes'],
    ['a fraction', { capacityBytes: '100.5', availableBytes: '1' }, '"100.5", not a whole number'],
    [
      'NaN inodes',
      { capacityBytes: '100', availableBytes: '1', inodes: 'NaN' },
      'kubelet_volume_stats_inodes "NaN"',
    ],
  ])('refuses %s', (_name, entries, message) => {
    const stats = volumeStatsOf(values(entries), 'db/data');

    expect(stats.ok ? '' : stats.error).toContain(message);
  });
});

describe('parseSelector', () => {
  it.each<[string, ReturnType<typeof parseSelector>]>([
    ['', ok('')],
    ['job="kubelet"', ok('job="kubelet"')],
    [' job = "kubelet" , cluster!~`eu-.*`,', ok('job="kubelet", cluster!~`eu-.*`')],
    ['a="x\\"y"', ok('a="x\\"y"')],
    ['job=kubelet', err('expected a quoted value after job=')],
    ['job="kubelet" cluster="a"', err('expected , between matchers at "cluster=\\"a\\""')],
    ['job<"x"', err('expected =, !=, =~ or !~ after job')],
    ['job="unterminated', err('expected a quoted value after job=')],
    ['} or vector(1) {', err('expected a label name at "} or vector(1) {"')],
  ])('%j', (text, result) => {
    expect(parseSelector(text)).toEqual(result);
  });
});
