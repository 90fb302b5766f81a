/**
 * The prometheus source against Debian's real `prometheus`, which scrapes the sim's kubelets'
 * /metrics over HTTPS (its own token, authorized by the kubelets as nodes/metrics) on loopback;
 * the CLI runs as the ServiceAccount of the prometheus profile (no node access). Covers a series
 * that is absent, a stale one, a selector, a gateway in front that demands a tenant header and a
 * token over TLS, Prometheus stopped. The table that drives one fleet through the three sources,
 * on both clusters, is stats-table.test.ts.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPrometheus } from '../../bench/prometheus-processes.js';
import { createSimCa } from '../../sim/tls.js';
import { byName, report, type Claim } from './harness.js';
import {
  PROMETHEUS_SCRAPE_RBAC,
  TABLE_FLEET,
  fleetSeed,
  havePrometheus,
  queryPrometheus,
  startKubeletPrometheus,
  untilScraped,
} from './prometheus-fixture.js';
import {
  HAVE_KUBECTL,
  profileObjects,
  startProfileCluster,
  type ProfileCluster,
} from './profiles.js';
import { skippedHere } from './sim-only.js';

const HAVE_PROMETHEUS = havePrometheus('prometheus-source.test.ts');

/** The table's fleet (namespace db), and two volumes of namespace edge Prometheus cannot vouch for. */
const FLEET: Claim[] = [
  ...TABLE_FLEET,
  // Not in the table: its sample is old, or its node is not scraped.
  { name: 'old', namespace: 'edge', usedPercent: 95, node: 'node-a' },
  { name: 'absent', namespace: 'edge', usedPercent: 95, node: 'node-c' },
  // A namespace whose every volume Prometheus has: its pass reads no pods.
  { name: 'steady', namespace: 'steady', usedPercent: 40, node: 'node-a' },
];

const PROMETHEUS_TOKEN = 'prometheus-token';
const PROMETHEUS_USER = 'system:serviceaccount:monitoring:prometheus';

/** The simulator with RBAC this file builds is the sim-only part; the rest runs on both. */
const SKIPPED = !HAVE_PROMETHEUS || !HAVE_KUBECTL || skippedHere('rbac-profile');

// Set by beforeAll; the suites skip when it cannot start them.
let cluster: ProfileCluster;
let prometheus: RunningPrometheus;

/** The 8 scraped volumes of the table, each scraped at least twice, and the old sample. */
async function scraped(): Promise<boolean> {
  const fresh = await queryPrometheus(
    prometheus,
    'count_over_time(kubelet_volume_stats_capacity_bytes{namespace="db"}[1m]) >= 2',
  );
  const old = await queryPrometheus(
    prometheus,
    'kubelet_volume_stats_capacity_bytes{persistentvolumeclaim="old"}',
  );
  return fresh.length === 8 && old.length === 1;
}

beforeAll(async () => {
  if (SKIPPED) return;
  const roles = await profileObjects('prometheus');
  cluster = await startProfileCluster(fleetSeed(FLEET), [...roles, ...PROMETHEUS_SCRAPE_RBAC], {
    [PROMETHEUS_TOKEN]: PROMETHEUS_USER,
  });
  const sim = cluster.sim;
  // An explicit sample time three minutes old, as a kubelet seen through federation or a remote
  // write that lags: Prometheus keeps it (no staleness marker) within its 5 m lookback.
  sim.kubelets.get('node-a')?.setSampleTime('edge/old', Date.now() - 180_000);
  prometheus = await startKubeletPrometheus({
    dir: cluster.dir,
    caFile: 'kubelet-ca.pem',
    caPem: sim.kubeletCaPem ?? '',
    token: PROMETHEUS_TOKEN,
    targets: ['node-a', 'node-b'].map(
      (node) => `127.0.0.1:${String(sim.kubelets.get(node)?.port)}`,
    ),
  });
  await untilScraped(prometheus, scraped);
}, 60_000);

afterAll(async () => {
  // Either may be missing when beforeAll skipped or failed half-way.
  await (prometheus as RunningPrometheus | undefined)?.stop();
  await (cluster as ProfileCluster | undefined)?.close();
});

type Row = Record<string, unknown>;

/** The pass with its JSON report, reading usage from the Prometheus at `url`. */
function passVia(url: string, ...args: string[]): ReturnType<ProfileCluster['cli']> {
  return cluster.cli(['--output', 'json', '--prometheus-url', url, ...args]);
}

