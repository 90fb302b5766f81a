// Custom resources as the apiextensions server serves them, over plain HTTP (kubectl-crds.test.ts
// drives the same with a real kubectl when one is installed).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import {
  VELERO_BACKUP_CRD,
  VOLUME_SNAPSHOT_CRD,
  volumeSnapshot,
} from '../integration/other-kinds.js';
import { baseSeed, raw } from './fixtures.js';

const CRDS = fileURLToPath(new URL('../../cronjob/crds', import.meta.url));
const POLICIES = '/apis/pvc-chonker.io/v1alpha1/namespaces/db/pvcpolicies';

function send(
  sim: SimCluster,
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
): ReturnType<typeof raw> {
  return raw(sim, path, {
    method,
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'pvc-chonker.io/v1alpha1', kind: 'PVCPolicy', metadata: { name }, spec };
}

describe('simulated API server: custom resources', () => {
  let sim: SimCluster;

  beforeAll(async () => {
    sim = await startSimCluster({ seed: baseSeed([{ ns: 'db', name: 'data-0' }]), crds: CRDS });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('is served only while its CRD is stored', async () => {
    const without = await startSimCluster({ seed: baseSeed([{ ns: 'db', name: 'data-0' }]) });
    try {
      const absent = await raw(without, POLICIES);
      const present = await raw(sim, POLICIES);

      expect(absent.status).toBe(404);
      expect(present.status).toBe(200);
    } finally {
      await without.close();
    }
  });

  it('publishes OpenAPI v3: PATCH takes fieldValidation, and no strategic merge patch for CRs', async () => {
    const index = await raw(sim, '/openapi/v3');
    const paths = (index.json as { paths: Record<string, { serverRelativeURL: string }> }).paths;
    const custom = await raw(sim, paths['apis/pvc-chonker.io/v1alpha1']?.serverRelativeURL ?? '');
    const core = await raw(sim, paths['api/v1']?.serverRelativeURL ?? '');

    type Doc = {
      paths: Record<
        string,
        { patch?: { parameters: { name: string }[]; requestBody: { content: object } } }
      >;
      components: { schemas: Record<string, { 'x-kubernetes-group-version-kind': unknown }> };
    };
    const crPatch = (custom.json as Doc).paths[
      '/apis/pvc-chonker.io/v1alpha1/namespaces/{namespace}/pvcpolicies/{name}'
    ]?.patch;
    const pvcPatch = (core.json as Doc).paths[
      '/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}'
    ]?.patch;
    expect(crPatch?.parameters.map((p) => p.name)).toContain('fieldValidation');
    expect(Object.keys(crPatch?.requestBody.content ?? {})).not.toContain(
      'application/strategic-merge-patch+json',
    );
    expect(Object.keys(pvcPatch?.requestBody.content ?? {})).toContain(
      'application/strategic-merge-patch+json',
    );
    expect(
      (custom.json as Doc).components.schemas['io.pvc-chonker.v1alpha1.PVCPolicy']?.[
        'x-kubernetes-group-version-kind'
      ],
    ).toEqual([{ group: 'pvc-chonker.io', version: 'v1alpha1', kind: 'PVCPolicy' }]);
    expect((await raw(sim, '/openapi/v3/apis/nope.io/v1')).status).toBe(404);
  });

  it('applies defaults, drops status on create and counts generations by spec changes', async () => {
    const created = await send(sim, 'POST', POLICIES, {
      ...policy('a', { selector: {} }),
      status: { matchedPVCs: 7 },
    });
    const statusWrite = await send(
      sim,
      'PATCH',
      `${POLICIES}/a/status`,
      { status: { matchedPVCs: 1 } },
      'application/merge-patch+json',
    );
    const specWrite = await send(
      sim,
      'PATCH',
      `${POLICIES}/a`,
      { spec: { priority: 3 } },
      'application/merge-patch+json',
    );

    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      metadata: { generation: 1 },
      spec: { priority: 0, enabled: true },
    });
    expect(created.json).not.toHaveProperty('status');
    expect(statusWrite.json).toMatchObject({
      metadata: { generation: 1 },
      status: { matchedPVCs: 1 },
    });
    expect(specWrite.json).toMatchObject({
      metadata: { generation: 2 },
      spec: { priority: 3 },
      status: { matchedPVCs: 1 },
    });
  });

  it.each([
    ['Strict: 400 on create', 'Strict', 400],
    ['no fieldValidation: pruned', undefined, 201],
    ['Ignore: pruned', 'Ignore', 201],
  ])('unknown fields on create (%s)', async (_name, validation, status) => {
    const name = `unknown-${String(validation).toLowerCase()}`;
    const query = validation === undefined ? '' : `?fieldValidation=${validation}`;

    const res = await send(sim, 'POST', `${POLICIES}${query}`, policy(name, { sizes: 'big' }));

    expect(res.status).toBe(status);
    if (status === 400)
      expect((res.json as { message: string }).message).toBe(
        'PVCPolicy in version "v1alpha1" cannot be handled as a PVCPolicy: strict decoding error: unknown field "spec.sizes"',
      );
    else expect((res.json as { spec: object }).spec).not.toHaveProperty('sizes');
  });

  it('refuses an unknown field in a Strict merge patch (422 on patch) and any strategic merge patch', async () => {
    await send(sim, 'POST', POLICIES, policy('b', { selector: {} }));

    const strict = await send(
      sim,
      'PATCH',
      `${POLICIES}/b?fieldValidation=Strict`,
      { spec: { enabeld: false } },
      'application/merge-patch+json',
    );
    const strategic = await send(
      sim,
      'PATCH',
      `${POLICIES}/b`,
      { spec: { priority: 1 } },
      'application/strategic-merge-patch+json',
    );

    expect(strict.status).toBe(422);
    expect(strict.json).toMatchObject({
      reason: 'Invalid',
      details: { causes: [{ field: 'patch', reason: 'FieldValueInvalid' }] },
    });
    expect((strict.json as { message: string }).message).toMatch(
      /^ "" is invalid: patch: Invalid value: ".*": strict decoding error: unknown field "spec.enabeld"$/,
    );
    expect(strategic.status).toBe(415);
  });

  it('validates the schema with the real 422', async () => {
    const res = await send(
      sim,
      'POST',
      POLICIES,
      policy('c', { selector: {}, template: { threshold: 'lots' } }),
    );

    expect(res.status).toBe(422);
    expect((res.json as { message: string }).message).toMatch(
      /^PVCPolicy\.pvc-chonker\.io "c" is invalid: spec\.template\.threshold: Invalid value: "lots": spec\.template\.threshold in body should match '/,
    );
  });

  it("serves another project's kinds from their CRDs; a *.k8s.io group needs the API approval annotation", async () => {
    const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    const metadata = VOLUME_SNAPSHOT_CRD['metadata'] as Record<string, unknown>;
    const unapproved = { ...VOLUME_SNAPSHOT_CRD, metadata: { name: metadata['name'] } };
    const snapshots = '/apis/snapshot.storage.k8s.io/v1/namespaces/db/volumesnapshots';

    const before = await raw(sim, snapshots);
    const refused = await send(sim, 'POST', crds, unapproved);
    const approved = await send(sim, 'POST', crds, VOLUME_SNAPSHOT_CRD);
    const velero = await send(sim, 'POST', crds, VELERO_BACKUP_CRD);
    const created = await send(
      sim,
      'POST',
      snapshots,
      volumeSnapshot('s1', 'data-0', { ready: false }),
    );
    const status = await send(
      sim,
      'PATCH',
      `${snapshots}/s1/status`,
      { status: { readyToUse: true } },
      'application/merge-patch+json',
    );
    const listed = await raw(sim, snapshots);

    expect(before.status).toBe(404);
    expect(refused.status).toBe(422);
    expect((refused.json as { message: string }).message).toBe(
      'CustomResourceDefinition.apiextensions.k8s.io "volumesnapshots.snapshot.storage.k8s.io" is invalid: metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    );
    expect([approved.status, velero.status, created.status, status.status]).toEqual([
      201, 201, 201, 200,
    ]);
    // The status subresource (as the CRD enables it): create drops status, /status sets it.
    expect((created.json as Record<string, unknown>)['status']).toBeUndefined();
    expect((listed.json as { items: { status?: unknown }[] }).items).toMatchObject([
      { status: { readyToUse: true } },
    ]);
  });
});
