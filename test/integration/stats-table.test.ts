/**
 * One table, three sources, both clusters: the same fleet read through `kubelet` (each node's
 * kubelet, directly), `kubelet-proxy` (the API server's node proxy) and `prometheus` (Debian's
 * real Prometheus scraping the same kubelets' /metrics over HTTPS with a token they authorize)
 * gives identical decisions, sizes and details. The CLI runs as the test's user, who may do
 * anything: what each source needs is stats-sources.test.ts's (and the real tier's
 * stats-profiles.test.ts's) question, not this one's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPrometheus } from '../../bench/prometheus-processes.js';
import { report } from './harness.js';
import {
  TABLE_FLEET,
  fleetSeed,
  havePrometheus,
  queryPrometheus,
  startKubeletPrometheus,
  untilScraped,
} from './prometheus-fixture.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

const HAVE_PROMETHEUS = havePrometheus('stats-table.test.ts');

/** Prometheus' identity on both clusters, allowed everything (the kubelets ask nodes/metrics). */
const PROMETHEUS_TOKEN = 'prometheus-token';

const SCRAPED = TABLE_FLEET.filter((c) => c.unmounted !== true).length;

type Row = Record<string, unknown>;

/** A row without its source, and without the seconds a cooldown's detail counts. */
function decided(row: Row): Row {
  const detail = String(row['detail']).replace(
    /last expansion \S+ ago, cooldown (\S+) \(\S+ left\)/,
    'last expansion … ago, cooldown $1 (… left)',
  );
  return Object.fromEntries(Object.entries({ ...row, detail }).filter(([key]) => key !== 'source'));
}

describe.skipIf(!HAVE_PROMETHEUS)('the same fleet through the three sources', () => {
  let cluster: TestCluster;
  let prometheus: RunningPrometheus | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster(fleetSeed(TABLE_FLEET), {
      tokens: { [PROMETHEUS_TOKEN]: 'prometheus' },
    });
    const { targets, caPem } = cluster.kubeletTargets();
    const started = await startKubeletPrometheus({
      dir: cluster.dir,
      caFile: 'kubelet-ca.pem',
      caPem,
      token: PROMETHEUS_TOKEN,
      targets: Object.values(targets),
    });
    prometheus = started;
    // Until Prometheus holds two samples of every mounted volume.
    await untilScraped(
      started,
      async () =>
        (
          await queryPrometheus(
            started,
            'count_over_time(kubelet_volume_stats_capacity_bytes{namespace="db"}[1m]) >= 2',
          )
        ).length === SCRAPED,
    );
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    // Unset when beforeAll failed before the cluster started.
    await (cluster as TestCluster | undefined)?.close();
  });

  it('gives identical decisions, sizes and details', async () => {
    const runs: Record<string, Row[]> = {};
    for (const source of ['kubelet', 'kubelet-proxy', 'prometheus']) {
      const args = ['--output', 'json', '--dry-run', '--stats-source', source];
      if (source === 'prometheus') args.push('--prometheus-url', prometheus?.url.href ?? '');
      const result = await cluster.cli(args, { PVC_CHONKER_LOG_LEVEL: 'warn' });
      expect(result.code, result.stderr).toBe(0);
      runs[source] = report(result);
    }
    const { kubelet = [], 'kubelet-proxy': proxy = [], prometheus: fromPrometheus = [] } = runs;

    // The table covers every verdict the usage drives.
    expect(
      Object.fromEntries(
        kubelet.map((r) => [r['name'], `${String(r['action'])}:${String(r['reason'])}`]),
      ),
    ).toEqual({
      big: 'would-expand:threshold-reached',
      calm: 'skip:below-threshold',
      capped: 'skip:max-size-reached',
      cooling: 'skip:cooldown',
      full: 'would-expand:threshold-reached',
      inodes: 'would-expand:threshold-reached',
      quantity: 'would-expand:threshold-reached',
      resized: 'skip:stats-stale',
      unmounted: 'skip:metrics-unavailable',
    });
    const sources = (rows: Row[]): unknown[] =>
      rows.filter((r) => r['name'] !== 'unmounted').map((r) => r['source']);
    expect(sources(kubelet)).toEqual(Array(SCRAPED).fill('kubelet'));
    expect(sources(proxy)).toEqual(Array(SCRAPED).fill('kubelet-proxy'));
    expect(sources(fromPrometheus)).toEqual(Array(SCRAPED).fill('prometheus'));
    expect(proxy.map(decided)).toEqual(kubelet.map(decided));
    expect(fromPrometheus.map(decided)).toEqual(kubelet.map(decided));
  });
});
