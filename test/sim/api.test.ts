import {
  PatchStrategy,
  setHeaderOptions,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { apiFailure, baseSeed, clientsFor, raw, type Clients } from './fixtures.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('simulated API server: reads', () => {
  let sim: SimCluster;
  let c: Clients;

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'a', name: 'p1', node: 'n1', labels: { tier: 'db' } },
        { ns: 'a', name: 'p2', node: 'n2', labels: { tier: 'web' } },
        { ns: 'b', name: 'p3', node: 'n1', labels: { tier: 'db' } },
        { ns: 'b', name: 'p4' },
        { ns: 'c', name: 'p5', labels: { tier: 'cache' } },
      ]),
    });
    c = await clientsFor(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('pages a cluster-wide PVC list with limit/continue in namespace/name order', async () => {
    const names: string[] = [];
    let token: string | undefined;
    const rvs = new Set<string>();
    let pages = 0;
    do {
      const page = await c.core.listPersistentVolumeClaimForAllNamespaces({
        limit: 2,
        ...(token ? { _continue: token } : {}),
      });
      names.push(...page.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
      rvs.add(page.metadata?.resourceVersion ?? '');
      token = page.metadata?._continue;
      pages++;
    } while (token);

    expect(names).toEqual(['a/p1', 'a/p2', 'b/p3', 'b/p4', 'c/p5']);
    expect(pages).toBe(3);
    expect(rvs.size).toBe(1);
  });

  it('reports remainingItemCount and strips kind/apiVersion from list items like the real server', async () => {
    const res = await raw(sim, '/api/v1/persistentvolumeclaims?limit=2');
    const body = res.json as {
      kind: string;
      apiVersion: string;
      metadata: Record<string, unknown>;
      items: Record<string, unknown>[];
    };

    expect(body.kind).toBe('PersistentVolumeClaimList');
    expect(body.apiVersion).toBe('v1');
    expect(body.metadata['remainingItemCount']).toBe(3);
    expect(body.items[0]).not.toHaveProperty('kind');
    expect(body.items[0]).not.toHaveProperty('apiVersion');
  });

  it('rejects a malformed continue token with 400 and an expired one with 410 Expired', async () => {
    const bad = await raw(sim, '/api/v1/persistentvolumeclaims?limit=1&continue=%%%');
    const first = await c.core.listPersistentVolumeClaimForAllNamespaces({ limit: 1 });
    sim.compact();
    const expired = await apiFailure(() =>
      c.core.listPersistentVolumeClaimForAllNamespaces({
        limit: 1,
        _continue: first.metadata?._continue ?? '',
      }),
    );

    expect(bad.status).toBe(400);
    expect((bad.json as { message: string }).message).toMatch(
      /^invalid continue token: continue key is not valid/,
    );
    expect(expired.code).toBe(410);
    expect(expired.body['reason']).toBe('Expired');
    expect(expired.body['message']).toMatch(/^The provided continue parameter is too old/);
  });

  it('filters with label selectors (=, !=, in, exists) and field selectors', async () => {
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
      (
        await c.core.listPersistentVolumeClaimForAllNamespaces({
          ...(labelSelector ? { labelSelector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
        })
      ).items.map((p) => p.metadata?.name ?? '');

    expect(await names('tier=db')).toEqual(['p1', 'p3']);
    expect(await names('tier!=db')).toEqual(['p2', 'p4', 'p5']);
    expect(await names('tier in (web,cache)')).toEqual(['p2', 'p5']);
    expect(await names('tier,tier notin (db)')).toEqual(['p2', 'p5']);
    expect(await names(undefined, 'metadata.namespace=b')).toEqual(['p3', 'p4']);
    expect(await names(undefined, 'metadata.name=p5')).toEqual(['p5']);
  });

  it('supports the pod field selectors spec.nodeName and status.phase', async () => {
    const onN1 = await c.core.listPodForAllNamespaces({
      fieldSelector: 'spec.nodeName=n1,status.phase=Running',
    });
    const failure = await apiFailure(() =>
      c.core.listPodForAllNamespaces({ fieldSelector: 'spec.foo=bar' }),
    );

    expect(onN1.items.map((p) => p.metadata?.name)).toEqual(['pod-p1', 'pod-p3']);
    expect(failure.code).toBe(400);
    expect(failure.body['message']).toBe('field label not supported: spec.foo');
  });

  it('returns objects with server-set metadata and NotFound as a real Status', async () => {
    const pvc = await c.core.readNamespacedPersistentVolumeClaim({ name: 'p1', namespace: 'a' });
    const missing = await apiFailure(() =>
      c.core.readNamespacedPersistentVolumeClaim({ name: 'nope', namespace: 'a' }),
    );

    expect(pvc.kind).toBe('PersistentVolumeClaim');
    expect(pvc.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(pvc.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(pvc.spec?.volumeMode).toBe('Filesystem');
    expect(missing.code).toBe(404);
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'persistentvolumeclaims "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'persistentvolumeclaims' },
      code: 404,
    });
  });

  it('serves storageclasses, nodes, namespaces and persistentvolumes', async () => {
    const classes = await c.storage.listStorageClass();
    const fast = await c.storage.readStorageClass({ name: 'fast' });
    const nodes = await c.core.listNode();
    const namespaces = await c.core.listNamespace();
    const pv = await c.core.readPersistentVolume({ name: 'pv-a-p1' });

    expect(classes.items.map((s) => s.metadata?.name)).toEqual(['fast', 'frozen']);
    expect(fast.allowVolumeExpansion).toBe(true);
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['n1', 'n2']);
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(['a', 'b', 'c']);
    expect(pv.spec?.capacity?.['storage']).toBe('10Gi');
  });

  it('answers discovery like a 1.33 server', async () => {
    const version = await raw(sim, '/version');
    const core = await raw(sim, '/api/v1');
    const groups = await raw(sim, '/apis');
    const pvcResource = (
      core.json as { resources: { name: string; shortNames?: string[]; namespaced: boolean }[] }
    ).resources.find((r) => r.name === 'persistentvolumeclaims');

    expect((version.json as { gitVersion: string }).gitVersion).toMatch(/^v1\.33\./);
    expect(pvcResource).toMatchObject({ shortNames: ['pvc'], namespaced: true });
    // The last four: the groups of the kinds an install creates (sim/install-resources.ts).
    expect((groups.json as { groups: { name: string }[] }).groups.map((g) => g.name)).toEqual([
      'storage.k8s.io',
      'events.k8s.io',
      'admissionregistration.k8s.io',
      'apiextensions.k8s.io',
      'rbac.authorization.k8s.io',
      'batch',
      'apps',
      'policy',
    ]);
  });

  it('serves a meta.k8s.io/v1 Table with the real PVC columns when asked', async () => {
    const res = await raw(sim, '/api/v1/namespaces/a/persistentvolumeclaims', {
      headers: {
        Accept:
          'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      },
    });
    const table = res.json as {
      kind: string;
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[]; object: { metadata: { namespace: string } } }[];
    };

    expect(table.kind).toBe('Table');
    expect(
      table.columnDefinitions.filter((col) => col.priority === 0).map((col) => col.name),
    ).toEqual([
      'Name',
      'Status',
      'Volume',
      'Capacity',
      'Access Modes',
      'StorageClass',
      'VolumeAttributesClass',
      'Age',
    ]);
    expect(table.rows[0]?.cells.slice(0, 7)).toEqual([
      'p1',
      'Bound',
      'pv-a-p1',
      '10Gi',
      'RWO',
      'fast',
      '<unset>',
    ]);
    expect(table.rows[0]?.object.metadata.namespace).toBe('a');
  });

  it('answers unknown paths with a 404 Status', async () => {
    const res = await raw(sim, '/apis/apps/v1/daemonsets');

    expect(res.status).toBe(404);
    expect((res.json as { kind: string }).kind).toBe('Status');
  });
});

describe('simulated API server: writes', () => {
  let sim: SimCluster;
  let c: Clients;

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'a', name: 'grow', size: '10Gi' },
        { ns: 'a', name: 'shrink', size: '10Gi' },
        { ns: 'a', name: 'frozen', sc: 'frozen' },
        { ns: 'a', name: 'pending', bound: false },
        { ns: 'a', name: 'stale' },
        { ns: 'a', name: 'misc' },
      ]),
      resizeDelayMs: 60_000,
    });
    c = await clientsFor(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  function expand(
    name: string,
    storage: string,
    resourceVersion?: string,
  ): Promise<V1PersistentVolumeClaim> {
    const body = {
      ...(resourceVersion ? { metadata: { resourceVersion } } : {}),
      spec: { resources: { requests: { storage } } },
    };
    return c.core.patchNamespacedPersistentVolumeClaim({ name, namespace: 'a', body }, MERGE);
  }

  it('accepts a merge-patch expansion, bumps resourceVersion and logs the request', async () => {
    const before = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'grow',
      namespace: 'a',
    });

    const after = await expand('grow', '12Gi', before.metadata?.resourceVersion);

    expect(after.spec?.resources?.requests?.['storage']).toBe('12Gi');
    expect(after.status?.capacity?.['storage']).toBe('10Gi');
    expect(Number(after.metadata?.resourceVersion)).toBeGreaterThan(
      Number(before.metadata?.resourceVersion),
    );
    const logged = sim.requests.filter(
      (r) => r.method === 'PATCH' && r.path === '/api/v1/namespaces/a/persistentvolumeclaims/grow',
    );
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      status: 200,
      contentType: 'application/merge-patch+json',
      body: { spec: { resources: { requests: { storage: '12Gi' } } } },
    });
  });

  it('answers a stale resourceVersion with 409 Conflict and the real message', async () => {
    const pvc = await c.core.readNamespacedPersistentVolumeClaim({ name: 'stale', namespace: 'a' });
    // A concurrent writer (e.g. the resizer) updates the object in between.
    const live = sim.getObject('PersistentVolumeClaim', 'a', 'stale') as {
      metadata: Record<string, unknown>;
    };
    live.metadata['labels'] = { touched: 'yes' };
    sim.putObject(live);

    const failure = await apiFailure(() => expand('stale', '20Gi', pvc.metadata?.resourceVersion));

    expect(failure.code).toBe(409);
    expect(failure.body).toMatchObject({
      status: 'Failure',
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on persistentvolumeclaims "stale": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'stale', kind: 'persistentvolumeclaims' },
      code: 409,
    });
  });

  it('rejects shrinking to or below status.capacity with 422 Invalid, but allows recovering above it', async () => {
    await expand('shrink', '20Gi');

    const failure = await apiFailure(() => expand('shrink', '10Gi'));
    const recovered = await expand('shrink', '15Gi');

    expect(failure.code).toBe(422);
    expect(failure.body['message']).toBe(
      'PersistentVolumeClaim "shrink" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
    );
    expect(failure.body['details']).toEqual({
      name: 'shrink',
      kind: 'PersistentVolumeClaim',
      causes: [
        {
          reason: 'FieldValueForbidden',
          message: 'Forbidden: field can not be less than status.capacity',
          field: 'spec.resources.requests.storage',
        },
      ],
    });
    expect(recovered.spec?.resources?.requests?.['storage']).toBe('15Gi');
  });

  it('refuses expansion on a StorageClass without allowVolumeExpansion with the admission message', async () => {
    const failure = await apiFailure(() => expand('frozen', '20Gi'));

    expect(failure.code).toBe(403);
    expect(failure.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'persistentvolumeclaims "frozen" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
      details: { name: 'frozen', kind: 'persistentvolumeclaims' },
    });
  });

  it('refuses to resize an unbound claim (spec validation runs before the resize admission plugin)', async () => {
    const failure = await apiFailure(() => expand('pending', '20Gi'));

    expect(failure.code).toBe(422);
    expect(failure.body['message']).toMatch(
      /^PersistentVolumeClaim "pending" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n/,
    );
  });

  it('keeps immutable spec fields immutable', async () => {
    const failure = await apiFailure(() =>
      c.core.patchNamespacedPersistentVolumeClaim(
        { name: 'misc', namespace: 'a', body: { spec: { storageClassName: 'frozen' } } },
        MERGE,
      ),
    );

    expect(failure.code).toBe(422);
    expect(failure.body['reason']).toBe('Invalid');
  });

  it('leaves status alone on main-resource writes and resourceVersion alone on no-op patches', async () => {
    const before = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'misc',
      namespace: 'a',
    });

    const noop = await c.core.patchNamespacedPersistentVolumeClaim(
      { name: 'misc', namespace: 'a', body: { status: { capacity: { storage: '1Ti' } } } },
      MERGE,
    );

    expect(noop.status?.capacity?.['storage']).toBe('10Gi');
    expect(noop.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('supports JSON patch and strategic merge patch, and stores quantities in canonical form', async () => {
    const jsonPatched = await c.core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'misc',
        namespace: 'a',
        body: [{ op: 'replace', path: '/spec/resources/requests/storage', value: '11.5Gi' }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const strategic = await c.core.patchNamespacedPersistentVolumeClaim(
      { name: 'misc', namespace: 'a', body: { metadata: { annotations: { note: 'x' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );

    expect(jsonPatched.spec?.resources?.requests?.['storage']).toBe('11776Mi');
    expect(strategic.metadata?.annotations?.['note']).toBe('x');
  });

  it('rejects unknown patch types with 415 and bad quantities with 400', async () => {
    const unsupported = await raw(sim, '/api/v1/namespaces/a/persistentvolumeclaims/misc', {
      method: 'PATCH',
      headers: { 'Content-Type': 'text/plain' },
      body: '{}',
    });
    const badQuantity = await apiFailure(() => expand('misc', 'lots'));

    expect(unsupported.status).toBe(415);
    expect(badQuantity.code).toBe(400);
    expect(badQuantity.body['message']).toMatch(
      /cannot be handled as a PersistentVolumeClaim: quantities must match the regular expression/,
    );
  });

  it('replaces with PUT, checking the URL name', async () => {
    const pvc = await c.core.readNamespacedPersistentVolumeClaim({ name: 'misc', namespace: 'a' });
    pvc.metadata = Object.assign(pvc.metadata ?? {}, { name: 'other' });
    const renamed = await apiFailure(() =>
      c.core.replaceNamespacedPersistentVolumeClaim({ name: 'misc', namespace: 'a', body: pvc }),
    );
    pvc.metadata.name = 'misc';
    pvc.metadata.labels = { put: 'yes' };

    const replaced = await c.core.replaceNamespacedPersistentVolumeClaim({
      name: 'misc',
      namespace: 'a',
      body: pvc,
    });

    expect(renamed.code).toBe(400);
    expect(renamed.body['message']).toBe(
      'the name of the object (other) does not match the name on the URL (misc)',
    );
    expect(replaced.metadata?.labels).toEqual({ put: 'yes' });
  });
});
