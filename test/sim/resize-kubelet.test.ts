import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RESIZE_OUTCOME_ANNOTATION,
  startSimCluster,
  type SimCluster,
  type SimClusterOptions,
} from '../../sim/index.js';
import { baseSeed, clientsFor, GI, raw, type Clients } from './fixtures.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface VolumeStats {
  capacityBytes: number;
  usedBytes: number;
  availableBytes: number;
  inodes: number;
  inodesUsed: number;
  inodesFree: number;
  name: string;
  time: string;
  pvcRef?: { name: string; namespace: string };
}
interface Summary {
  node: { nodeName: string };
  pods: { podRef: { name: string; namespace: string; uid: string }; volume?: VolumeStats[] }[];
}

let sim: SimCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(
  options: Omit<SimClusterOptions, 'seed'>,
  claims: Parameters<typeof baseSeed>[0],
): Promise<{ sim: SimCluster; c: Clients }> {
  sim = await startSimCluster({ seed: baseSeed(claims), ...options });
  return { sim, c: await clientsFor(sim) };
}

async function summary(c: Clients, node: string): Promise<Summary> {
  const text = await c.core.connectGetNodeProxyWithPath({ name: node, path: 'stats/summary' });
  return (typeof text === 'string' ? JSON.parse(text) : text) as Summary;
}

function pvcVolume(s: Summary, pvc: string): VolumeStats | undefined {
  return s.pods.flatMap((p) => p.volume ?? []).find((v) => v.pvcRef?.name === pvc);
}

function expand(c: Clients, name: string, storage: string): Promise<unknown> {
  return c.core.patchNamespacedPersistentVolumeClaim(
    { name, namespace: 'apps', body: { spec: { resources: { requests: { storage } } } } },
    MERGE,
  );
}

describe('resize lifecycle', () => {
  it('walks ControllerResizeInProgress -> NodeResizePending -> done, then the kubelet follows after its lag', async () => {
    const { sim, c } = await start({ resizeDelayMs: 600, kubeletLagMs: 500 }, [
      { name: 'data', node: 'n1', usedGi: 9 },
    ]);
    const read = () =>
      c.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'apps' });

    await expand(c, 'data', '20Gi');

    await vi.waitFor(
      async () => {
        expect((await read()).status?.allocatedResourceStatuses?.['storage']).toBe(
          'ControllerResizeInProgress',
        );
      },
      { timeout: 2000, interval: 10 },
    );
    const inProgress = await read();
    expect(inProgress.status?.conditions?.map((x) => x.type)).toEqual(['Resizing']);
    expect(inProgress.status?.allocatedResources?.['storage']).toBe('20Gi');
    await vi.waitFor(
      async () => {
        expect((await read()).status?.allocatedResourceStatuses?.['storage']).toBe(
          'NodeResizePending',
        );
      },
      { timeout: 2000, interval: 10 },
    );
    expect((await read()).status?.conditions?.[0]).toMatchObject({
      type: 'FileSystemResizePending',
      status: 'True',
      message:
        'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
    });
    expect(
      (await c.core.readPersistentVolume({ name: 'pv-apps-data' })).spec?.capacity?.['storage'],
    ).toBe('20Gi');
    await vi.waitFor(
      async () => {
        expect((await read()).status?.capacity?.['storage']).toBe('20Gi');
      },
      { timeout: 2000, interval: 10 },
    );
    const done = await read();
    expect(done.status?.conditions ?? []).toEqual([]);
    expect(done.status?.allocatedResourceStatuses).toBeUndefined();
    expect(pvcVolume(await summary(c, 'n1'), 'data')?.capacityBytes).toBe(10 * GI);
    await vi.waitFor(
      async () => {
        expect(pvcVolume(await summary(c, 'n1'), 'data')?.capacityBytes).toBe(20 * GI);
      },
      { timeout: 2000, interval: 20 },
    );
    const after = pvcVolume(await summary(c, 'n1'), 'data');
    expect(after?.usedBytes).toBe(9 * GI);
    expect(after?.availableBytes).toBe(11 * GI);
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
  });

  it('settle() completes pending resizes at once', async () => {
    const { sim, c } = await start({ resizeDelayMs: 60_000 }, [
      { name: 'data', node: 'n1', usedGi: 9 },
    ]);
    await expand(c, 'data', '15Gi');

    await sim.settle();

    const pvc = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: 'apps',
    });
    expect(pvc.status?.capacity?.['storage']).toBe('15Gi');
    expect(pvcVolume(await summary(c, 'n1'), 'data')?.capacityBytes).toBe(15 * GI);
  });

  it('marks an infeasible resize with ControllerResizeInfeasible and allows recovery above capacity', async () => {
    const { sim, c } = await start({ resizeDelayMs: 60_000 }, [
      {
        name: 'data',
        annotations: {
          'pvc-chonker.io/enabled': 'true',
          [RESIZE_OUTCOME_ANNOTATION]: 'infeasible',
        },
      },
    ]);
    await expand(c, 'data', '16Ti');

    await sim.settle();

    const pvc = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: 'apps',
    });
    expect(pvc.status?.allocatedResourceStatuses?.['storage']).toBe('ControllerResizeInfeasible');
    expect(pvc.status?.conditions?.[0]?.type).toBe('ControllerResizeError');
    expect(pvc.status?.capacity?.['storage']).toBe('10Gi');
    await expect(expand(c, 'data', '11Gi')).resolves.toBeDefined();
  });

  it('keeps a stuck resize in Resizing even after settle()', async () => {
    const { sim, c } = await start({ resizeDelayMs: 50 }, [
      { name: 'data', annotations: { [RESIZE_OUTCOME_ANNOTATION]: 'stuck' } },
    ]);
    await expand(c, 'data', '12Gi');

    await sim.settle();

    const pvc = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: 'apps',
    });
    expect(pvc.status?.conditions?.map((x) => x.type)).toEqual(['Resizing']);
    expect(pvc.status?.capacity?.['storage']).toBe('10Gi');
  });

  it('resumes a seeded mid-resize claim (spec above status.capacity)', async () => {
    const { sim, c } = await start({ resizeDelayMs: 60_000 }, [
      { name: 'data', size: '30Gi', capacity: '20Gi' },
    ]);

    await sim.settle();

    const pvc = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: 'apps',
    });
    expect(pvc.status?.capacity?.['storage']).toBe('30Gi');
  });
});

