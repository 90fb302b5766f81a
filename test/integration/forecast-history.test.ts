/**
 * The forecast from a real Prometheus that has hours of history, as any cluster's has: Debian's
 * prometheus, its TSDB filled first with 6 h of the volumes' series (promtool's backfill, a
 * sample a minute, the last one 30 s ago). The CLI's range query gets Prometheus' own JSON, about
 * 60 points a PVC, and reads it from its bytes into each PVC's fit (src/stats/prometheus-matrix.ts):
 * the decisions and figures must be those of the lines the history was drawn on. Both clusters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startPrometheusWith,
  type HistorySeries,
  type RunningPrometheus,
} from '../../bench/prometheus-processes.js';
import { byName, report, seed, type Claim } from './harness.js';
import { havePrometheus, prometheusPassArgs } from './prometheus-fixture.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

const HAVE_PROMETHEUS = havePrometheus('forecast-history.test.ts');

const GI = 2 ** 30;
const CAPACITY = 10 * GI;

/** 10Gi volumes: used GiB now, and growth per day over the last hours. */
const VOLUMES: Record<string, { used: number; perDay: number }> = {
  grower: { used: 6, perDay: 4 },
  steady: { used: 3, perDay: 0.5 },
  shrinking: { used: 5, perDay: -1 },
};

const claims: Claim[] = Object.keys(VOLUMES).map((name) => ({
  name,
  usedPercent: (VOLUMES[name]?.used ?? 0) * 10,
  annotations: { 'pvc-chonker.io/expand-before-full': '2d' },
}));

/** Each volume's series over the last 7 h, a sample a minute, on its line. */
function history(nowS: number): HistorySeries[] {
  const family = (name: string, value: (used: number) => number): HistorySeries[] =>
    Object.entries(VOLUMES).map(([pvc, volume]) => {
      const samples: [number, number][] = [];
      for (let t = nowS - 7 * 3600; t <= nowS - 30; t += 60) {
        const used = Math.round((volume.used - (volume.perDay * (nowS - t)) / 86_400) * GI);
        samples.push([t, value(used)]);
      }
      const labels = { namespace: 'db', persistentvolumeclaim: pvc };
      return { metric: `kubelet_volume_stats_${name}`, labels, samples };
    });
  return [
    ...family('capacity_bytes', () => CAPACITY),
    ...family('available_bytes', (used) => CAPACITY - used),
    ...family('used_bytes', (used) => used),
  ];
}

let cluster: TestCluster | undefined;
let prometheus: RunningPrometheus | undefined;

beforeAll(async () => {
  if (!HAVE_PROMETHEUS) return;
  cluster = await startTestCluster(seed(claims));
  prometheus = await startPrometheusWith(
    { global: { scrape_interval: '1m' }, scrape_configs: [] },
    history(Math.floor(Date.now() / 1000)),
  );
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await cluster?.close();
});

describe.skipIf(!HAVE_PROMETHEUS)('the forecast from a Prometheus with 6 h of history', () => {
  it('fits its own answer: the growth of each line, the grower expanded before its threshold', async () => {
    const h = cluster as TestCluster;

    const result = await h.cli(prometheusPassArgs((prometheus as RunningPrometheus).url.href));
    const rows = report(result);

    expect(result.code, result.stderr).toBe(0);
    // 4 GiB free at 4 GiB a day: full in a day, within expand-before-full 2d.
    expect(byName(rows, 'grower')).toMatchObject({
      action: 'expand',
      reason: 'forecast-full',
      source: 'prometheus',
      daysUntilFull: 1,
    });
    // A point every 6 minutes over 6 h, each the sample Prometheus had then.
    expect(byName(rows, 'grower')?.['forecast']).toMatch(
      /^growing 4 GiB\/day, full in 1 day; 6[01] samples over 6 h \(Prometheus\)$/,
    );
    for (const [name, volume] of Object.entries(VOLUMES)) {
      const perDay = (byName(rows, name)?.['growthBytesPerDay'] as number) / GI;
      expect(perDay, name).toBeCloseTo(volume.perDay, 2);
    }
    expect(byName(rows, 'steady')).toMatchObject({ action: 'skip', reason: 'below-threshold' });
    expect(byName(rows, 'steady')?.['daysUntilFull']).toBe(14);
    expect(byName(rows, 'shrinking')).toMatchObject({ action: 'skip', reason: 'below-threshold' });
    expect(byName(rows, 'shrinking')?.['daysUntilFull']).toBeNull();
  });
});
