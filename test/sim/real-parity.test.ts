// What the differential test (test/real/differential.test.ts) found the real kube-apiserver
// doing that the simulator did not, one test each, over plain HTTP.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed, raw } from './fixtures.js';

const CRDS = fileURLToPath(new URL('../../cronjob/crds', import.meta.url));
const PVCS = '/api/v1/namespaces/a/persistentvolumeclaims';
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

type Obj = Record<string, unknown> & {
  metadata: Record<string, unknown>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

function send(
  sim: SimCluster,
  method: string,
  path: string,
  body?: unknown,
): ReturnType<typeof raw> {
  const patch = method === 'PATCH';
  return raw(sim, path, {
    method,
    headers: { 'content-type': patch ? 'application/merge-patch+json' : 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function get(sim: SimCluster, path: string): Promise<Obj | undefined> {
  const answer = await raw(sim, path);
  return answer.status === 200 ? (answer.json as Obj) : undefined;
}

function claim(name: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: {}, annotations: {} },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

describe('simulated API server: what the real server does', () => {
  let sim: SimCluster;

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'a', name: 'used', node: 'n1' },
        { ns: 'a', name: 'seeded', labels: {} },
      ]),
      crds: CRDS,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('stores no empty labels, annotations or finalizers (ObjectMeta omitempty)', async () => {
    const created = await send(sim, 'POST', PVCS, claim('empty-maps'));
    await send(sim, 'PATCH', `${PVCS}/seeded`, {
      metadata: { annotations: { 'pvc-chonker.io/enabled': null } },
    });
    const policy = await send(
      sim,
      'POST',
      '/apis/pvc-chonker.io/v1alpha1/namespaces/a/pvcpolicies',
      {
        apiVersion: 'pvc-chonker.io/v1alpha1',
        kind: 'PVCPolicy',
        metadata: { name: 'p', labels: {}, annotations: {}, finalizers: [] },
        spec: { selector: {} },
      },
    );

    expect(created.status).toBe(201);
    expect(Object.keys((created.json as Obj).metadata)).not.toContain('labels');
    expect(Object.keys((created.json as Obj).metadata)).not.toContain('annotations');
    const seeded = await get(sim, `${PVCS}/seeded`);
    expect(Object.keys(seeded?.metadata ?? {})).not.toContain('annotations');
    expect(Object.keys(seeded?.metadata ?? {})).not.toContain('labels');
    expect(policy.status).toBe(201);
    expect(Object.keys((policy.json as Obj).metadata)).not.toContain('labels');
    expect(Object.keys((policy.json as Obj).metadata)).not.toContain('annotations');
    expect(Object.keys((policy.json as Obj).metadata)).not.toContain('finalizers');
  });

  it('serves storage.k8s.io/v1 VolumeAttributesClasses and validates them as kube-apiserver 1.37 does', async () => {
    const vacs = '/apis/storage.k8s.io/v1/volumeattributesclasses';
    const vac = (name: string, rest: Record<string, unknown>): Obj => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttributesClass',
      metadata: { name },
      ...rest,
    });
    const discovery = (await get(sim, '/apis/storage.k8s.io/v1')) as unknown as {
      resources: { name: string; namespaced: boolean; shortNames?: string[] }[];
    };

    const bare = await send(sim, 'POST', vacs, vac('a', {}));
    const noParameters = await send(sim, 'POST', vacs, vac('b', { driverName: 'ebs.csi.aws.com' }));
    const badNames = await send(
      sim,
      'POST',
      vacs,
      vac('c', { driverName: 'Bad Name!', parameters: { '': 'x' } }),
    );
    const created = await send(
      sim,
      'POST',
      vacs,
      vac('ok', { driverName: 'ebs.csi.aws.com', parameters: { type: 'gp3' } }),
    );
    const newParameters = await send(sim, 'PATCH', `${vacs}/ok`, { parameters: { type: 'sc1' } });
    const newDriver = await send(sim, 'PATCH', `${vacs}/ok`, { driverName: 'x.y' });

    expect(discovery.resources.find((r) => r.name === 'volumeattributesclasses')).toMatchObject({
      namespaced: false,
      shortNames: ['vac'],
    });
    // The real server's answers, as test/real's probe of v1.37.2 gave them.
    expect([bare.status, (bare.json as Obj)['message']]).toEqual([
      422,
      'VolumeAttributesClass.storage.k8s.io "a" is invalid: [driverName: Required value, parameters: Required value: must contain at least one key/value pair]',
    ]);
    expect((noParameters.json as Obj)['message']).toBe(
      'VolumeAttributesClass.storage.k8s.io "b" is invalid: parameters: Required value: must contain at least one key/value pair',
    );
    expect((badNames.json as Obj)['message']).toMatch(
      /^VolumeAttributesClass\.storage\.k8s\.io "c" is invalid: \[driverName: Invalid value: "bad name!": name part must consist of .*, parameters: Invalid value: "": field can not be empty\.\]$/,
    );
    expect(created.status).toBe(201);
    expect((created.json as Obj).metadata['finalizers']).toEqual(['kubernetes.io/vac-protection']);
    expect((newParameters.json as Obj)['message']).toBe(
      'VolumeAttributesClass.storage.k8s.io "ok" is invalid: parameters: Forbidden: updates to parameters are forbidden.',
    );
    expect((newDriver.json as Obj)['message']).toBe(
      'VolumeAttributesClass.storage.k8s.io "ok" is invalid: driverName: Forbidden: updates to driverName are forbidden.',
    );
  });

  it('gives claims and volumes the protection finalizers, seeded or created', async () => {
    const created = await send(sim, 'POST', PVCS, claim('protected'));
    const pv = await get(sim, '/api/v1/persistentvolumes/pv-a-used');

    expect((await get(sim, `${PVCS}/used`))?.metadata['finalizers']).toEqual([
      'kubernetes.io/pvc-protection',
    ]);
    expect((created.json as Obj).metadata['finalizers']).toEqual(['kubernetes.io/pvc-protection']);
    expect(pv?.metadata['finalizers']).toEqual(['kubernetes.io/pv-protection']);
  });

  it('deletes a claim no pod uses at once, and keeps one in use Terminating until its pod goes', async () => {
    await send(sim, 'POST', PVCS, claim('unused'));

    const unused = await send(sim, 'DELETE', `${PVCS}/unused`);
    const inUse = await send(sim, 'DELETE', `${PVCS}/used`);
    const terminating = await get(sim, `${PVCS}/used`);
    await send(sim, 'DELETE', '/api/v1/namespaces/a/pods/pod-used');

    expect(unused.status).toBe(200);
    expect(await get(sim, `${PVCS}/unused`)).toBe(undefined);
    expect(inUse.status).toBe(200);
    expect(terminating?.metadata).toMatchObject({
      deletionTimestamp: expect.stringMatching(TIME) as unknown,
      deletionGracePeriodSeconds: 0,
      finalizers: ['kubernetes.io/pvc-protection'],
    });
    expect(await get(sim, `${PVCS}/used`)).toBe(undefined);
  });

  it('keeps a Bound volume Terminating until it is no longer Bound', async () => {
    const path = '/api/v1/persistentvolumes/pv-a-seeded';

    await send(sim, 'DELETE', path);
    const terminating = await get(sim, path);
    await send(sim, 'PATCH', `${path}/status`, { status: { phase: 'Released' } });

    expect(terminating?.metadata['deletionTimestamp']).toMatch(TIME);
    expect(await get(sim, path)).toBe(undefined);
  });

  it('removes an object marked for deletion once an update leaves it no finalizer', async () => {
    const created = await send(sim, 'POST', PVCS, {
      ...claim('held'),
      metadata: { name: 'held', finalizers: ['example.com/hold'] },
    });

    await send(sim, 'DELETE', `${PVCS}/held`);
    const held = await get(sim, `${PVCS}/held`);
    await send(sim, 'PATCH', `${PVCS}/held`, { metadata: { finalizers: null } });

    expect((created.json as Obj).metadata['finalizers']).toEqual([
      'example.com/hold',
      'kubernetes.io/pvc-protection',
    ]);
    // The pvc-protection controller let go at once (no pod uses it); the other finalizer holds.
    expect(held?.metadata).toMatchObject({
      finalizers: ['example.com/hold'],
      deletionTimestamp: expect.stringMatching(TIME) as unknown,
    });
    expect(await get(sim, `${PVCS}/held`)).toBe(undefined);
  });

  it('stamps a volume phase change with status.lastPhaseTransitionTime', async () => {
    const created = await send(sim, 'POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'fresh' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        csi: { driver: 'd', volumeHandle: 'h' },
      },
    });
    const first = (created.json as Obj).status?.['lastPhaseTransitionTime'];
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const unchanged = await send(sim, 'PATCH', '/api/v1/persistentvolumes/fresh', {
      metadata: { labels: { a: 'b' } },
    });
    const released = await send(sim, 'PATCH', '/api/v1/persistentvolumes/fresh/status', {
      status: { phase: 'Released' },
    });

    expect(first).toMatch(TIME);
    expect((await get(sim, '/api/v1/persistentvolumes/pv-a-used'))?.status).toMatchObject({
      phase: 'Bound',
      lastPhaseTransitionTime: expect.stringMatching(TIME) as unknown,
    });
    expect((unchanged.json as Obj).status?.['lastPhaseTransitionTime']).toBe(first);
    const second = (released.json as Obj).status?.['lastPhaseTransitionTime'];
    expect(second).toMatch(TIME);
    expect(second).not.toBe(first);
  });

  it('defaults a StorageClass reclaimPolicy and volumeBindingMode, and a Namespace finalizer', async () => {
    const created = await send(sim, 'POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'plain' },
      provisioner: 'example.com/p',
    });
    const ns = await send(sim, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fresh' },
    });

    expect(created.json).toMatchObject({ reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    expect(await get(sim, '/apis/storage.k8s.io/v1/storageclasses/fast')).toMatchObject({
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
    expect(ns.json).toMatchObject({ spec: { finalizers: ['kubernetes'] } });
    expect(await get(sim, '/api/v1/namespaces/a')).toMatchObject({
      spec: { finalizers: ['kubernetes'] },
    });
  });

  it("keeps kind and apiVersion on a custom resource list's items (core lists drop them)", async () => {
    const list = await raw(sim, '/apis/pvc-chonker.io/v1alpha1/pvcpolicies');
    const core = await raw(sim, '/api/v1/namespaces/a/pods');

    const items = (list.json as { items: Obj[] }).items;
    expect(items.length).toBeGreaterThan(0);
    for (const item of items)
      expect(item).toMatchObject({ apiVersion: 'pvc-chonker.io/v1alpha1', kind: 'PVCPolicy' });
    for (const item of (core.json as { items: Obj[] }).items)
      expect(item).not.toHaveProperty('kind');
  });
});
