/**
 * One table, three sources, both clusters: the same fleet read through `kubelet` (each node's
 * kubelet, directly), `kubelet-proxy` (the API server's node proxy) and `prometheus` (Debian's
 * real Prometheus scraping the same kubelets' /metrics over HTTPS with a token they authorize)
 * gives identical decisions, sizes and details. The CLI runs as the test's user, who may do
 * anything: what each source needs is stats-sources.test.ts's (and the real tier's
 * stats-profiles.test.ts's) question, not this one's.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROMETHEUS_BIN,
  startPrometheusWith,
  type RunningPrometheus,
} from '../../bench/prometheus-processes.js';
import { report, seed, type Claim } from './harness.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

const HAVE_PROMETHEUS = ((): boolean => {
  try {
    execFileSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!HAVE_PROMETHEUS)
  process.stderr.write(
    'stats-table.test.ts skipped: no prometheus; run scripts/install-system-deps.sh\n',
  );

/** Every verdict the usage drives, in namespace db. */
const FLEET: Claim[] = [
  { name: 'full', usedPercent: 95, node: 'node-a' },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-a' },
  {
    name: 'quantity',
    usedPercent: 85,
    annotations: { 'pvc-chonker.io/threshold': '2Gi' },
    node: 'node-a',
  },
  {
    name: 'capped',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/max-size': '10Gi' },
    node: 'node-b',
  },
  {
    name: 'cooling',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/last-expansion': new Date(Date.now() - 60_000).toISOString() },
    node: 'node-b',
  },
  { name: 'resized', usedPercent: 50, sizeGi: 20, node: 'node-b' },
  { name: 'big', usedPercent: 88, sizeGi: 3000, node: 'node-b' },
  { name: 'unmounted', usedPercent: 95, unmounted: true },
];
/** Prometheus' identity on both clusters, allowed everything (the kubelets ask nodes/metrics). */
const PROMETHEUS_TOKEN = 'prometheus-token';

const SCRAPED = FLEET.filter((c) => c.unmounted !== true).length;

/** The seed: the fleet, a 2 GiB filesystem overhead on `resized` (kubelet capacity lags). */
function fleetSeed(): ReturnType<typeof seed> {
  const fleet = seed(FLEET);
  const resized = fleet.usage.find((u) => u.pvc === 'resized');
  if (resized !== undefined) Object.assign(resized, { fsOverheadBytes: 2 * 1024 ** 3 });
  return fleet;
}

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

  /** Until Prometheus holds two samples of every mounted volume. */
  async function scraped(): Promise<void> {
    const url = new URL('api/v1/query', prometheus?.url);
    url.searchParams.set(
      'query',
      'count_over_time(kubelet_volume_stats_capacity_bytes{namespace="db"}[1m]) >= 2',
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await (await fetch(url)).json()) as { data: { result: unknown[] } };
      if (body.data.result.length === SCRAPED) return;
      if (Date.now() > deadline)
        throw new Error(`prometheus did not scrape: ${prometheus?.output() ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    cluster = await startTestCluster(fleetSeed(), {
      tokens: { [PROMETHEUS_TOKEN]: 'prometheus' },
    });
    const { targets, caPem } = cluster.kubeletTargets();
    const caFile = join(cluster.dir, 'kubelet-ca.pem');
    await writeFile(caFile, caPem);
    prometheus = await startPrometheusWith({
      global: { scrape_interval: '1s' },
      scrape_configs: [
        {
          job_name: 'kubelet',
          honor_labels: true,
          scheme: 'https',
          tls_config: { ca_file: caFile },
          authorization: { credentials: PROMETHEUS_TOKEN },
          static_configs: [{ targets: Object.values(targets) }],
        },
      ],
    });
    await scraped();
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
