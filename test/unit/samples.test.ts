/**
 * Usage samples in the pass (issue 20): an annotation-only PATCH when one is due, carried by the
 * expansion's PATCH when the PVC grows, none when not due, none in a dry run; and the runway
 * step as the cloud's rules leave it.
 */
import { describe, expect, it } from 'vitest';
import { pvcKey, type StatsLookup } from '../../src/core/pvc.js';
import { run, type RunConfig } from '../../src/run.js';
import { pvc, storageClass, usage } from '../builders/snapshots.js';
import type { ProviderGate } from '../../src/ports.js';
import { allowAll, gateOf, MemoryCluster, passConfig, passDeps } from '../fakes/memory-cluster.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const HOUR = 3_600_000;
const SAMPLES = 'pvc-chonker.io/usage-samples';
const seconds = (hoursAgo: number): number => (NOW.getTime() - hoursAgo * HOUR) / 1000;

function setup(config: Partial<RunConfig> = {}, providers: ProviderGate = allowAll) {
  const cluster = new MemoryCluster();
  cluster.classes.set('gp3', storageClass());
  const stats = new Map<string, StatsLookup>();
  const deps = passDeps(cluster, stats, NOW, providers);
  const add = (
    name: string,
    usedPercent: number,
    samples?: string,
    annotations: Record<string, string> = {},
  ): void => {
    const claim = pvc({
      name,
      annotations: { ...annotations, ...(samples === undefined ? {} : { [SAMPLES]: samples }) },
    });
    cluster.add(claim);
    stats.set(pvcKey(claim), usage({ usedPercent }));
  };
  return { cluster, deps, config: passConfig({ sampleIntervalMs: 6 * HOUR, ...config }), add };
}

describe('usage samples in the pass', () => {
  it('a due sample is an annotation-only PATCH, guarded by resourceVersion', async () => {
    const { cluster, deps, config, add } = setup();
    add('first', 50);

    await run(deps, config);

    expect(cluster.patches).toEqual([
      {
        ref: expect.objectContaining({ name: 'first' }) as unknown,
        patch: { resourceVersion: '7', annotations: { [SAMPLES]: `${seconds(0)}:5368709120` } },
      },
    ]);
  });

  it('an expansion carries the due sample in its own PATCH, with used bytes in the history', async () => {
    const { cluster, deps, config, add } = setup();
    add('full', 95);

    await run(deps, config);

    expect(cluster.patches).toHaveLength(1);
    const annotations = cluster.patches[0]?.patch.annotations ?? {};
    expect(cluster.patches[0]?.patch.requestStorage).toBe('11Gi');
    expect(annotations[SAMPLES]).toBe(`${seconds(0)}:10200547328`);
    expect(annotations['pvc-chonker.io/expansion-history']).toContain('"used":"9728Mi"');
  });

  it('after a 409 the retried expansion carries no sample built from the stale PVC', async () => {
    const { cluster, deps, config, add } = setup();
    add('full', 95);
    cluster.conflicts.set('db/full', { count: 1 });

    await run(deps, config);

    expect(cluster.patches).toHaveLength(2);
    expect(cluster.patches[0]?.patch.annotations).toHaveProperty([SAMPLES]);
    expect(cluster.patches[1]?.patch.requestStorage).toBe('11Gi');
    expect(cluster.patches[1]?.patch.annotations).not.toHaveProperty([SAMPLES]);
  });

  it('a sample written an hour ago is not due: no write at all', async () => {
    const { cluster, deps, config, add } = setup();
    add('recent', 50, `${seconds(1)}:5368709120`);

    await run(deps, config);

    expect(cluster.patches).toEqual([]);
  });

  it('first samples: at most max(50, a twelfth of the managed PVCs) a pass, then the next', async () => {
    const { cluster, deps, config, add } = setup();
    for (let i = 0; i < 60; i++) add(`pvc-${String(i).padStart(2, '0')}`, 50);
    add('zz-full', 95);

    await run(deps, config);
    const first = cluster.patches.map((p) => p.ref.name);
    cluster.patches.length = 0;
    await run(deps, config);
    const second = cluster.patches.map((p) => p.ref.name);

    // 61 managed: 50 sample-only writes, and the expansion carries its own sample.
    expect(first).toHaveLength(51);
    expect(first).toContain('zz-full');
    expect(second.sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `pvc-${String(50 + i).padStart(2, '0')}`),
    );
  });

  it.each([
    ['in a dry run', { dryRun: true }],
    ['with --sample-interval 0', { sampleIntervalMs: undefined }],
  ])('%s no sample is written', async (_name, overrides) => {
    const { cluster, deps, config, add } = setup();
    add('first', 50);

    await run(deps, { ...config, ...overrides });

    expect(cluster.patches).toEqual([]);
  });

  it('a runway step is still clamped by the cloud: the provider grants less, the PVC gets that', async () => {
    // At most 16Gi, as a cloud's per-volume limit or a rate rule would grant.
    const capped = gateOf('aws', (c) => ({
      ok: true,
      provider: 'aws',
      toBytes: c.toBytes < 16n * 2n ** 30n ? c.toBytes : 16n * 2n ** 30n,
      warnings: [],
    }));
    const { cluster, deps, config, add } = setup({}, capped);
    // 9.5 GiB used now; 8, 8.5 and 9 GiB 18, 12 and 6 hours ago: 2 GiB a day, 6 days of runway.
    const history = [18, 12, 6].map((h, i) => `${seconds(h)}:${(8 + i / 2) * 2 ** 30}`).join(',');
    add('grower', 95, history, { 'pvc-chonker.io/min-runway': '6d' });

    const summary = await run(deps, config);

    expect(summary.pvcs[0]).toMatchObject({ action: 'expand', newBytes: 16n * 2n ** 30n });
    expect(summary.pvcs[0]?.detail).toMatch(/step sized for min-runway 6d/);
    expect(cluster.patches[0]?.patch.requestStorage).toBe('16Gi');
  });
});
