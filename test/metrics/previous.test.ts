import { describe, expect, it } from 'vitest';
import { renderExposition } from '../../src/metrics/exposition.js';
import { previousFromStream, previousFromText } from '../../src/metrics/previous.js';
import { NO_PREVIOUS_VALUES, planMetrics } from '../../src/metrics/series.js';
import { expanded, outcome, summary } from './builders.js';

const GROUP = { job: 'pvc-chonker', cluster: 'c1' };

/**
 * A Pushgateway 1.5.1 /metrics page, trimmed: the grouping labels sorted in with the others
 * (job, cluster, instance=""), several groups in one family, and its own metrics.
 */
const PAGE = [
  '# HELP go_goroutines Number of goroutines that currently exist.',
  '# TYPE go_goroutines gauge',
  'go_goroutines 14',
  '# HELP pvc_chonker_expansions_total PVC expansions pvc-chonker requested and the API server accepted (action expand).',
  '# TYPE pvc_chonker_expansions_total counter',
  'pvc_chonker_expansions_total{cluster="c1",instance="",job="pvc-chonker",namespace="n",provider="aws",pvc="p"} 3',
  'pvc_chonker_expansions_total{cluster="other",instance="",job="pvc-chonker",namespace="n",provider="aws",pvc="p"} 99',
  'pvc_chonker_expansions_total{cluster="c1",instance="",job="pvc-chonker-shard-1",namespace="n",provider="aws",pvc="p"} 98',
  'pvc_chonker_expansions_total{cluster="c1",instance="pod-1",job="pvc-chonker",namespace="n",provider="aws",pvc="p"} 97',
  'pvc_chonker_expansions_total{cluster="c1",instance="",job="pvc-chonker",namespace="n",provider="gcp"} 5',
  '# HELP pvc_chonker_last_success_timestamp_seconds Unix time the last successful run finished; 0 if none is known.',
  '# TYPE pvc_chonker_last_success_timestamp_seconds gauge',
  'pvc_chonker_last_success_timestamp_seconds{cluster="c1",instance="",job="pvc-chonker"} 1.7956690804667735e+09',
  'pvc_chonker_last_success_timestamp_seconds{cluster="other",instance="",job="pvc-chonker"} 1',
  '# TYPE pvc_chonker_pvc_used_ratio gauge',
  'pvc_chonker_pvc_used_ratio{cluster="c1",instance="",job="pvc-chonker",namespace="n",pvc="p"} 0.5',
  '# TYPE pvc_chonker_runs_total counter',
  'pvc_chonker_runs_total{cluster="c1",instance="",job="pvc-chonker",status="a\\"b\\\\c"} 4',
  'pvc_chonker_runs_total{cluster="c1",instance="",job="pvc-chonker",status="ok"} not-a-number',
  'pvc_chonker_runs_total{cluster="c1",instance="",job="pvc-chonker",status="neg"} -1',
  'pvc_chonker_max_size_reached_total{cluster="c1",instance="",job="pvc-chonker",extra="x",namespace="n",pvc="p"} 9',
  'pvc_chonker_max_size_reached_total{cluster="c1",job="pvc-chonker",namespace="n",pvc="p" 9',
  '# TYPE push_time_seconds gauge',
  'push_time_seconds{cluster="c1",instance="",job="pvc-chonker"} 1.7956690804667735e+09',
  '',
].join('\n');

describe('previous values from the Pushgateway /metrics page', () => {
  it('reads the counters and last success of exactly our group, in canonical label order', () => {
    const previous = previousFromText(PAGE, GROUP);

    expect(previous?.lastSuccessSeconds).toBeCloseTo(1795669080.4667735);
    expect([...(previous?.counters.get('pvc_chonker_expansions_total') ?? [])]).toEqual([
      ['namespace="n",pvc="p",provider="aws"', 3],
      ['namespace="n",provider="gcp"', 5],
    ]);
    expect(previous?.counters.has('pvc_chonker_pvc_used_ratio')).toBe(false);
  });

  it('keeps escaped label values as they are and skips bad values and label sets', () => {
    const previous = previousFromText(PAGE, GROUP);

    expect([...(previous?.counters.get('pvc_chonker_runs_total') ?? [])]).toEqual([
      ['status="a\\"b\\\\c"', 4],
    ]);
    expect(previous?.counters.has('pvc_chonker_max_size_reached_total')).toBe(false);
  });

  it('no sample of our group: undefined (an empty or restarted Pushgateway)', () => {
    expect(previousFromText(PAGE, { job: 'pvc-chonker', cluster: 'c2' })).toBeUndefined();
    expect(previousFromText('', GROUP)).toBeUndefined();
  });

  it('reads a stream cut anywhere, even inside a line or a UTF-8 character', async () => {
    const bytes = new TextEncoder().encode(
      PAGE.replace('status="ok"', 'status="ø"').replace('not-a-number', '6'),
    );
    const pieces = (): ReadableStream<Uint8Array> =>
      new ReadableStream({
        start(controller) {
          for (let start = 0; start < bytes.length; start += 7)
            controller.enqueue(bytes.slice(start, start + 7));
          controller.close();
        },
      });

    const previous = await previousFromStream(pieces(), GROUP);

    expect([...(previous?.counters.get('pvc_chonker_runs_total') ?? [])]).toEqual([
      ['status="a\\"b\\\\c"', 4],
      ['status="ø"', 6],
    ]);
    expect(previous?.lastSuccessSeconds).toBeCloseTo(1795669080.4667735);
  });
});

describe('previous values from a metrics file', () => {
  it('round-trips the counters of our own exposition', () => {
    const run = summary([
      expanded('web', { provider: 'aws' }),
      outcome({ name: 'db', namespace: 'data', action: 'error', reason: 'api-error' }),
    ]);
    const text = renderExposition(planMetrics(run, NO_PREVIOUS_VALUES, 'all'));

    const previous = previousFromText(text);

    expect(previous?.lastSuccessSeconds).toBe(run.finishedAt.getTime() / 1000);
    expect([...(previous?.counters.get('pvc_chonker_expansions_total') ?? [])]).toEqual([
      ['namespace="default",pvc="web",provider="aws"', 1],
      ['namespace="data",pvc="db",provider="generic"', 0],
    ]);
    expect([...(previous?.counters.get('pvc_chonker_expansion_failures_total') ?? [])]).toEqual([
      ['namespace="data",pvc="db",reason="api-error"', 1],
    ]);
  });

  it('ignores comments and junk', () => {
    const text = ['# HELP pvc_chonker_runs_total x', 'garbage line {', 'pvc_chonker_runs_total 1'];

    expect(previousFromText(text.join('\n'))?.counters.get('pvc_chonker_runs_total')).toBe(
      undefined,
    );
  });
});
