import { describe, expect, it } from 'vitest';
import { renderExposition } from '../../src/metrics/exposition.js';
import { previousFromApi, previousFromText } from '../../src/metrics/previous.js';
import { buildFamilies, NO_PREVIOUS_VALUES } from '../../src/metrics/series.js';
import { expanded, outcome, summary } from './builders.js';

/** Shape of a real Pushgateway 1.5.1 GET /api/v1/metrics reply, trimmed. */
function apiReply(cluster: string, value: string) {
  const labels = { cluster, instance: '', job: 'pvc-chonker' };
  return {
    status: 'success',
    data: [
      {
        labels: { cluster, job: 'pvc-chonker' },
        last_push_successful: true,
        pvc_chonker_expansions_total: {
          time_stamp: '2026-11-26T04:58:00.466773605Z',
          type: 'COUNTER',
          help: 'x',
          metrics: [{ labels: { ...labels, namespace: 'n', pvc: 'p', provider: 'aws' }, value }],
        },
        pvc_chonker_last_success_timestamp_seconds: {
          time_stamp: '2026-11-26T04:58:00.466773605Z',
          type: 'GAUGE',
          metrics: [{ labels, value: '1.7956690804667735e+09' }],
        },
        pvc_chonker_pvc_used_ratio: {
          type: 'GAUGE',
          metrics: [{ labels: { ...labels, namespace: 'n', pvc: 'p' }, value: '0.5' }],
        },
        push_time_seconds: {
          type: 'GAUGE',
          metrics: [{ labels, value: '1.7956690804667735e+09' }],
        },
      },
    ],
  };
}

describe('previousFromApi', () => {
  it('reads the counters and last success of exactly our group, without grouping labels', () => {
    const body = {
      status: 'success',
      data: [...apiReply('other', '99').data, ...apiReply('c1', '3').data],
    };

    const result = previousFromApi(body, { job: 'pvc-chonker', cluster: 'c1' });

    expect(result.ok).toBe(true);
    const previous = result.ok ? result.value : undefined;
    expect(previous?.lastSuccessSeconds).toBeCloseTo(1795669080.4667735);
    expect(previous?.counters.get('pvc_chonker_expansions_total')).toEqual([
      { labels: { namespace: 'n', pvc: 'p', provider: 'aws' }, value: 3 },
    ]);
    expect(previous?.counters.has('pvc_chonker_pvc_used_ratio')).toBe(false);
  });

  it('no such group: ok(undefined)', () => {
    expect(previousFromApi(apiReply('c1', '3'), { job: 'pvc-chonker', cluster: 'c2' })).toEqual({
      ok: true,
      value: undefined,
    });
    expect(
      previousFromApi({ status: 'success', data: [] }, { job: 'pvc-chonker', cluster: 'c2' }),
    ).toEqual({ ok: true, value: undefined });
  });

  it.each([null, 'text', { status: 'error' }, { status: 'success', data: {} }])(
    'rejects a malformed reply %j',
    (body) => {
      expect(previousFromApi(body, { job: 'j', cluster: 'c' }).ok).toBe(false);
    },
  );

  it('skips malformed samples', () => {
    const body = apiReply('c1', 'NaN-ish');

    const result = previousFromApi(body, { job: 'pvc-chonker', cluster: 'c1' });

    expect(result.ok && result.value?.counters.get('pvc_chonker_expansions_total')).toBeUndefined();
  });
});

describe('previousFromText', () => {
  it('round-trips the counters of our own exposition', async () => {
    const run = summary([
      expanded('web', { provider: 'aws' }),
      outcome({ name: 'db', namespace: 'data', action: 'error', reason: 'api-error' }),
    ]);
    const { text } = await renderExposition(buildFamilies(run, NO_PREVIOUS_VALUES));

    const previous = previousFromText(text);

    expect(previous.lastSuccessSeconds).toBe(run.finishedAt.getTime() / 1000);
    expect(previous.counters.get('pvc_chonker_expansions_total')).toEqual([
      { labels: { pvc: 'web', namespace: 'default', provider: 'aws' }, value: 1 },
      { labels: { pvc: 'db', namespace: 'data', provider: 'generic' }, value: 0 },
    ]);
    expect(previous.counters.get('pvc_chonker_expansion_failures_total')).toEqual([
      { labels: { pvc: 'db', namespace: 'data', reason: 'api-error' }, value: 1 },
    ]);
  });

  it('reads escaped label values and ignores comments and junk', () => {
    const text = [
      '# HELP pvc_chonker_runs_total x',
      'pvc_chonker_runs_total{status="a\\"b\\\\c"} 4',
      'garbage line {',
      'pvc_chonker_runs_total{status="ok"} not-a-number',
    ].join('\n');

    const previous = previousFromText(text);

    expect(previous.counters.get('pvc_chonker_runs_total')).toEqual([
      { labels: { status: 'a"b\\c' }, value: 4 },
    ]);
  });
});