describe('kubelet summary through the node proxy', () => {
  it('returns the real Summary shape: one volume entry per mounted claim with pvcRef, others without', async () => {
    const { sim, c } = await start({}, [
      { name: 'data', node: 'n1', usedGi: 7.5 },
      { name: 'raw', node: 'n1', mode: 'Block' },
      { name: 'elsewhere', node: 'n2', usedGi: 1 },
    ]);
    sim.setUsage('apps', 'data', {
      fsOverheadBytes: '125Mi',
      inodes: 655_360,
      inodesUsed: 600_000,
    });

    const s = await summary(c, 'n1');

    expect(s.node.nodeName).toBe('n1');
    expect(s.pods.map((p) => p.podRef.name).sort()).toEqual(['pod-data', 'pod-raw']);
    const data = pvcVolume(s, 'data');
    expect(data).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as unknown,
      availableBytes: 10 * GI - 125 * 1024 ** 2 - 7.5 * GI,
      capacityBytes: 10 * GI - 125 * 1024 ** 2,
      usedBytes: 7.5 * GI,
      inodesFree: 55_360,
      inodes: 655_360,
      inodesUsed: 600_000,
      name: 'data',
      pvcRef: { name: 'data', namespace: 'apps' },
    });
    // Block volumes have no filesystem, so the kubelet reports no entry for them.
    expect(pvcVolume(s, 'raw')).toBeUndefined();
    const rawPod = s.pods.find((p) => p.podRef.name === 'pod-raw');
    expect(rawPod?.volume?.map((v) => v.name)).toEqual(['cache']);
    expect(sim.requests.at(-1)?.path).toBe('/api/v1/nodes/n1/proxy/stats/summary');
  });

  it('scales a seeded inode total with the filesystem when the claim grows', async () => {
    const { sim, c } = await start({ resizeDelayMs: 60_000 }, [
      { name: 'data', node: 'n1', usedGi: 1 },
    ]);
    sim.setUsage('apps', 'data', { inodes: 1000, inodesUsed: 950 });
    await expand(c, 'data', '20Gi');

    await sim.settle();

    expect(pvcVolume(await summary(c, 'n1'), 'data')).toMatchObject({
      inodes: 2000,
      inodesUsed: 950,
      inodesFree: 1050,
    });
  });

  it('answers an unknown node with the apiserver NotFound Status', async () => {
    const { sim } = await start({}, []);

    const res = await raw(sim, '/api/v1/nodes/ghost/proxy/stats/summary');

    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'nodes "ghost" not found',
      details: { name: 'ghost', kind: 'nodes' },
    });
  });

  it('fails the whole node summary with 503 when a usage document says kubeletFails', async () => {
    const { sim } = await start({}, [
      { name: 'data', node: 'n1', usedGi: 1 },
      { name: 'ok', node: 'n2', usedGi: 1 },
    ]);
    sim.setUsage('apps', 'data', { kubeletFails: true });

    const failed = await raw(sim, '/api/v1/nodes/n1/proxy/stats/summary');
    const healthy = await raw(sim, '/api/v1/nodes/n2/proxy/stats/summary');

    expect(failed.status).toBe(503);
    expect(failed.text).toBe(
      "Error: 'EOF'\nTrying to reach: 'https://127.0.0.1:10250/stats/summary'",
    );
    expect(healthy.status).toBe(200);
  });

  it('injects per-node kubelet failures and hangs', async () => {
    const { sim } = await start({}, [{ name: 'data', node: 'n1', usedGi: 1 }]);
    sim.faults.failNode('n1', 500);
    sim.faults.hangNode('n2');

    const failed = await raw(sim, '/api/v1/nodes/n1/proxy/stats/summary');
    const hung = fetch(`${sim.url}/api/v1/nodes/n2/proxy/stats/summary`, {
      signal: AbortSignal.timeout(150),
    });

    expect(failed.status).toBe(500);
    await expect(hung).rejects.toThrow();
    expect(sim.requests.map((r) => r.status)).toEqual([500, 0]);
    sim.faults.clear();
    expect((await raw(sim, '/api/v1/nodes/n1/proxy/stats/summary')).status).toBe(200);
  });
});
