import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimOnly, startTestCluster, writes, type TestCluster } from './test-cluster.js';
import { byName, pvcEvents, report, runCli, seed } from './harness.js';
import { itOnSim } from './sim-only.js';

interface PvcObject {
  metadata: { annotations?: Record<string, string>; resourceVersion: string };
  spec: { resources: { requests: { storage: string } } };
}

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const FLEET = [
  { name: 'full', usedPercent: 95, node: 'node-a' },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-b' },
  { name: 'fixed-class', usedPercent: 95, storageClass: 'fixed', node: 'node-b' },
  {
    name: 'bad',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/threshold': 'eighty' },
    node: 'node-b',
  },
  { name: 'unmanaged', usedPercent: 99, managed: false, node: 'node-c' },
];

describe('pvc-chonker run', () => {
  it('expands what needs it in one PATCH with state annotations, and records events', async () => {
    const c = (cluster = await startTestCluster(seed(FLEET)));

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    const rows = report(result);
    expect(
      rows.map((r) => `${String(r['name'])}:${String(r['action'])}:${String(r['reason'])}`),
    ).toEqual([
      'bad:error:invalid-annotation',
      'calm:skip:below-threshold',
      'fixed-class:skip:expansion-not-allowed',
      'full:expand:threshold-reached',
      'inodes:expand:threshold-reached',
    ]);
    expect(byName(rows, 'full')).toMatchObject({
      currentSize: '10Gi',
      newSize: '11Gi',
      type: 'storage',
    });
    expect(byName(rows, 'inodes')).toMatchObject({ type: 'inodes', inodesUsedRatio: 0.9 });
    const full = (await c.get('PersistentVolumeClaim', 'db', 'full')) as PvcObject;
    expect(full.spec.resources.requests.storage).toBe('11Gi');
    expect(full.metadata.annotations?.['pvc-chonker.io/last-expansion']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(
      JSON.parse(full.metadata.annotations?.['pvc-chonker.io/expansion-history'] ?? '[]'),
    ).toMatchObject([{ from: '10Gi', to: '11Gi', reason: 'threshold-reached' }]);
    const bad = (await c.get('PersistentVolumeClaim', 'db', 'bad')) as PvcObject;
    expect(bad.spec.resources.requests.storage).toBe('10Gi');
    // One PATCH per expansion, and every event accepted by the API server's validation.
    const requests = await c.requests();
    const patches = requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.path, r.status]).sort()).toEqual([
      ['/api/v1/namespaces/db/persistentvolumeclaims/full', 200],
      ['/api/v1/namespaces/db/persistentvolumeclaims/inodes', 200],
    ]);
    // A merge patch (the real server enforces the type; only the simulator's log shows it).
    for (const patch of patches)
      expect(patch.contentType ?? 'application/merge-patch+json').toBe(
        'application/merge-patch+json',
      );
    const events = requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events'));
    expect(events.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const recorded = pvcEvents(await c.list('Event')) as {
      type: string;
      reason: string;
      involvedObject: { name: string };
      eventTime: string;
    }[];
    expect(recorded.map((e) => `${e.involvedObject.name}:${e.type}:${e.reason}`).sort()).toEqual([
      'bad:Warning:invalid-annotation',
      'fixed-class:Warning:expansion-not-allowed',
      'full:Normal:threshold-reached',
      'inodes:Normal:threshold-reached',
    ]);
    expect(recorded[0]?.eventTime).toMatch(/\.\d{6}Z$/);
  });

  it('with a named --provider, lists PersistentVolumes only when a PVC detects its provider from one', async () => {
    const c = (cluster = await startTestCluster(
      seed([
        { name: 'calm', namespace: 'quiet', usedPercent: 40, node: 'node-a' },
        {
          name: 'own',
          namespace: 'detected',
          usedPercent: 40,
          node: 'node-a',
          annotations: { 'pvc-chonker.io/provider': 'auto' },
        },
        { name: 'full', usedPercent: 95, node: 'node-a' },
      ]),
    ));
    const pvLists = async (): Promise<number> =>
      (await c.requests()).filter(
        (r) => r.method === 'GET' && r.path === '/api/v1/persistentvolumes',
      ).length;
    const lists: number[] = [];
    const pass = async (...args: string[]): Promise<Record<string, unknown>[]> => {
      const rows = report(await c.cli(['--output', 'json', ...args]));
      lists.push(await pvLists());
      return rows;
    };

    const quiet = await pass('--provider', 'generic', '--namespace', 'quiet');
    // generic's check needs no volume: growing lists none either.
    const growing = await pass('--provider', 'generic', '--namespace', 'db');
    const own = await pass('--provider', 'generic', '--namespace', 'detected');
    // The default, --provider auto, reads every PVC's provider from its PV: listed up front.
    const detected = await pass('--namespace', 'quiet');

    expect(quiet.map((r) => r['reason'])).toEqual(['below-threshold']);
    expect(byName(growing, 'full')).toMatchObject({ action: 'expand', provider: 'generic' });
    expect(own.map((r) => r['reason'])).toEqual(['below-threshold']);
    expect(detected.map((r) => r['reason'])).toEqual(['below-threshold']);
    expect(lists).toEqual([0, 0, 1, 2]);
  });

  it('sends no write of any kind in dry run', async () => {
    const c = (cluster = await startTestCluster(seed(FLEET)));

    const result = await c.cli(['--dry-run', '--output', 'json']);

    expect(result.code).toBe(0);
    expect(byName(report(result), 'full')).toMatchObject({
      action: 'would-expand',
      newSize: '11Gi',
    });
    expect(await writes(c)).toEqual([]);
  });

  it('makes only the lists, one stats call per node with a managed PVC, and one patch + event per expansion', async () => {
    const c = (cluster = await startTestCluster(
      seed([...FLEET, { name: 'elsewhere', usedPercent: 10, node: 'node-d', managed: false }]),
    ));

    await c.cli(['--page-size', '2']);

    const requests = await c.requests();
    const kinds = requests.map(
      (r) =>
        `${r.method} ${r.path.replace(/\/namespaces\/[^/]+/, '').replace(/\/(persistentvolumeclaims|nodes)\/[^/]+/, '/$1/NAME')}`,
    );
    const count = (kind: string): number => kinds.filter((k) => k === kind).length;
    // 7 PVCs at 2 per page: 4 pages.
    expect(count('GET /api/v1/persistentvolumeclaims')).toBe(4);
    // One Node read per node with a managed PVC (its address), then its kubelet, directly.
    expect(count('GET /api/v1/nodes/NAME')).toBe(2);
    expect(count('GET /api/v1/nodes/NAME/proxy/stats/summary')).toBe(0);
    expect(c.kubeletRequests()).toEqual([
      'node-a GET /stats/summary stats 200',
      'node-b GET /stats/summary stats 200',
    ]);
    expect(requests.some((r) => r.path.includes('node-c') || r.path.includes('node-d'))).toBe(
      false,
    );
    expect(count('PATCH /api/v1/persistentvolumeclaims/NAME')).toBe(2);
    expect(count('POST /api/v1/events')).toBe(4);
    expect(
      requests
        .filter((r) => r.path === '/api/v1/persistentvolumeclaims')
        .map((r) => r.query['limit']),
    ).toEqual(['2', '2', '2', '2']);
  });

  it('reads the lists side by side, asks a kubelet only once the pods are in, writes a PVC only once its node answered', async () => {
    const c = (cluster = await startTestCluster(
      seed([
        { name: 'a', usedPercent: 95, node: 'node-a' },
        { name: 'b', usedPercent: 40, node: 'node-b' },
        { name: 'c', usedPercent: 95, node: 'node-b' },
        { name: 'd', usedPercent: 95, node: 'node-c' },
      ]),
      { latencyMs: 20 },
    ));

    // Through the node proxy: the kubelet calls are then the API server's, in its request log.
    const result = await c.cli([
      '--page-size',
      '1',
      '--output',
      'json',
      '--stats-source',
      'kubelet-proxy',
    ]);

    expect(result.code).toBe(0);
    const requests = await c.requests();
    const starts = (test: (path: string) => boolean): number[] =>
      requests.filter((r) => r.method === 'GET' && test(r.path)).map((r) => r.startedAt);
    const pvcPages = starts((path) => path === '/api/v1/persistentvolumeclaims');
    expect(pvcPages).toHaveLength(4);
    // The PV and pod lists do not wait for the PVC list: they start before its second page.
    expect(Math.min(...starts((path) => path === '/api/v1/persistentvolumes'))).toBeLessThan(
      pvcPages[1] ?? 0,
    );
    expect(Math.min(...starts((path) => path === '/api/v1/pods'))).toBeLessThan(pvcPages[1] ?? 0);
    // Causal order, not timing: a request can only follow the answers it needed.
    const lastPodsPage = Math.max(...starts((path) => path === '/api/v1/pods'));
    const stats = starts((path) => path.endsWith('/proxy/stats/summary'));
    expect(stats).toHaveLength(3);
    for (const start of stats) expect(start).toBeGreaterThan(lastPodsPage);
    for (const [pvc, node] of [
      ['a', 'node-a'],
      ['c', 'node-b'],
      ['d', 'node-c'],
    ] as const) {
      const patch = requests.find(
        (r) => r.method === 'PATCH' && r.path.endsWith(`/persistentvolumeclaims/${pvc}`),
      );
      const asked = starts((path) => path === `/api/v1/nodes/${node}/proxy/stats/summary`);
      expect(patch?.startedAt).toBeGreaterThan(asked[0] ?? Number.POSITIVE_INFINITY);
    }
    // The report is in list order, whatever order the kubelets answered in.
    expect(report(result).map((r) => `${String(r['name'])}:${String(r['action'])}`)).toEqual([
      'a:expand',
      'b:skip',
      'c:expand',
      'd:expand',
    ]);
  });

  it('a second run holds by cooldown, and never expands a resize still in flight', async () => {
    const c = (cluster = await startTestCluster(
      seed([
        { name: 'full', usedPercent: 97 },
        { name: 'slow', usedPercent: 97 },
      ]),
      { resizeDelayMs: 60_000 },
    ));
    await c.cli([]);

    const second = report(await c.cli(['--output', 'json']));

    // Resizes are still in flight (spec > status.capacity): no second expansion.
    expect(second.map((r) => r['reason'])).toEqual(['resize-in-progress', 'resize-in-progress']);
    await c.settle();
    const third = report(await c.cli(['--output', 'json']));
    // 97% of 10Gi is 86% of 11Gi: still over threshold, held by the 15m cooldown.
    expect(third.map((r) => r['reason'])).toEqual(['cooldown', 'cooldown']);
    expect((await c.requests()).filter((r) => r.method === 'PATCH')).toHaveLength(2);
  });

  itOnSim('injected-status')('retries a 409 once after re-reading the PVC', async () => {
    const c = (cluster = await startSimOnly(seed([{ name: 'full', usedPercent: 95 }])));
    c.sim.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/full$',
      times: 1,
      status: 409,
      reason: 'Conflict',
    });

    const result = await c.cli(['--output', 'json']);

    expect(byName(report(result), 'full')).toMatchObject({ action: 'expand' });
    const sequence = (await c.requests())
      .filter((r) => r.path.endsWith('/persistentvolumeclaims/full'))
      .map((r) => `${r.method} ${r.status}`);
    expect(sequence).toEqual(['PATCH 409', 'GET 200', 'PATCH 200']);
  });

  itOnSim('kubelet-fault')(
    'a failing or hanging kubelet only costs its own PVCs their stats',
    async () => {
      const c = (cluster = await startSimOnly(
        seed([
          { name: 'a', usedPercent: 95, node: 'node-a' },
          { name: 'b', usedPercent: 95, node: 'node-b' },
          { name: 'c', usedPercent: 95, node: 'node-c' },
        ]),
      ));
      c.sim.faults.failNode('node-b', 503);
      c.sim.faults.hangNode('node-c');

      const result = await c.cli(['--output', 'json', '--stats-timeout', '1s']);

      expect(result.code).toBe(0);
      const rows = report(result);
      expect(byName(rows, 'a')).toMatchObject({ action: 'expand' });
      expect(byName(rows, 'b')).toMatchObject({ action: 'skip', reason: 'metrics-unavailable' });
      expect(byName(rows, 'c')).toMatchObject({ action: 'skip', reason: 'metrics-unavailable' });
      expect(String(byName(rows, 'c')?.['detail'])).toContain('timed out');
      expect(result.durationMs).toBeLessThan(10_000);
    },
  );

  itOnSim('injected-status')(
    'honours Retry-After on a 429 and recovers from 503s and a reset connection',
    async () => {
      const c = (cluster = await startSimOnly(seed([{ name: 'full', usedPercent: 95 }])));
      c.sim.faults.add({
        method: 'GET',
        path: '^/api/v1/persistentvolumeclaims$',
        times: 1,
        status: 429,
        retryAfterSeconds: 1,
      });
      c.sim.faults.add({ method: 'GET', path: '^/api/v1/pods$', times: 1, status: 503 });
      c.sim.faults.add({ method: 'PATCH', times: 1, reset: true });

      const result = await c.cli(['--output', 'json']);

      expect(result.code).toBe(0);
      expect(byName(report(result), 'full')).toMatchObject({ action: 'expand' });
      const lists = (await c.requests()).filter((r) => r.path === '/api/v1/persistentvolumeclaims');
      expect(lists.map((r) => r.status)).toEqual([429, 200]);
      expect(lists[1]!.startedAt - lists[0]!.startedAt).toBeGreaterThanOrEqual(900);
      expect(result.logs.some((l) => l['msg'] === 'retrying kubernetes api call')).toBe(true);
    },
  );

  itOnSim('continue-expiry')(
    'lists again from the start when a continue token expires (410), counting each PVC once',
    async () => {
      const c = (cluster = await startSimOnly(
        seed(['a', 'b', 'c', 'd'].map((name) => ({ name, usedPercent: 40 }))),
        { latencyMs: 150 },
      ));
      // Log entries appear on arrival; wait for a page that has been answered (its token issued).
      const lists = (): number =>
        c.sim.requests.filter(
          (r) => r.path === '/api/v1/persistentvolumeclaims' && r.status === 200,
        ).length;

      const running = c.cli(['--page-size', '1', '--output', 'json']);
      while (lists() < 1) await new Promise((resolve) => setTimeout(resolve, 20));
      c.sim.compact();
      const result = await running;

      expect(result.code).toBe(0);
      expect(report(result).map((r) => r['name'])).toEqual(['a', 'b', 'c', 'd']);
      const statuses = (await c.requests())
        .filter((r) => r.path === '/api/v1/persistentvolumeclaims')
        .map((r) => r.status);
      expect(statuses).toContain(410);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(4);
      expect(
        result.logs.some((l) => l['msg'] === 'list continue token expired, listing again'),
      ).toBe(true);
      expect(result.logs.find((l) => l['msg'] === 'run finished')).toMatchObject({
        pvcsSeen: 4,
        managed: 4,
      });
    },
  );

  it('only reads the namespaces it is given', async () => {
    const c = (cluster = await startTestCluster(
      seed([
        { name: 'a', namespace: 'db' },
        { name: 'b', namespace: 'search' },
        { name: 'c', namespace: 'queues' },
      ]),
    ));

    const result = await c.cli(['--namespace', 'db', '--namespace', 'search', '--output', 'json']);

    expect(report(result).map((r) => r['namespace'])).toEqual(['db', 'search']);
    const requests = await c.requests();
    expect(requests.some((r) => r.path.includes('/namespaces/queues'))).toBe(false);
    expect(requests.some((r) => r.path === '/api/v1/persistentvolumeclaims')).toBe(false);
  });

  it('logs JSON lines on stderr, each with the run id, and PVC lines with namespace and name', async () => {
    const c = (cluster = await startTestCluster(seed(FLEET)));

    const result = await c.cli([]);

    expect(result.logs.length).toBeGreaterThan(3);
    const runIds = new Set(result.logs.map((l) => l['runId']));
    expect(runIds.size).toBe(1);
    expect([...runIds][0]).toMatch(/^[0-9a-f-]{36}$/);
    const decisions = result.logs.filter((l) => l['msg'] === 'pvc decision');
    expect(decisions).toHaveLength(5);
    expect(
      decisions.every((l) => typeof l['namespace'] === 'string' && typeof l['name'] === 'string'),
    ).toBe(true);
    expect(result.stdout).toContain('NAMESPACE  PVC');
  });
});

