/**
 * One run over two simulated clusters (two kubeconfig contexts), one of which fails: the built
 * CLI reports both in one report with a cluster column, pushes one Pushgateway group per cluster
 * (the `cluster` label is the context), keeps going when one fails, and exits with the worst
 * status. A dry run spans both.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPushgateway, type RunningPushgateway } from '../../bench/prometheus-processes.js';
import { SIM_TOKEN, startSimCluster, type SimCluster } from '../../sim/index.js';
import { report, runCli, seed } from './harness.js';
import { isWrite, startSimOnly } from './test-cluster.js';

type Harness = Awaited<ReturnType<typeof startSimOnly>>;

/** The simulator's writes (isWrite: not the kubelets' reviews), in order. */
function writes(sim: SimCluster): { method: string; path: string }[] {
  return sim.requests.filter(isWrite).map((r) => ({ method: r.method, path: r.path }));
}

/** A kubeconfig with one context per simulated cluster, named as given. */
function kubeconfigFor(clusters: Record<string, SimCluster>): string {
  const names = Object.keys(clusters);
  const lines = ['apiVersion: v1', 'kind: Config', `current-context: ${names[0] ?? ''}`];
  lines.push('clusters:');
  for (const [name, sim] of Object.entries(clusters))
    lines.push(
      `- name: ${name}`,
      '  cluster:',
      `    server: ${sim.url}`,
      '    insecure-skip-tls-verify: true',
    );
  lines.push('users:', '- name: sim', '  user:', `    token: ${SIM_TOKEN}`, 'contexts:');
  for (const name of names)
    lines.push(`- name: ${name}`, '  context:', `    cluster: ${name}`, '    user: sim');
  return `${lines.join('\n')}\n`;
}

interface ApiSample {
  labels: Record<string, string>;
  value: string;
}

type Group = Record<string, { metrics: ApiSample[] } | undefined>;

async function groups(pg: RunningPushgateway): Promise<Map<string, Group>> {
  const body = (await (await fetch(new URL('api/v1/metrics', pg.url))).json()) as {
    data: (Group & { labels: Record<string, string> })[];
  };
  return new Map(body.data.map((g) => [g.labels['cluster'] ?? '', g]));
}

function value(group: Group | undefined, name: string, where: Record<string, string> = {}): number {
  const samples = (group?.[name]?.metrics ?? []).filter((s) =>
    Object.entries(where).every(([k, v]) => s.labels[k] === v),
  );
  return samples.reduce((sum, s) => sum + Number(s.value), 0);
}

