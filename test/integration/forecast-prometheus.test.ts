/**
 * The forecast from Prometheus (issue 20, with --stats-source prometheus): one range query of
 * kubelet_volume_stats_used_bytes over --forecast-window for the pass, fitted as the samples
 * are; no usage sample is written for a PVC Prometheus has a history of. A local HTTP server
 * answers as Prometheus' API would (instant vectors, a range matrix), on both clusters.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byName, report, seed, type Claim } from './harness.js';
import { prometheusPassArgs } from './prometheus-fixture.js';
import { startTestCluster, type LoggedRequest, type TestCluster } from './test-cluster.js';

const GI = 2 ** 30;
const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-03T12:00:00Z');

/** 10Gi volumes: used GiB now, and growth per day over the last 6 hours. */
const VOLUMES: Record<string, { used: number; perDay: number } | undefined> = {
  grower: { used: 6, perDay: 4 },
  steady: { used: 3, perDay: 0.5 },
};

const claims: Claim[] = [
  { name: 'grower', usedPercent: 60, annotations: { 'pvc-chonker.io/expand-before-full': '2d' } },
  { name: 'steady', usedPercent: 30, annotations: { 'pvc-chonker.io/expand-before-full': '2d' } },
];

let cluster: TestCluster | undefined;
let server: Server | undefined;
const ranges: URLSearchParams[] = [];

function instant(query: string): unknown[] {
  const metric = /kubelet_volume_stats_\w+|timestamp/.exec(query)?.[0] ?? '';
  return Object.entries(VOLUMES).map(([name, volume]) => {
    const used = BigInt(Math.round((volume?.used ?? 0) * GI));
    const values: Record<string, string> = {
      kubelet_volume_stats_capacity_bytes: String(10n * BigInt(GI)),
      kubelet_volume_stats_available_bytes: String(10n * BigInt(GI) - used),
      kubelet_volume_stats_used_bytes: String(used),
      kubelet_volume_stats_inodes: '655360',
      kubelet_volume_stats_inodes_free: '600000',
      kubelet_volume_stats_inodes_used: '55360',
      timestamp: String(Date.now() / 1000),
    };
    return {
      metric: { namespace: 'db', persistentvolumeclaim: name },
      value: [Date.now() / 1000, values[metric] ?? '0'],
    };
  });
}

/** Every 6 minutes over the window, on the line that reaches `used` now. */
function matrix(params: URLSearchParams): unknown[] {
  const start = Number(params.get('start'));
  const end = Number(params.get('end'));
  const step = Number(params.get('step'));
  return Object.entries(VOLUMES).map(([name, volume]) => {
    const values: [number, string][] = [];
    for (let t = start; t <= end; t += step) {
      const gib = (volume?.used ?? 0) - ((volume?.perDay ?? 0) * (end - t)) / 86_400;
      values.push([t, String(Math.round(gib * GI))]);
    }
    return { metric: { namespace: 'db', persistentvolumeclaim: name }, values };
  });
}

async function form(request: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return new URLSearchParams(text);
}

beforeAll(async () => {
  cluster = await startTestCluster(seed(claims));
  server = createServer((request, response) => {
    void form(request).then((params) => {
      const range = request.url === '/api/v1/query_range';
      if (range) ranges.push(params);
      const data = range
        ? { resultType: 'matrix', result: matrix(params) }
        : { resultType: 'vector', result: instant(params.get('query') ?? '') };
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ status: 'success', data }));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await cluster?.close();
});

function pvcPatches(requests: LoggedRequest[]): LoggedRequest[] {
  return requests.filter(
    (r) => r.method === 'PATCH' && r.path.includes('/persistentvolumeclaims/'),
  );
}

describe('the forecast from Prometheus', () => {
  it('fits the range query, expands the fast grower before its threshold, writes no samples', async () => {
    const h = cluster as TestCluster;
    const port = (server?.address() as AddressInfo).port;

    const result = await h.cli([
      ...prometheusPassArgs(`http://127.0.0.1:${String(port)}`),
      '--sample-interval',
      '6h',
      '--now',
      new Date(NOW).toISOString(),
    ]);
    const rows = report(result);
    const patches = pvcPatches(await h.requests());

    expect(result.code, result.stderr).toBe(0);
    // One range query for the pass, over the window ending --now, about 60 points.
    expect(ranges).toHaveLength(1);
    expect(ranges[0]?.get('query')).toContain('kubelet_volume_stats_used_bytes');
    // --now, advanced by the time the process has run so far.
    const end = Number(ranges[0]?.get('end'));
    expect(end - NOW / 1000).toBeGreaterThanOrEqual(0);
    expect(end - NOW / 1000).toBeLessThan(60);
    expect(end - Number(ranges[0]?.get('start'))).toBeCloseTo((6 * HOUR) / 1000, 3);
    expect(ranges[0]?.get('step')).toBe('360');
    // 4 GiB free at 4 GiB a day: full in a day, within expand-before-full 2d.
    expect(byName(rows, 'grower')).toMatchObject({
      action: 'expand',
      reason: 'forecast-full',
      source: 'prometheus',
      daysUntilFull: 1,
    });
    expect((byName(rows, 'grower')?.['growthBytesPerDay'] as number) / GI).toBeCloseTo(4, 3);
    expect(byName(rows, 'grower')?.['forecast']).toBe(
      'growing 4 GiB/day, full in 1 day; 61 samples over 6 h (Prometheus)',
    );
    // 7 GiB free at 0.5 GiB a day: two weeks away.
    expect(byName(rows, 'steady')).toMatchObject({ action: 'skip', reason: 'below-threshold' });
    expect(byName(rows, 'steady')?.['daysUntilFull']).toBe(14);
    // The expansion's PATCH alone: no usage samples with a history from Prometheus.
    expect(patches.map((p) => p.path.split('/').at(-1))).toEqual(['grower']);
    const annotations = (patches[0]?.body as { metadata: { annotations: object } }).metadata
      .annotations;
    expect(annotations).not.toHaveProperty(['pvc-chonker.io/usage-samples']);
  });
});