describe('exit status', () => {
  itOnSim('no-cluster')('is 1 when the API server cannot be reached', async () => {
    const c = (cluster = await startSimOnly(seed([])));
    await c.sim.close();

    const result = await c.cli(['--api-timeout', '2s', '--output', 'json']);

    expect(result.code).toBe(1);
    expect(result.logs.some((l) => l['msg'] === 'the pass could not complete')).toBe(true);
    // Not `[]`: one record says why the report is empty.
    expect(report(result)).toMatchObject([
      {
        namespace: null,
        name: null,
        action: 'error',
        reason: 'api-error',
        detail: expect.stringMatching(/^the pass could not complete: .*ECONNREFUSED/) as unknown,
      },
    ]);
  });

  it('logs what it ignores of the kubeconfig with a static message, the setting in a field', async () => {
    const c = (cluster = await startTestCluster(seed([{ name: 'a' }])));
    const kubeconfig = join(c.dir, 'with-proxy');
    const text = await readFile(c.kubeconfig, 'utf8');
    await writeFile(
      kubeconfig,
      text.replace(/^(\s+)server: (.*)$/m, '$1server: $2\n$1proxy-url: http://127.0.0.1:9'),
    );

    const result = await runCli(['run', '--kubeconfig', kubeconfig]);

    expect(result.code).toBe(0);
    expect(result.logs.filter((l) => l['msg'] === 'kubeconfig setting not supported')).toEqual([
      expect.objectContaining({
        warning:
          "the kubeconfig's proxy-url http://127.0.0.1:9 is not supported: connecting directly",
      }),
    ]);
  });

  itOnSim('injected-status')('is 1 when the API server refuses the credentials', async () => {
    const c = (cluster = await startSimOnly(seed([{ name: 'a' }])));
    c.sim.faults.add({ status: 401, reason: 'Unauthorized', message: 'Unauthorized' });

    const result = await c.cli([]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('401');
  });

  itOnSim('no-cluster').each([
    [['run', '--output', 'xml'], '--output: "xml"'],
    [['run', '--threshold', 'eighty'], '--threshold: "eighty"'],
    [['run', '--kubeconfig', '/nonexistent/kubeconfig'], '--kubeconfig: "/nonexistent/kubeconfig"'],
    [['run', '--bogus'], "unknown option '--bogus'"],
  ])('is 2 for %j, with a one-line message naming it', async (args, message) => {
    const result = await runCli(args);

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  itOnSim('no-cluster')('is 2 for a kubeconfig that does not parse, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-kc-'));
    const file = join(dir, 'kubeconfig');
    await writeFile(file, 'apiVersion: v1\nclusters: [:\n');

    const result = await runCli(['run', '--kubeconfig', file]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot load kubeconfig "${file}"`);
    await rm(dir, { recursive: true, force: true });
  });

  itOnSim('no-cluster')('reads options from PVC_CHONKER_* environment variables', async () => {
    const result = await runCli(['run'], { PVC_CHONKER_OUTPUT: 'yaml' });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--output: "yaml"');
  });
});