describe('one run over several clusters', () => {
  let alpha: Harness;
  let beta: Harness;
  let pg: RunningPushgateway;
  let kubeconfig: string;

  beforeAll(async () => {
    alpha = await startSimOnly(
      seed([
        { name: 'a-full', usedPercent: 95 },
        { name: 'a-calm', usedPercent: 30 },
      ]),
    );
    beta = await startSimOnly(seed([{ name: 'b-full', namespace: 'shop', usedPercent: 95 }]));
    pg = await startPushgateway();
    kubeconfig = join(alpha.dir, 'clusters.kubeconfig');
    await writeFile(kubeconfig, kubeconfigFor({ alpha: alpha.sim, beta: beta.sim }));
  });
  afterAll(async () => {
    await pg.stop();
    await alpha.close();
    await beta.close();
  });
  beforeEach(() => {
    alpha.sim.faults.clear();
    beta.sim.faults.clear();
  });

  const cli = (...args: string[]) => runCli(['run', '--kubeconfig', kubeconfig, ...args]);

  it('the table has a CLUSTER column and a footer line per cluster, the failure included', async () => {
    beta.sim.faults.add({ method: 'GET', path: '/persistentvolumeclaims', status: 403 });

    const result = await cli('--context', 'alpha', '--context', 'beta', '--dry-run');

    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLUSTER {2}NAMESPACE {2}PVC/);
    expect(lines[1]).toMatch(/^alpha {4}db {9}a-calm /);
    expect(lines.slice(-3)).toEqual([
      'alpha: 2 PVCs seen, 2 managed: 1 skip, 1 would-expand',
      expect.stringMatching(
        /^beta: 0 PVCs seen, 0 managed \(failed: list persistentvolumeclaims/,
      ) as unknown,
      '(dry run: nothing was changed)',
    ]);
  });

  it('--all-contexts --dry-run spans every cluster and writes to none', async () => {
    const result = await cli(
      '--all-contexts',
      '--dry-run',
      '--output',
      'json',
      '--cluster-concurrency',
      '1',
    );

    expect(result.code, result.stderr).toBe(0);
    expect(report(result).map((r) => [r['cluster'], r['name'], r['action']])).toEqual([
      ['alpha', 'a-calm', 'skip'],
      ['alpha', 'a-full', 'would-expand'],
      ['beta', 'b-full', 'would-expand'],
    ]);
    expect(writes(alpha.sim)).toEqual([]);
    expect(writes(beta.sim)).toEqual([]);
  });

  // The dry runs above wrote nothing; this run writes.
  it('a failing cluster: the other is still expanded and reported, each pushes its own group, exit 1', async () => {
    // beta's API server fails every PVC list (500, retried, then the pass gives up).
    beta.sim.faults.add({ method: 'GET', path: '/persistentvolumeclaims', status: 500 });

    const result = await cli(
      '--context',
      'alpha',
      '--context',
      'beta',
      '--pushgateway-url',
      pg.url.href,
      '--output',
      'json',
    );
    const pushed = await groups(pg);

    expect(result.code, result.stderr).toBe(1);
    const rows = report(result);
    expect(rows.map((r) => [r['cluster'], r['name'], r['action']])).toEqual([
      ['alpha', 'a-calm', 'skip'],
      ['alpha', 'a-full', 'expand'],
      // The failed cluster's record says why it has no rows.
      ['beta', null, 'error'],
    ]);
    expect(writes(alpha.sim).filter((w) => w.method === 'PATCH')).toHaveLength(1);
    expect(writes(beta.sim)).toEqual([]);
    const a = pushed.get('alpha');
    const b = pushed.get('beta');
    expect(value(a, 'pvc_chonker_last_run_status', { status: 'success' })).toBe(1);
    expect(value(a, 'pvc_chonker_pvcs_managed')).toBe(2);
    expect(value(a, 'pvc_chonker_expansions_total', { pvc: 'a-full' })).toBe(1);
    expect(value(b, 'pvc_chonker_last_run_status', { status: 'failed' })).toBe(1);
    expect(value(b, 'pvc_chonker_runs_total', { status: 'failed' })).toBe(1);
    expect(pushed.has('default')).toBe(false);
    const finished = result.logs.filter((l) => l['msg'] === 'run finished');
    expect(finished.map((l) => [l['cluster'], l['status']]).sort()).toEqual([
      ['alpha', 'success'],
      ['beta', 'failed'],
    ]);
    // Each pass is its own run, with its own id.
    expect(new Set(finished.map((l) => l['runId'])).size).toBe(2);
  });

  it('the environment chooses the clusters as the flags do (PVC_CHONKER_ALL_CONTEXTS)', async () => {
    const result = await runCli(['run', '--dry-run', '--output', 'json'], {
      PVC_CHONKER_KUBECONFIG: kubeconfig,
      PVC_CHONKER_ALL_CONTEXTS: 'true',
    });

    expect(result.code, result.stderr).toBe(0);
    expect([...new Set(report(result).map((r) => r['cluster']))]).toEqual(['alpha', 'beta']);
  });

  it.each([
    [
      ['--context', 'alpha', '--context', 'gamma'],
      '--context: "gamma" is not a context in the kubeconfig',
    ],
    [
      ['--context', 'alpha', '--context', 'beta', '--cluster-name', 'x'],
      '--cluster-name names one cluster',
    ],
    [['--all-contexts', '--metrics-file', '/tmp/never.prom'], '--metrics-file holds one cluster'],
    [['--all-contexts', '--context', 'alpha'], '--all-contexts and --context: choose one'],
    [
      ['--context', 'alpha', '--context', 'beta', '--cluster-concurrency', '0'],
      '--cluster-concurrency: "0"',
    ],
  ])('%j is a usage error (exit 2) before any cluster is touched', async (args, message) => {
    const before = alpha.sim.requests.length + beta.sim.requests.length;

    const result = await cli(...args);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(alpha.sim.requests.length + beta.sim.requests.length).toBe(before);
  });

  it('one --context is the single-cluster run as before: no CLUSTER column, metrics under --cluster-name', async () => {
    const result = await cli('--context', 'beta', '--dry-run', '--pushgateway-url', pg.url.href);
    const pushed = await groups(pg);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^NAMESPACE {2}PVC/);
    expect(value(pushed.get('default'), 'pvc_chonker_pvcs_managed')).toBe(1);
  });

  it('a context with unusable credentials fails that cluster only', async () => {
    const broken = join(alpha.dir, 'broken.kubeconfig');
    const text = kubeconfigFor({ alpha: alpha.sim, beta: beta.sim }).replace(
      'users:\n- name: sim\n',
      'users:\n- name: nofile\n  user:\n    tokenFile: /nonexistent/token\n- name: sim\n',
    );
    await writeFile(
      broken,
      text.replace('cluster: beta\n    user: sim', 'cluster: beta\n    user: nofile'),
    );

    const result = await runCli([
      'run',
      '--kubeconfig',
      broken,
      '--all-contexts',
      '--dry-run',
      '--output',
      'json',
    ]);

    expect(result.code).toBe(1);
    expect(report(result).map((r) => [r['cluster'], r['name']])).toEqual([
      ['alpha', 'a-calm'],
      ['alpha', 'a-full'],
      ['beta', null],
    ]);
    expect(result.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        cluster: 'beta',
        msg: 'the pass could not start',
        err: expect.stringContaining('/nonexistent/token') as unknown,
      }),
    );
  });
});

describe('several clusters with a cluster that cannot be reached', () => {
  it('exits 1 after the reachable one is done', async () => {
    const up = await startSimCluster({ seed: seed([{ name: 'ok', usedPercent: 95 }]) });
    const down = await startSimCluster({ seed: seed([]) });
    const h = await startSimOnly(seed([]));
    const path = join(h.dir, 'two.kubeconfig');
    await writeFile(path, kubeconfigFor({ up, down }));
    await down.close();
    try {
      const result = await runCli([
        'run',
        '--kubeconfig',
        path,
        '--all-contexts',
        '--output',
        'json',
      ]);

      expect(result.code).toBe(1);
      expect(report(result)).toMatchObject([
        { cluster: 'up', name: 'ok', action: 'expand' },
        { cluster: 'down', name: null, action: 'error', reason: 'api-error' },
      ]);
    } finally {
      await up.close();
      await h.close();
    }
  });
});
