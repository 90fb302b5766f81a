/**
 * PVCPolicy, PVCGroup and StorageClass defaults end to end: the built CLI against a cluster
 * serving the project's own CRDs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  isWrite,
  startSimOnly,
  startTestCluster,
  writes as writesOf,
  type TestCluster,
} from './test-cluster.js';
import { byName, report, runCli, seed, type Claim } from './harness.js';
import { itOnSim } from './sim-only.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function policy(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'db',
): Record<string, unknown> {
  return {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCPolicy',
    metadata: { name, namespace },
    spec,
  };
}

function group(
  name: string,
  spec: Record<string, unknown>,
  status?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCGroup',
    metadata: { name },
    spec,
    ...(status === undefined ? {} : { status }),
  };
}

async function statusOf(
  c: TestCluster,
  kind: 'PVCPolicy' | 'PVCGroup',
  namespace: string | undefined,
  name: string,
): Promise<Record<string, unknown>> {
  const object = (await c.get(kind, namespace, name)) as { status?: Record<string, unknown> };
  return object.status ?? {};
}

async function requestOf(c: TestCluster, namespace: string, name: string): Promise<string> {
  const pvc = (await c.get('PersistentVolumeClaim', namespace, name)) as {
    spec: { resources: { requests: { storage: string } } };
  };
  return pvc.spec.resources.requests.storage;
}

async function statusWrites(
  c: TestCluster,
  group: string,
): Promise<{ status: number; body?: unknown }[]> {
  return (await c.requests()).filter(
    (r) => r.method === 'PATCH' && r.path.endsWith(`/pvcgroups/${group}/status`),
  );
}

const labelled = (name: string, usedPercent: number, labels: Record<string, string>): Claim => ({
  name,
  usedPercent,
  labels,
  managed: false,
});

describe('policies', () => {
  it('manages the PVCs a policy selects with its template; overlap goes to priority, then name', async () => {
    const c = (cluster = await startTestCluster(
      seed(
        [
          labelled('pg-0', 87, { workload: 'database' }),
          labelled('cache-0', 87, { workload: 'cache' }),
          { name: 'plain', usedPercent: 87 },
        ],
        [
          policy('database', {
            selector: { matchLabels: { workload: 'database' } },
            priority: 10,
            template: { threshold: '85%', increase: '50%' },
          }),
          policy('broad', {
            selector: { matchExpressions: [{ key: 'workload', operator: 'Exists' }] },
            template: { threshold: '90%' },
          }),
        ],
      ),
      { crds: true },
    ));

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'pg-0')).toMatchObject({
      action: 'expand',
      policy: 'database',
      otherPolicies: ['db/broad'],
      newSize: '15Gi',
    });
    // broad (90%) applies to cache-0: 87% is below it.
    expect(byName(rows, 'cache-0')).toMatchObject({
      action: 'skip',
      reason: 'below-threshold',
      policy: 'broad',
    });
    // The default 80% applies to the annotated PVC.
    expect(byName(rows, 'plain')).toMatchObject({ action: 'expand', policy: null });
    expect(await requestOf(c, 'db', 'pg-0')).toBe('15Gi');
    const status = await statusOf(c, 'PVCPolicy', 'db', 'database');
    expect(status).toMatchObject({ matchedPVCs: 1, observedGeneration: 1 });
    expect(status['conditions']).toEqual([
      expect.objectContaining({ type: 'Valid', status: 'True' }),
    ]);
    expect((await statusOf(c, 'PVCPolicy', 'db', 'broad'))['matchedPVCs']).toBe(2);
    const decision = result.logs.find((l) => l['msg'] === 'pvc decision' && l['name'] === 'pg-0');
    expect(decision).toMatchObject({ policy: 'database', otherPolicies: ['db/broad'] });
  });

  itOnSim('behind-validation')(
    'an invalid policy expands nothing it selects, says why, and the rest proceeds',
    async () => {
      const base = seed([
        labelled('pg-0', 95, { workload: 'database' }),
        { name: 'plain', usedPercent: 95 },
      ]);
      const c = (cluster = await startSimOnly(base, { crds: true }));
      // Written behind the API's validation, as an older CRD version might have let it in.
      c.sim.putObject(
        policy('database', {
          selector: { matchLabels: { workload: 'database' } },
          template: { threshold: 'eighty' },
        }),
      );

      const result = await c.cli(['--output', 'json']);

      expect(result.code).toBe(0);
      const row = byName(report(result), 'pg-0');
      expect(row).toMatchObject({ action: 'error', reason: 'invalid-policy' });
      expect(row?.['detail']).toContain('PVCPolicy db/database: spec.template.threshold');
      expect(row?.['detail']).toContain('"eighty"');
      expect(byName(report(result), 'plain')).toMatchObject({ action: 'expand' });
      expect(await requestOf(c, 'db', 'pg-0')).toBe('10Gi');
      const status = (await statusOf(c, 'PVCPolicy', 'db', 'database')) as {
        conditions: Record<string, unknown>[];
      };
      expect(status.conditions[0]).toMatchObject({
        type: 'Valid',
        status: 'False',
        reason: 'InvalidSpec',
      });
      expect(status.conditions[0]?.['message']).toContain('spec.template.threshold');
    },
  );

  it('a StorageClass annotated enabled manages its PVCs with its defaults', async () => {
    const base = seed([{ name: 'a', usedPercent: 72, managed: false }]);
    base.objects[0] = {
      ...base.objects[0],
      metadata: {
        name: 'standard',
        annotations: { 'pvc-chonker.io/enabled': 'true', 'pvc-chonker.io/threshold': '70%' },
      },
    };
    const c = (cluster = await startTestCluster(base));

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    expect(byName(report(result), 'a')).toMatchObject({
      action: 'expand',
      reason: 'threshold-reached',
    });
    // CRDs absent: one info line, exit 0.
    expect(
      result.logs.filter((l) => String(l['msg']).includes('custom resources not installed')),
    ).toHaveLength(1);
  });

  itOnSim('injected-status')(
    'a PVCPolicy list that fails for another reason fails the pass with exit 1',
    async () => {
      const c = (cluster = await startSimOnly(seed([{ name: 'a', usedPercent: 90 }]), {
        crds: true,
      }));
      c.sim.faults.add({ method: 'GET', path: '/pvcpolicies', status: 403 });

      const result = await c.cli(['--output', 'json']);

      expect(result.code).toBe(1);
      expect(await requestOf(c, 'db', 'a')).toBe('10Gi');
    },
  );
});

describe('groups', () => {
  const members: Claim[] = [
    { name: 'es-0', namespace: 'elastic', usedPercent: 90, managed: false, sizeGi: 20 },
    { name: 'es-1', namespace: 'elastic', usedPercent: 40, managed: false, sizeGi: 20 },
    {
      name: 'es-2',
      namespace: 'elastic',
      usedPercent: 30,
      managed: false,
      sizeGi: 20,
      annotations: { 'pvc-chonker.io/increase': '50%' },
    },
  ];
  const es = group('es', { members: members.map((m) => ({ namespace: 'elastic', name: m.name })) });

  it('one member over its threshold grows the whole group to the largest next size', async () => {
    const c = (cluster = await startTestCluster(seed(members, [es]), { crds: true }));

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'es-0')).toMatchObject({
      action: 'expand',
      reason: 'threshold-reached',
      newSize: '30Gi',
      group: 'es',
    });
    expect(byName(rows, 'es-1')).toMatchObject({
      action: 'expand',
      reason: 'group-sync',
      newSize: '30Gi',
    });
    expect(byName(rows, 'es-2')).toMatchObject({
      action: 'expand',
      reason: 'group-sync',
      newSize: '30Gi',
    });
    for (const name of ['es-0', 'es-1', 'es-2']) {
      expect(await requestOf(c, 'elastic', name)).toBe('30Gi');
      const pvc = (await c.get('PersistentVolumeClaim', 'elastic', name)) as {
        metadata: { annotations: Record<string, string> };
      };
      expect(pvc.metadata.annotations['pvc-chonker.io/expansion-history']).toContain(
        '"reason":"group"',
      );
    }
    expect(await statusOf(c, 'PVCGroup', undefined, 'es')).toMatchObject({
      currentSize: '30Gi',
      memberCount: 3,
      expansionHistory: [{ from: '20Gi', to: '30Gi', trigger: 'elastic/es-0' }],
    });
    const writes = await statusWrites(c, 'es');
    expect(writes).toHaveLength(1);
    expect(writes[0]?.body).toMatchObject({
      metadata: { resourceVersion: expect.any(String) as unknown },
    });
  });

  const newcomer: Claim = {
    name: 'es-3',
    namespace: 'elastic',
    usedPercent: 10,
    managed: false,
    sizeGi: 10,
    annotations: { 'pvc-chonker.io/group': 'es' },
  };
  const grown = seed(
    [...members.map((m) => ({ ...m, usedPercent: 30 })), newcomer],
    [
      group(
        'es',
        { members: members.map((m) => ({ namespace: 'elastic', name: m.name })) },
        { currentSize: '20Gi' },
      ),
    ],
  );

  it('a new smaller member catches up (group-sync) and is counted in the status', async () => {
    const c = (cluster = await startTestCluster(grown, { crds: true }));

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    expect(byName(report(result), 'es-3')).toMatchObject({
      action: 'expand',
      reason: 'group-sync',
      newSize: '20Gi',
      group: 'es',
    });
    expect(byName(report(result), 'es-0')).toMatchObject({
      action: 'skip',
      reason: 'below-threshold',
    });
    expect(await requestOf(c, 'elastic', 'es-3')).toBe('20Gi');
    expect((await statusWrites(c, 'es')).map((r) => r.status)).toEqual([200]);
    expect((await statusOf(c, 'PVCGroup', undefined, 'es'))['memberCount']).toBe(4);
  });

  itOnSim('injected-status')('a status conflict is re-read and retried once', async () => {
    const c = (cluster = await startSimOnly(grown, { crds: true }));
    c.sim.faults.add({ method: 'PATCH', path: '/pvcgroups/es/status', status: 409, times: 1 });

    const result = await c.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    expect((await statusWrites(c, 'es')).map((r) => r.status)).toEqual([409, 200]);
    expect((await statusOf(c, 'PVCGroup', undefined, 'es'))['memberCount']).toBe(4);
  });

  it('dry run writes nothing, status included', async () => {
    const c = (cluster = await startTestCluster(
      seed(members, [es, policy('p', { selector: {} }, 'elastic')]),
      { crds: true },
    ));

    const result = await c.cli(['--output', 'json', '--dry-run']);

    expect(result.code).toBe(0);
    expect(byName(report(result), 'es-1')).toMatchObject({
      action: 'would-expand',
      reason: 'group-sync',
    });
    const requests = await c.requests();
    expect(requests.filter(isWrite)).toEqual([]);
    // Each custom resource is listed exactly once.
    expect(requests.filter((r) => r.path.endsWith('/pvcpolicies'))).toHaveLength(1);
    expect(requests.filter((r) => r.path.endsWith('/pvcgroups'))).toHaveLength(1);
  });
});

describe('explain', () => {
  it('shows why, each setting with its layer, the policies, the group and the decision; writes nothing', async () => {
    const base = seed(
      [
        {
          name: 'pg-0',
          usedPercent: 88,
          managed: false,
          labels: { workload: 'database' },
          annotations: { 'pvc-chonker.io/cooldown': '1h' },
        },
      ],
      [
        policy('database', {
          selector: { matchLabels: { workload: 'database' } },
          priority: 5,
          template: { threshold: '85%', maxSize: '100Gi' },
        }),
        policy('broad', { selector: {}, template: { increase: '20%' } }),
      ],
    );
    const h = (cluster = await startTestCluster(base, { crds: true }));
    const explain = (args: string[]): ReturnType<typeof runCli> =>
      runCli(['explain', ...args, '--kubeconfig', h.kubeconfig]);

    const json = await explain(['db/pg-0', '--output', 'json']);
    const text = await explain(['db/pg-0']);
    const missing = await explain(['db/nope']);

    expect(json.code).toBe(0);
    const e = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(e).toMatchObject({
      pvc: 'db/pg-0',
      managed: true,
      policies: { chosen: 'db/database', matched: ['db/database', 'db/broad'] },
    });
    expect(e['settings']).toEqual(
      expect.arrayContaining([
        { name: 'threshold', value: '85%', source: 'policy:db/database' },
        { name: 'max-size', value: '100Gi', source: 'policy:db/database' },
        { name: 'cooldown', value: '1h', source: 'annotation' },
        { name: 'increase', value: '10%', source: 'default' },
      ]),
    );
    expect(e['decision']).toMatchObject({
      action: 'would-expand',
      reason: 'threshold-reached',
      newSize: '11Gi',
    });
    // Where the usage came from: the node's kubelet, read directly (the default source).
    expect(e['stats']).toMatchObject({ capacity: '10Gi', source: 'kubelet' });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('threshold           85%         from policy:db/database');
    expect(text.stdout).toMatch(
      /^Stats {6}capacity 10Gi, used \d+\.\d%, inodes .*, from kubelet$/m,
    );
    expect(Math.max(...text.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('db/nope not found');
    expect(await writesOf(h)).toEqual([]);
  });
});
