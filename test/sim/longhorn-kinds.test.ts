// Longhorn's custom resources in the simulator: served from the CRDs a test writes, beside the core
// kinds of the same name (Longhorn's Node is not core's Node), with the status subresource only
// where the CRD declares one, as the apiextensions server does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import {
  LONGHORN_CRDS,
  longhornNode,
  longhornReplica,
  longhornSetting,
  namespace,
  topolvmNode,
} from '../builders/onprem.js';
import { baseSeed, raw } from './fixtures.js';

const LONGHORN = '/apis/longhorn.io/v1beta2/namespaces/longhorn-system';

function send(
  sim: SimCluster,
  method: string,
  path: string,
  body: unknown,
): ReturnType<typeof raw> {
  const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  return raw(sim, path, {
    method,
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

interface Listed {
  kind: string;
  items: { kind?: string; metadata: { name: string }; status?: unknown }[];
}

describe('simulated API server: Longhorn kinds', () => {
  let sim: SimCluster;

  beforeAll(async () => {
    const seed = baseSeed([{ ns: 'db', name: 'data-0', node: 'worker-1' }]);
    seed.objects.push(
      ...LONGHORN_CRDS,
      namespace('longhorn-system'),
      topolvmNode('worker-1', { '00default': '1024' }),
      longhornNode('worker-1', [
        { name: 'd', uuid: 'u1', maxGi: 100, availableGi: 90, scheduledGi: 10 },
      ]),
      longhornReplica('pvc-x', 0, 'worker-1', 'u1'),
      longhornSetting('current-longhorn-version', 'v1.9.1'),
    );
    sim = await startSimCluster({ seed });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves Longhorn nodes and core nodes of the same name apart', async () => {
    const core = await raw(sim, '/api/v1/nodes/worker-1');
    const longhorn = await raw(sim, `${LONGHORN}/nodes/worker-1`);
    const list = await raw(sim, `${LONGHORN}/nodes`);

    expect(core.json).toMatchObject({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { annotations: { 'capacity.topolvm.io/00default': '1024' } },
    });
    expect(longhorn.json).toMatchObject({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Node',
      status: { diskStatus: { d: { diskUUID: 'u1', storageMaximum: 100 * 1024 ** 3 } } },
    });
    expect((list.json as Listed).kind).toBe('NodeList');
    expect((list.json as Listed).items.map((i) => i.metadata.name)).toEqual(['worker-1']);
  });

  it('is not served without its CRD', async () => {
    const bare = await startSimCluster({ seed: baseSeed([]) });
    try {
      expect((await raw(bare, `${LONGHORN}/replicas`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('selects replicas by label, and prunes fields the schema does not know', async () => {
    const created = await send(sim, 'POST', `${LONGHORN}/replicas`, {
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'Replica',
      metadata: { name: 'pvc-y-r-0', labels: { longhornvolume: 'pvc-y' } },
      spec: { volumeName: 'pvc-y', nodeID: 'worker-1', diskID: 'u1', unknownField: 1 },
      status: { currentState: 'running' },
    });
    const selected = await raw(
      sim,
      `${LONGHORN}/replicas?labelSelector=${encodeURIComponent('longhornvolume in (pvc-y)')}`,
    );

    expect(created.status).toBe(201);
    // Create drops the status of a kind with the status subresource, and prunes unknown fields.
    expect(created.json).not.toHaveProperty('status');
    expect(created.json).not.toHaveProperty('spec.unknownField');
    expect((selected.json as Listed).items.map((i) => i.metadata.name)).toEqual(['pvc-y-r-0']);
  });

  it('writes status only through the subresource its CRD declares', async () => {
    const node = await send(sim, 'PATCH', `${LONGHORN}/nodes/worker-1/status`, {
      status: { diskStatus: { d: { diskUUID: 'u1', storageScheduled: 0 } } },
    });
    const setting = await send(
      sim,
      'PATCH',
      `${LONGHORN}/settings/current-longhorn-version/status`,
      {
        status: {},
      },
    );

    expect(node.status).toBe(200);
    expect(setting.status).toBe(404);
  });

  it('validates against the schema with the real message', async () => {
    const answer = await send(sim, 'PATCH', `${LONGHORN}/nodes/worker-1/status`, {
      status: { diskStatus: { d: { storageAvailable: 'lots' } } },
    });

    expect(answer.status).toBe(422);
    expect(answer.text).toContain('Node.longhorn.io \\"worker-1\\" is invalid');
  });
});
