// The real tier's own check: the pinned server starts, a seed loads with live statuses, and the
// node proxy reaches a fake kubelet in the namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../integration/harness.js';
import { realTierUnavailable, startRealCluster, VERSIONS, type RealCluster } from './cluster.js';
import { loadRealSeed } from './seed.js';
import type { FakeKubelets } from './kubelets.js';

const unavailable = realTierUnavailable();

describe.skipIf(unavailable !== undefined)('real kube-apiserver', () => {
  let cluster: RealCluster;
  let kubelets: FakeKubelets;
  beforeAll(async () => {
    cluster = await startRealCluster();
    kubelets = await loadRealSeed(
      cluster,
      seed([{ name: 'data', sizeGi: 10, usedPercent: 90, node: 'node-a' }]),
    );
  }, 90_000);
  afterAll(async () => {
    await kubelets.close();
    await cluster.close();
  });

  it('is the pinned release', () => {
    expect(cluster.version).toBe(VERSIONS.kubernetes);
  });

  it('holds the seed with the statuses the controllers would have written', async () => {
    const pvc = await cluster.request('GET', '/api/v1/namespaces/db/persistentvolumeclaims/data');
    expect(pvc.body).toMatchObject({
      status: { phase: 'Bound', capacity: { storage: '10Gi' } },
    });
  });

  it('proxies /stats/summary to the fake kubelet', async () => {
    const summary = await cluster.request('GET', '/api/v1/nodes/node-a/proxy/stats/summary');
    expect(summary.status).toBe(200);
    const pods = (
      summary.body as { pods: { volume?: { pvcRef?: unknown; usedBytes: number }[] }[] }
    ).pods;
    const volume = pods.flatMap((p) => p.volume ?? []).find((v) => v.pvcRef !== undefined);
    expect(volume?.usedBytes).toBe(Math.round(0.9 * 10 * 1024 ** 3));
    expect(kubelets.requests).toContain('node-a /stats/summary');
  });

  it('writes an audit log', async () => {
    const audit = await cluster.audit();
    expect(audit.some((e) => e.verb === 'create' && e.resource === 'persistentvolumeclaims')).toBe(
      true,
    );
  });
});
