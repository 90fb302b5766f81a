/**
 * PVCPolicy, PVCGroup and StorageClass defaults end to end: the built CLI against the simulated
 * cluster serving the project's own CRDs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  byName,
  isWrite,
  report,
  seed,
  startHarness,
  type Claim,
  type Harness,
} from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
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

function stored(
  h: Harness,
  kind: 'PVCPolicy' | 'PVCGroup',
  namespace: string | undefined,
  name: string,
): Record<string, unknown> {
  return h.sim.getObject(kind, namespace, name) as Record<string, unknown>;
}

function requestOf(h: Harness, namespace: string, name: string): string {
  const pvc = h.sim.getObject('PersistentVolumeClaim', namespace, name) as {
    spec: { resources: { requests: { storage: string } } };
  };
  return pvc.spec.resources.requests.storage;
}

const labelled = (name: string, usedPercent: number, labels: Record<string, string>): Claim => ({
  name,
  usedPercent,
  labels,
  managed: false,
});

describe('policies', () => {
  it('manages the PVCs a policy selects with its template; overlap goes to priority, then name', async () => {
    harness = await startHarness(
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
    );

    const result = await harness.cli(['--output', 'json']);

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
    expect(requestOf(harness, 'db', 'pg-0')).toBe('15Gi');
    const status = stored(harness, 'PVCPolicy', 'db', 'database')['status'] as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ matchedPVCs: 1, observedGeneration: 1 });
    expect(status['conditions']).toEqual([
      expect.objectContaining({ type: 'Valid', status: 'True' }),
    ]);
    expect(
      (stored(harness, 'PVCPolicy', 'db', 'broad')['status'] as Record<string, unknown>)[
        'matchedPVCs'
      ],
    ).toBe(2);
    const decision = result.logs.find((l) => l['msg'] === 'pvc decision' && l['name'] === 'pg-0');
    expect(decision).toMatchObject({ policy: 'database', otherPolicies: ['db/broad'] });
  });

  it('an invalid policy expands nothing it selects, says why, and the rest proceeds', async () => {
    const base = seed([
      labelled('pg-0', 95, { workload: 'database' }),
      { name: 'plain', usedPercent: 95 },
    ]);
    harness = await startHarness(base, { crds: true });
    // Written behind the API's validation, as an older CRD version might have let it in.
    harness.sim.putObject(
      policy('database', {
        selector: { matchLabels: { workload: 'database' } },
        template: { threshold: 'eighty' },
      }),
    );

    const result = await harness.cli(['--output', 'json']);

    expect(result.code).toBe(0);
    const row = byName(report(result), 'pg-0');
    expect(row).toMatchObject({ action: 'error', reason: 'invalid-policy' });
    expect(row?.['detail']).toContain('PVCPolicy db/database: spec.template.threshold');
    expect(row?.['detail']).toContain('"eighty"');
    expect(byName(report(result), 'plain')).toMatchObject({ action: 'expand' });
    expect(requestOf(harness, 'db', 'pg-0')).toBe('10Gi');
    const status = stored(harness, 'PVCPolicy', 'db', 'database')['status'] as {
      conditions: Record<string, unknown>[];
    };
    expect(status.conditions[0]).toMatchObject({
      type: 'Valid',
      status: 'False',
      reason: 'InvalidSpec',
    });
    expect(status.conditions[0]?.['message']).toContain('spec.template.threshold');
  });

  it('a StorageClass annotated enabled manages its PVCs with its defaults', async () => {
    const base = seed([{ name: 'a', usedPercent: 72, managed: false }]);
    base.objects[0] = {
      ...base.objects[0],
      metadata: {
        name: 'standard',
        annotations: { 'pvc-chonker.io/enabled': 'true', 'pvc-chonker.io/threshold': '70%' },
      },
    };
    harness = await startHarness(base);

    const result = await harness.cli(['--output', 'json']);

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

  it('a PVCPolicy list that fails for another reason fails the pass with exit 1', async () => {
    harness = await startHarness(seed([{ name: 'a', usedPercent: 90 }]), { crds: true });
    harness.sim.faults.add({ method: 'GET', path: '/pvcpolicies', status: 403 });

    const result = await harness.cli(['--output', 'json']);

    expect(result.code).toBe(1);
    expect(requestOf(harness, 'db', 'a')).toBe('10Gi');
  });
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
    harness = await startHarness(seed(members, [es]), { crds: true });

    const result = await harness.cli(['--output', 'json']);

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
      expect(requestOf(harness, 'elastic', name)).toBe('30Gi');
      const pvc = harness.sim.getObject('PersistentVolumeClaim', 'elastic', name) as {
        metadata: { annotations: Record<string, string> };
      };
      expect(pvc.metadata.annotations['pvc-chonker.io/expansion-history']).toContain(
        '"reason":"group"',
      );
    }
    const status = stored(harness, 'PVCGroup', undefined, 'es')['status'] as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({
      currentSize: '30Gi',
      memberCount: 3,
      expansionHistory: [{ from: '20Gi', to: '30Gi', trigger: 'elastic/es-0' }],
    });
    const statusWrites = harness.sim.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith('/pvcgroups/es/status'),
    );
    expect(statusWrites).toHaveLength(1);
    expect(statusWrites[0]?.body).toMatchObject({
      metadata: { resourceVersion: expect.any(String) as unknown },
    });
  });

  it('a new smaller member catches up (group-sync); a status conflict is re-read and retried once', async () => {
    const newcomer: Claim = {
      name: 'es-3',
      namespace: 'elastic',
      usedPercent: 10,
      managed: false,
      sizeGi: 10,
      annotations: { 'pvc-chonker.io/group': 'es' },
    };
    harness = await startHarness(
      seed(
        [...members.map((m) => ({ ...m, usedPercent: 30 })), newcomer],
        [
          group(
            'es',
            { members: members.map((m) => ({ namespace: 'elastic', name: m.name })) },
            { currentSize: '20Gi' },
          ),
        ],
      ),
      { crds: true },
    );
    harness.sim.faults.add({
      method: 'PATCH',
      path: '/pvcgroups/es/status',
      status: 409,
      times: 1,
    });

    const result = await harness.cli(['--output', 'json']);

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
    expect(requestOf(harness, 'elastic', 'es-3')).toBe('20Gi');
    const statusWrites = harness.sim.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith('/pvcgroups/es/status'),
    );
    expect(statusWrites.map((r) => r.status)).toEqual([409, 200]);
    expect(
      (stored(harness, 'PVCGroup', undefined, 'es')['status'] as Record<string, unknown>)[
        'memberCount'
      ],
    ).toBe(4);
  });

  it('dry run writes nothing, status included', async () => {
    harness = await startHarness(seed(members, [es, policy('p', { selector: {} }, 'elastic')]), {
      crds: true,
    });

    const result = await harness.cli(['--output', 'json', '--dry-run']);

    expect(result.code).toBe(0);
    expect(byName(report(result), 'es-1')).toMatchObject({
      action: 'would-expand',
      reason: 'group-sync',
    });
    expect(harness.sim.requests.filter(isWrite)).toEqual([]);
    // Each custom resource is listed exactly once.
    expect(harness.sim.requests.filter((r) => r.path.endsWith('/pvcpolicies'))).toHaveLength(1);
    expect(harness.sim.requests.filter((r) => r.path.endsWith('/pvcgroups'))).toHaveLength(1);
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
    harness = await startHarness(base, { crds: true });
    const h = harness;
    const explain = (args: string[]): ReturnType<Harness['cli']> =>
      import('./harness.js').then(({ runCli }) =>
        runCli(['explain', ...args, '--kubeconfig', h.kubeconfig]),
      );

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
    expect(text.stdout).toContain('threshold         85%         from policy:db/database');
    expect(text.stdout).toMatch(
      /^Stats {6}capacity 10Gi, used \d+\.\d%, inodes .*, from kubelet$/m,
    );
    expect(Math.max(...text.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('db/nope not found');
    expect(h.sim.requests.filter(isWrite)).toEqual([]);
  });
});
