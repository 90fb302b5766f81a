/**
 * End to end through real binaries: publishMetrics → Pushgateway → Prometheus (honor_labels,
 * the shipped alert rules) → the dashboard's queries and the alerts. Shows that the label
 * names survive the scrape and that every dashboard panel has data to show.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsConfig } from '../../src/metrics/config.js';
import { publishMetrics } from '../../src/metrics/publish.js';
import { expanded, memoryLogger, outcome, summary } from './builders.js';
import {
  startPrometheus,
  startPushgateway,
  type RunningPrometheus,
  type RunningPushgateway,
} from '../../bench/prometheus-processes.js';

const MONITORING = join(import.meta.dirname, '../../cronjob/monitoring');
const GiB = 1024n ** 3n;

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prom: RunningPrometheus, expr: string): Promise<VectorSample[]> {
  const url = new URL('api/v1/query', prom.url);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as {
    status: string;
    data: { result: VectorSample[] };
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? body.status}`);
  return body.data.result;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function scraped(prom: RunningPrometheus, finishedAt: Date, cluster: string): Promise<void> {
  const expr = `pvc_chonker_last_run_timestamp_seconds{cluster="${cluster}"} == ${(finishedAt.getTime() / 1000).toString()}`;
  await until(`scrape of the run finished at ${finishedAt.toISOString()}`, async () =>
    (await query(prom, expr)).length > 0 ? true : undefined,
  );
}

describe('Pushgateway → Prometheus → dashboard and alerts', () => {
  let pg: RunningPushgateway;
  let prom: RunningPrometheus;

  beforeAll(async () => {
    pg = await startPushgateway();
    prom = await startPrometheus(pg.port, [join(MONITORING, 'pvc-chonker-rules.yaml')]);
    // c1 with every PVC's series; c2 with --pvc-metrics problems and PVCs that need no look.
    const parsed = parseMetricsConfig({ pushgatewayUrl: pg.url.href, clusterName: 'c1' }, {});
    const problems = parseMetricsConfig(
      { pushgatewayUrl: pg.url.href, clusterName: 'c2', pvcMetrics: 'problems' },
      {},
    );
    if (!parsed.ok || !problems.ok) throw new Error('bad metrics config');
    const { log } = memoryLogger();
    const quiet = [outcome({ name: 'quiet' }), outcome({ name: 'idle', namespace: 'apps' })];
    const atMax = outcome({
      name: 'full',
      namespace: 'apps',
      reason: 'max-size-reached',
      thresholdsReached: ['storage'],
      currentBytes: 20n * GiB,
      requestBytes: 20n * GiB,
      maxSizeBytes: 20n * GiB,
      usedRatio: 0.97,
      policy: 'logs',
    });
    const failing = outcome({
      name: 'db',
      namespace: 'data',
      action: 'error',
      reason: 'api-error',
      usedRatio: 0.9,
      forecast: {
        growthBytesPerDay: 2 ** 30,
        daysUntilFull: 2.5,
        daysUntilMaxSize: 5,
        summary: 'growing 1 GiB/day, full in 2.5 days, max-size in 5 days; 4 samples over 18 h',
      },
    });
    const broken = outcome({
      name: 'broken',
      action: 'error',
      reason: 'resize-failed',
      unhealthy: true,
      policy: 'db',
      group: 'es-data',
    });
    // Read from the kubelets, one node refusing each run (its PVCs read through the proxy).
    const stats = {
      sources: ['kubelet', 'kubelet-proxy'] as const,
      pvcs: { kubelet: 3, 'kubelet-proxy': 1 },
      errors: [{ source: 'kubelet' as const, reason: 'forbidden' as const, count: 1 }],
    };
    const t1 = new Date(Date.now() - 120_000);
    const t2 = new Date(Date.now() - 60_000);

    for (const finishedAt of [t1, t2]) {
      const pvcs = [expanded('web', { provider: 'aws', group: 'es-data' }), atMax, failing, broken];
      await publishMetrics(summary(pvcs, { finishedAt, stats }), parsed.value, { log });
      await publishMetrics(summary([...pvcs, ...quiet], { finishedAt, stats }), problems.value, {
        log,
      });
      await scraped(prom, finishedAt, 'c1');
      await scraped(prom, finishedAt, 'c2');
    }
  }, 60_000);

  afterAll(async () => {
    await prom.stop();
    await pg.stop();
  });

  it('keeps the pushed labels (honor_labels) and sees the counter grow', async () => {
    const series = await query(prom, 'pvc_chonker_expansions_total{cluster="c1",pvc="web"}');
    const growth = await query(
      prom,
      'increase(pvc_chonker_expansions_total{cluster="c1",pvc="web"}[5m])',
    );

    expect(series.map((s) => s.metric)).toEqual([
      {
        __name__: 'pvc_chonker_expansions_total',
        job: 'pvc-chonker',
        cluster: 'c1',
        namespace: 'default',
        pvc: 'web',
        provider: 'aws',
      },
    ]);
    expect(series[0]?.value[1]).toBe('2');
    expect(Number(growth[0]?.value[1])).toBeGreaterThan(0);
  });

  it('problems: no series for quiet PVCs, counters per namespace that still grow', async () => {
    const statuses = await query(prom, 'pvc_chonker_pvc_status{cluster="c2"}');
    const growth = await query(
      prom,
      'sum by (provider) (increase(pvc_chonker_expansions_total{cluster="c2"}[5m]))',
    );
    const perPvc = await query(prom, 'pvc_chonker_expansions_total{cluster="c2",pvc!=""}');

    expect(statuses.map((s) => s.metric['pvc']).sort()).toEqual(['broken', 'db', 'full', 'web']);
    expect(perPvc).toEqual([]);
    expect(Number(growth.find((s) => s.metric['provider'] === 'aws')?.value[1])).toBeGreaterThan(0);
  });

  it.each(['c1', 'c2'])('every dashboard query returns data for cluster %s', async (cluster) => {
    const dash = JSON.parse(
      await readFile(join(MONITORING, 'pvc-chonker-dashboard.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };

    const empty: string[] = [];
    for (const panel of dash.panels) {
      for (const target of panel.targets) {
        const result = await query(prom, target.expr.replaceAll('$cluster', cluster));
        if (result.length === 0) empty.push(`${panel.title}: ${target.expr}`);
      }
    }

    expect(empty).toEqual([]);
  });

  it('joins policy and group from pvc_status (docs/metrics.md); per-policy gauges in problems', async () => {
    const joined = await query(
      prom,
      `pvc_chonker_pvc_used_ratio{cluster="c1"}
         * on (job, cluster, namespace, pvc) group_left (policy, group)
       max by (job, cluster, namespace, pvc, policy, group) (pvc_chonker_pvc_status{policy="db"})`,
    );
    const expansionsByGroup = await query(
      prom,
      `sum by (cluster, group) (
         increase(pvc_chonker_expansions_total{cluster="c1"}[5m])
           * on (job, cluster, namespace, pvc) group_left (group)
         max by (job, cluster, namespace, pvc, group) (pvc_chonker_pvc_status{group!=""})
       )`,
    );
    const policies = await query(prom, 'pvc_chonker_policy_pvcs{cluster="c2"}');
    const groupSize = await query(prom, 'pvc_chonker_group_requested_bytes{cluster="c2"}');

    expect(joined.map((s) => [s.metric['pvc'], s.metric['group'], s.value[1]])).toEqual([
      ['broken', 'es-data', '0.5'],
    ]);
    expect(expansionsByGroup.map((s) => s.metric['group'])).toEqual(['es-data']);
    expect(Number(expansionsByGroup[0]?.value[1])).toBeGreaterThan(0);
    expect(
      policies
        .map((s) => `${s.metric['namespace'] ?? ''}/${s.metric['policy'] ?? ''} ${s.value[1]}`)
        .sort(),
    ).toEqual(['apps/logs 1', 'default/db 1']);
    expect(groupSize.map((s) => [s.metric['group'], s.value[1]])).toEqual([
      ['es-data', String(12 * 1024 ** 3)],
    ]);
  });

  it('fires the per-PVC alerts with the PVC labels', async () => {
    const firing = await until('alerts', async () => {
      const body = (await (await fetch(new URL('api/v1/alerts', prom.url))).json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      const alerts = body.data.alerts.filter((a) => a.state === 'firing');
      return alerts.length >= 8 ? alerts : undefined;
    });

    const names = firing.map((a) =>
      [
        a.labels['cluster'],
        a.labels['alertname'],
        `${a.labels['namespace'] ?? ''}/${a.labels['pvc'] ?? ''}`,
        a.labels['reason'],
        a.labels['policy'] === undefined ? undefined : `policy=${a.labels['policy']}`,
        a.labels['group'] === undefined ? undefined : `group=${a.labels['group']}`,
      ]
        .filter((part) => part !== undefined)
        .join(' '),
    );
    expect(names.sort()).toEqual(
      ['c1', 'c2'].flatMap((cluster) => [
        `${cluster} PvcChonkerExpansionFailed data/db api-error`,
        `${cluster} PvcChonkerExpansionFailed default/broken resize-failed policy=db group=es-data`,
        `${cluster} PvcChonkerPvcAtMaxSizeOverThreshold apps/full policy=logs`,
        `${cluster} PvcChonkerPvcUnhealthy default/broken policy=db group=es-data`,
      ]),
    );
  });
});
