/**
 * publishMetrics against a real Pushgateway (Debian's prometheus-pushgateway), started on a
 * free loopback port by each suite, read back through its API and its /metrics page.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsConfig, type MetricsConfig } from '../../src/metrics/config.js';
import { METRICS } from '../../src/metrics/definitions.js';
import { publishMetrics } from '../../src/metrics/publish.js';
import { expanded, memoryLogger, outcome, summary } from './builders.js';
import {
  freePort,
  startPushgateway,
  type RunningPushgateway,
} from '../../bench/prometheus-processes.js';

interface ApiSample {
  labels: Record<string, string>;
  value: string;
}
type ApiGroup = Record<string, unknown> & { labels: Record<string, string> };

async function readGroup(
  pg: RunningPushgateway,
  cluster: string,
  headers: Record<string, string> = {},
): Promise<ApiGroup | undefined> {
  const response = await fetch(new URL('api/v1/metrics', pg.url), { headers });
  const body = (await response.json()) as { data: ApiGroup[] };
  return body.data.find((group) => group.labels['cluster'] === cluster);
}

function familySamples(group: ApiGroup | undefined, name: string): ApiSample[] {
  const family = group?.[name] as { metrics: ApiSample[] } | undefined;
  return family?.metrics ?? [];
}

function sampleValue(
  group: ApiGroup | undefined,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = familySamples(group, name).find((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found === undefined ? undefined : Number(found.value);
}

function configFor(url: string | undefined, overrides: Partial<MetricsConfig> = {}): MetricsConfig {
  const parsed = parseMetricsConfig(
    { ...(url === undefined ? {} : { pushgatewayUrl: url }), clusterName: 'c1' },
    {},
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return { ...parsed.value, timeoutMs: 1_000, retries: 2, ...overrides };
}

const GiB = 1024 ** 3;
const t1 = new Date('2026-01-01T10:00:00.000Z');
const t2 = new Date('2026-01-01T11:00:00.000Z');
const t3 = new Date('2026-01-01T12:00:00.000Z');

describe('publishMetrics against a real Pushgateway', () => {
  let pg: RunningPushgateway;

  beforeAll(async () => {
    pg = await startPushgateway();
  });

  afterAll(async () => {
    await pg.stop();
  });

  const run1 = summary(
    [
      expanded('web', { provider: 'aws', maxSizeBytes: 100n * 1024n ** 3n }),
      outcome({
        name: 'db',
        namespace: 'data',
        action: 'error',
        reason: 'api-error',
        usedRatio: 0.95,
        thresholdsReached: ['storage'],
      }),
      outcome({ name: 'old', namespace: 'data' }),
    ],
    { finishedAt: t1, pvcsSeen: 5 },
  );
  const run2 = summary(
    [
      expanded('web', {
        provider: 'aws',
        currentBytes: 12n * 1024n ** 3n,
        requestBytes: 14n * 1024n ** 3n,
      }),
      outcome({
        name: 'db',
        namespace: 'data',
        action: 'error',
        reason: 'api-error',
        thresholdsReached: ['storage', 'inodes'],
      }),
    ],
    { finishedAt: t2, runId: 'run-2' },
  );

  it('two runs: names, labels and values read back, counters grown, a deleted PVC gone', async () => {
    const { log, text } = memoryLogger();
    const config = configFor(pg.url.href);

    const first = await publishMetrics(run1, config, { log });
    const afterFirst = await readGroup(pg, 'c1');
    const second = await publishMetrics(run2, config, { log });
    const afterSecond = await readGroup(pg, 'c1');

    expect(first).toEqual({ pushed: true, error: undefined });
    expect(second).toEqual({ pushed: true, error: undefined });
    expect(afterFirst?.labels).toEqual({ job: 'pvc-chonker', cluster: 'c1' });
    const web = {
      job: 'pvc-chonker',
      cluster: 'c1',
      instance: '',
      pvc: 'web',
      namespace: 'default',
    };
    const db = { job: 'pvc-chonker', cluster: 'c1', instance: '', pvc: 'db', namespace: 'data' };
    // Exact label sets as stored.
    expect(familySamples(afterSecond, 'pvc_chonker_expansions_total').map((s) => s.labels)).toEqual(
      expect.arrayContaining([
        { ...web, provider: 'aws' },
        { ...db, provider: 'generic' },
      ]),
    );
    // Counters grew across the two runs.
    expect(
      sampleValue(afterFirst, 'pvc_chonker_expansions_total', { pvc: 'web', provider: 'aws' }),
    ).toBe(1);
    expect(
      sampleValue(afterSecond, 'pvc_chonker_expansions_total', { pvc: 'web', provider: 'aws' }),
    ).toBe(2);
    expect(
      sampleValue(afterSecond, 'pvc_chonker_expansion_failures_total', {
        pvc: 'db',
        reason: 'api-error',
      }),
    ).toBe(2);
    expect(
      sampleValue(afterSecond, 'pvc_chonker_threshold_reached_total', {
        pvc: 'db',
        type: 'storage',
      }),
    ).toBe(2);
    expect(
      sampleValue(afterSecond, 'pvc_chonker_threshold_reached_total', {
        pvc: 'db',
        type: 'inodes',
      }),
    ).toBe(1);
    expect(sampleValue(afterSecond, 'pvc_chonker_runs_total', { status: 'success' })).toBe(2);
    // Gauges are this run's picture.
    expect(sampleValue(afterSecond, 'pvc_chonker_pvc_capacity_bytes', { pvc: 'web' })).toBe(
      12 * GiB,
    );
    expect(sampleValue(afterSecond, 'pvc_chonker_pvc_requested_bytes', { pvc: 'web' })).toBe(
      14 * GiB,
    );
    expect(sampleValue(afterFirst, 'pvc_chonker_pvc_max_size_bytes', { pvc: 'web' })).toBe(
      100 * GiB,
    );
    expect(
      sampleValue(afterSecond, 'pvc_chonker_pvc_max_size_bytes', { pvc: 'web' }),
    ).toBeUndefined();
    expect(sampleValue(afterSecond, 'pvc_chonker_last_success_timestamp_seconds')).toBe(
      t2.getTime() / 1000,
    );
    expect(sampleValue(afterSecond, 'pvc_chonker_loop_duration_seconds')).toBe(2.5);
    expect(sampleValue(afterFirst, 'pvc_chonker_pvcs_seen')).toBe(5);
    // The PVC missing from the second run: every series gone.
    expect(JSON.stringify(afterFirst)).toContain('"pvc":"old"');
    expect(JSON.stringify(afterSecond)).not.toContain('"pvc":"old"');
    // Every metric name that had samples is there, with our help text and type.
    const family = afterSecond?.['pvc_chonker_expansions_total'] as { type: string; help: string };
    expect(family).toMatchObject({ type: 'COUNTER', help: METRICS.expansionsTotal.help });
    expect(text()).toContain('"msg":"metrics pushed"');
  });

  it('the /metrics page a Prometheus scrapes (honor_labels) has the exact series', async () => {
    const page = await (await fetch(new URL('metrics', pg.url))).text();

    expect(page).toContain(
      'pvc_chonker_expansions_total{cluster="c1",instance="",job="pvc-chonker",namespace="default",provider="aws",pvc="web"} 2',
    );
    expect(page).toContain(
      'pvc_chonker_last_run_status{cluster="c1",instance="",job="pvc-chonker",status="success"} 1',
    );
    expect(page).toContain('# TYPE pvc_chonker_loop_duration_seconds gauge');
  });

  it('a failed run keeps the counters and re-sends the last success', async () => {
    const failed = summary([], {
      finishedAt: t3,
      status: 'failed',
      error: 'list failed',
      runId: 'run-3',
    });

    const result = await publishMetrics(failed, configFor(pg.url.href), {
      log: memoryLogger().log,
    });
    const group = await readGroup(pg, 'c1');

    expect(result.pushed).toBe(true);
    expect(sampleValue(group, 'pvc_chonker_last_success_timestamp_seconds')).toBe(
      t2.getTime() / 1000,
    );
    expect(sampleValue(group, 'pvc_chonker_last_run_timestamp_seconds')).toBe(t3.getTime() / 1000);
    expect(sampleValue(group, 'pvc_chonker_last_run_status', { status: 'failed' })).toBe(1);
    expect(
      sampleValue(group, 'pvc_chonker_expansions_total', { pvc: 'web', provider: 'aws' }),
    ).toBe(2);
    expect(sampleValue(group, 'pvc_chonker_runs_total', { status: 'failed' })).toBe(1);
    expect(sampleValue(group, 'pvc_chonker_pvc_used_ratio', { pvc: 'web' })).toBeUndefined();
  });

  it('a second cluster gets its own group and leaves the first alone', async () => {
    const config = { ...configFor(pg.url.href), clusterName: 'c2' };

    await publishMetrics(summary([expanded('web')], { finishedAt: t3 }), config, {
      log: memoryLogger().log,
    });

    expect(
      sampleValue(await readGroup(pg, 'c2'), 'pvc_chonker_expansions_total', { pvc: 'web' }),
    ).toBe(1);
    expect(
      sampleValue(await readGroup(pg, 'c1'), 'pvc_chonker_expansions_total', { pvc: 'web' }),
    ).toBe(2);
  });

  it('also writes --metrics-file atomically with the pushed text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-metrics-'));
    const file = join(dir, 'pvc-chonker.prom');

    const result = await publishMetrics(
      run2,
      configFor(pg.url.href, { metricsFile: file, clusterName: 'c3' }),
      { log: memoryLogger().log },
    );
    const written = await readFile(file, 'utf8');
    const left = await readdir(dir);
    await rm(dir, { recursive: true });

    expect(result).toEqual({ pushed: true, error: undefined });
    expect(written).toContain(
      'pvc_chonker_expansions_total{namespace="default",pvc="web",provider="aws"} 1',
    );
    expect(left).toEqual(['pvc-chonker.prom']);
  });
});

describe('publishMetrics when the Pushgateway is new, down, slow or locked', () => {
  it('an empty (restarted) Pushgateway: counters start from this run', async () => {
    const pg = await startPushgateway();
    try {
      const { log, text } = memoryLogger();

      const result = await publishMetrics(summary([expanded('web')]), configFor(pg.url.href), {
        log,
      });

      expect(result.pushed).toBe(true);
      expect(
        sampleValue(await readGroup(pg, 'c1'), 'pvc_chonker_expansions_total', { pvc: 'web' }),
      ).toBe(1);
      expect(text()).toContain('no previous metrics group, counters start from this run');
    } finally {
      await pg.stop();
    }
  });

  it('a closed port: pushed false, an error naming the URL, within a bounded time', async () => {
    const url = `http://127.0.0.1:${(await freePort()).toString()}/`;
    const { log, lines } = memoryLogger();
    const started = Date.now();

    const result = await publishMetrics(summary([expanded('web')]), configFor(url), { log });

    const elapsedMs = Date.now() - started;
    expect(result.pushed).toBe(false);
    expect(result.error).toContain(`GET ${url}metrics failed after 3 attempt(s): ECONNREFUSED`);
    expect(elapsedMs).toBeLessThan(3_000);
    expect(lines().filter((l) => l['msg'] === 'pushgateway request failed, retrying')).toHaveLength(
      2,
    );
    expect(lines().find((l) => l['msg'] === 'metrics push failed')).toMatchObject({
      level: 50,
      url,
    });
  });

  it('a server that never answers: each attempt times out, bounded overall', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const url = `http://127.0.0.1:${port.toString()}/`;
    const started = Date.now();

    const result = await publishMetrics(
      summary([]),
      configFor(url, { timeoutMs: 300, retries: 1 }),
      { log: memoryLogger().log },
    );

    const elapsedMs = Date.now() - started;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    expect(result).toEqual({
      pushed: false,
      error: `GET ${url}metrics failed after 2 attempt(s): timed out`,
    });
    expect(elapsedMs).toBeGreaterThanOrEqual(600);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('basic auth: the right password pushes, a wrong one fails with 401 and is never logged', async () => {
    const password = 'pushgateway-test-password';
    // bcrypt (cost 4) of the password above, as the Pushgateway's web config wants it.
    const hash = '$2b$04$0P4rciUnVl9sooetS9pKa.5w1V.OQ9ymL8St0C52pGRXEyHvDgiZC';
    const authorization = `Basic ${Buffer.from(`chonker:${password}`).toString('base64')}`;
    const pg = await startPushgateway({
      webConfig: `basic_auth_users:\n  chonker: ${hash}\n`,
      readyHeaders: { authorization },
    });
    try {
      const good = parseMetricsConfig(
        { pushgatewayUrl: pg.url.href, clusterName: 'auth' },
        { PVC_CHONKER_PUSHGATEWAY_USERNAME: 'chonker', PVC_CHONKER_PUSHGATEWAY_PASSWORD: password },
      );
      const bad = parseMetricsConfig(
        { pushgatewayUrl: pg.url.href, clusterName: 'auth' },
        {
          PVC_CHONKER_PUSHGATEWAY_USERNAME: 'chonker',
          PVC_CHONKER_PUSHGATEWAY_PASSWORD: 'wrong-password',
        },
      );
      if (!good.ok || !bad.ok) throw new Error('config');
      const { log, text } = memoryLogger();

      const pushed = await publishMetrics(summary([expanded('web')]), good.value, { log });
      const refused = await publishMetrics(summary([expanded('web')]), bad.value, { log });

      expect(pushed).toEqual({ pushed: true, error: undefined });
      expect(
        sampleValue(
          await readGroup(pg, 'auth', { authorization }),
          'pvc_chonker_expansions_total',
          { pvc: 'web' },
        ),
      ).toBe(1);
      expect(refused.pushed).toBe(false);
      expect(refused.error).toMatch(/failed after 1 attempt\(s\): HTTP 401/);
      expect(text()).not.toContain(password);
      expect(text()).not.toContain('wrong-password');
      expect(text()).not.toContain(authorization);
    } finally {
      await pg.stop();
    }
  });
});

describe('publishMetrics without a Pushgateway', () => {
  it('no URL: says so once, pushes nothing, no error', async () => {
    const { log, lines } = memoryLogger();

    const result = await publishMetrics(summary([]), configFor(undefined), { log });

    expect(result).toEqual({ pushed: false, error: undefined });
    expect(lines().map((l) => l['msg'])).toEqual(['pushgateway url not set, metrics not pushed']);
  });

  it('metrics file only: counters carried forward from the previous file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-metrics-'));
    const file = join(dir, 'pvc-chonker.prom');
    const config = configFor(undefined, { metricsFile: file });

    await publishMetrics(summary([expanded('web')], { finishedAt: t1 }), config, {
      log: memoryLogger().log,
    });
    const result = await publishMetrics(summary([expanded('web')], { finishedAt: t2 }), config, {
      log: memoryLogger().log,
    });
    const written = await readFile(file, 'utf8');
    await rm(dir, { recursive: true });

    expect(result).toEqual({ pushed: false, error: undefined });
    expect(written).toContain(
      'pvc_chonker_expansions_total{namespace="default",pvc="web",provider="generic"} 2',
    );
    expect(written).toContain(
      `pvc_chonker_last_success_timestamp_seconds ${(t2.getTime() / 1000).toString()}`,
    );
  });

  it('an unwritable metrics file is an error naming the path', async () => {
    const file = '/nonexistent-dir/pvc-chonker.prom';

    const result = await publishMetrics(summary([]), configFor(undefined, { metricsFile: file }), {
      log: memoryLogger().log,
    });

    expect(result.pushed).toBe(false);
    expect(result.error).toMatch(
      /^cannot write metrics file \/nonexistent-dir\/pvc-chonker.prom: ENOENT/,
    );
  });
});