function outcome(rows: Row[], name: string): string {
  const row = byName(rows, name);
  return `${String(row?.['action'])}:${String(row?.['reason'])}`;
}

describe.skipIf(SKIPPED)('the prometheus source', () => {
  it('decides from the scraped series, with no node access, in one query per metric', async () => {
    const result = await passVia(
      prometheus.url.href,
      '--dry-run',
      '--stats-source',
      'prometheus',
      '--prometheus-selector',
      'job="kubelet"',
    );
    const rows = report(result);

    expect(result.code).toBe(0);
    expect(outcome(rows, 'full')).toBe('would-expand:threshold-reached');
    expect(outcome(rows, 'inodes')).toBe('would-expand:threshold-reached');
    expect(byName(rows, 'full')).toMatchObject({ source: 'prometheus', usedRatio: 0.95 });
    // No Node read, no kubelet call, no proxy: the ServiceAccount could not make them anyway.
    expect(cluster.sim.requests.filter((r) => r.path.startsWith('/api/v1/nodes'))).toEqual([]);
  });

  it('a series that is absent, and one older than --prometheus-max-age, are metrics-unavailable', async () => {
    const rows = report(
      await passVia(prometheus.url.href, '--namespace', 'edge', '--prometheus-max-age', '1m'),
    );

    expect(byName(rows, 'absent')).toMatchObject({
      action: 'skip',
      reason: 'metrics-unavailable',
      source: 'prometheus',
      detail: 'Prometheus has no kubelet_volume_stats_capacity_bytes series for the volume',
    });
    expect(byName(rows, 'old')).toMatchObject({ action: 'skip', reason: 'metrics-unavailable' });
    expect(String(byName(rows, 'old')?.['detail'])).toMatch(
      /^Prometheus' latest sample is 3m\d*s? old, older than --prometheus-max-age 1m$/,
    );
    expect(cluster.sim.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('within --prometheus-max-age the same old sample is used', async () => {
    const rows = report(
      await passVia(
        prometheus.url.href,
        '--dry-run',
        '--namespace',
        'edge',
        '--prometheus-max-age',
        '4m',
      ),
    );

    expect(outcome(rows, 'old')).toBe('would-expand:threshold-reached');
  });

  it('reads no pods when Prometheus has every PVC, and lists them once to explain a PVC it lacks', async () => {
    const podLists = (): number =>
      cluster.sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods')).length;
    const before = podLists();

    const steady = report(await passVia(prometheus.url.href, '--dry-run', '--namespace', 'steady'));
    const afterSteady = podLists();
    const db = report(await passVia(prometheus.url.href, '--dry-run', '--namespace', 'db'));

    expect(outcome(steady, 'steady')).toBe('skip:below-threshold');
    expect(afterSteady).toBe(before);
    expect(byName(db, 'unmounted')).toMatchObject({
      reason: 'metrics-unavailable',
      detail: 'not mounted by a running pod',
    });
    expect(outcome(db, 'full')).toBe('would-expand:threshold-reached');
    expect(podLists()).toBe(afterSteady + 1);
  });

  it('a selector that matches nothing leaves every PVC without series, naming the selector', async () => {
    const rows = report(
      await passVia(
        prometheus.url.href,
        '--namespace',
        'db',
        '--prometheus-selector',
        'job="elsewhere"',
      ),
    );

    expect(String(byName(rows, 'full')?.['detail'])).toBe(
      'Prometheus has no kubelet_volume_stats_capacity_bytes series for the volume matching {job="elsewhere"}',
    );
  });
});

/** A Mimir-like gateway: HTTPS, a path prefix, a tenant header and a bearer token required. */
interface Gateway {
  url: string;
  caFile: string;
  seen: { method: string; tenant: string | undefined; authorization: string | undefined }[];
  close(): Promise<void>;
}

async function startGateway(dir: string, options: { postAllowed: boolean }): Promise<Gateway> {
  const ca = await createSimCa();
  const serving = await ca.issueServingCertificate(['127.0.0.1']);
  const caFile = join(dir, `gateway-ca-${String(options.postAllowed)}.pem`);
  await writeFile(caFile, ca.caPem);
  const seen: Gateway['seen'] = [];
  const forward = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const upstream = httpRequest(
      new URL(path, prometheus.url),
      { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  };
  const server: Server = createHttpsServer(
    { key: serving.keyPem, cert: serving.certPem },
    (req, res) => {
      const tenant = req.headers['x-scope-orgid'] as string | undefined;
      const authorization = req.headers.authorization;
      seen.push({ method: req.method ?? '', tenant, authorization });
      const path = (req.url ?? '').replace(/^\/prometheus/, '');
      if (tenant === undefined) {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end('no org id\n');
      } else if (authorization !== 'Bearer gateway-token') {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('bad token\n');
      } else if (req.method === 'POST' && !options.postAllowed) {
        res.writeHead(405, { 'Content-Type': 'text/plain' });
        res.end('method not allowed\n');
      } else forward(req, res, path);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${String(port)}/prometheus`,
    caFile,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe.skipIf(SKIPPED)('a gateway in front of Prometheus', () => {
  it.each([true, false])(
    'sends the header and the token, verifies its certificate (POST allowed: %s)',
    async (postAllowed) => {
      const gateway = await startGateway(cluster.dir, { postAllowed });
      const tokenFile = join(cluster.dir, 'gateway-token');
      await writeFile(tokenFile, 'gateway-token\n');
      const base = [
        '--output',
        'json',
        '--dry-run',
        '--namespace',
        'db',
        '--prometheus-url',
        gateway.url,
        '--prometheus-ca-file',
        gateway.caFile,
        '--prometheus-bearer-token-file',
        tokenFile,
      ];
      try {
        const without = report(await cluster.cli(base));
        gateway.seen.length = 0;
        const withHeader = report(
          await cluster.cli([...base, '--prometheus-header', 'X-Scope-OrgID: tenant-1']),
        );

        expect(String(byName(without, 'full')?.['detail'])).toMatch(
          /^Prometheus https:\/\/127\.0\.0\.1:\d+\/prometheus: the kubelet_volume_stats_\w+ query failed: HTTP 401: no org id$/,
        );
        expect(outcome(withHeader, 'full')).toBe('would-expand:threshold-reached');
        expect(gateway.seen.every((s) => s.tenant === 'tenant-1')).toBe(true);
        expect(gateway.seen.every((s) => s.authorization === 'Bearer gateway-token')).toBe(true);
        // Eight queries: six metrics, their age, and the used bytes over --forecast-window (the
        // forecast's range query); each retried as a GET after a 405.
        expect(gateway.seen.map((s) => s.method).sort()).toEqual(
          postAllowed
            ? Array<string>(8).fill('POST')
            : [...Array<string>(8).fill('GET'), ...Array<string>(8).fill('POST')],
        );
      } finally {
        await gateway.close();
      }
    },
  );

  it('a gateway certificate the CA file does not verify fails every query, naming TLS', async () => {
    const gateway = await startGateway(cluster.dir, { postAllowed: true });
    const other = join(cluster.dir, 'other-ca.pem');
    await writeFile(other, (await createSimCa()).caPem);
    try {
      const rows = report(
        await passVia(
          gateway.url,
          '--namespace',
          'db',
          '--prometheus-ca-file',
          other,
          '--prometheus-header',
          'X-Scope-OrgID: tenant-1',
        ),
      );

      expect(String(byName(rows, 'full')?.['detail'])).toMatch(
        /query failed: .*(certificate|CERT)/,
      );
    } finally {
      await gateway.close();
    }
  });
});

describe.skipIf(SKIPPED)('Prometheus stopped', () => {
  it('every PVC is metrics-unavailable with the cause, nothing is written, the pass succeeds', async () => {
    await prometheus.stop();
    const metricsFile = join(cluster.dir, 'stopped.prom');

    const result = await passVia(prometheus.url.href, '--metrics-file', metricsFile);
    const rows = report(result);
    const metrics = await readFile(metricsFile, 'utf8');

    expect(result.code).toBe(0);
    expect(rows.filter((r) => r['reason'] !== 'metrics-unavailable')).toEqual([]);
    expect(String(byName(rows, 'full')?.['detail'])).toMatch(
      /^Prometheus http:\/\/127\.0\.0\.1:\d+: the kubelet_volume_stats_\w+ query failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(cluster.sim.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
    expect(metrics).toContain(
      'pvc_chonker_stats_source_errors_total{reason="unreachable",source="prometheus"} 7\n',
    );
    expect(metrics).toContain('pvc_chonker_stats_source_pvcs{source="prometheus"} 0\n');
  });
});
