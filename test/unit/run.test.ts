import { describe, expect, it } from 'vitest';
import { formatUsd } from '../../src/core/cost.js';
import { SHIPPED_PRICES } from '../../src/core/prices.js';
import {
  pvcKey,
  type PersistentVolumeInfo,
  type PvcSnapshot,
  type StatsLookup,
} from '../../src/core/pvc.js';
import type { ExpansionCandidate, ProviderGate, VolumeStatsSource } from '../../src/ports.js';
import { run, type RunConfig, type RunDeps } from '../../src/run.js';
import { pvc, storageClass, usage } from '../builders/snapshots.js';
import {
  allowAll,
  fixedStats,
  gateOf,
  MemoryCluster,
  passConfig,
  passDeps,
} from '../fakes/memory-cluster.js';

const NOW = new Date('2026-11-26T12:00:00Z');

function setup(options: { config?: Partial<RunConfig>; providers?: ProviderGate } = {}) {
  const cluster = new MemoryCluster();
  cluster.classes.set('gp3', storageClass());
  const stats = new Map<string, StatsLookup>();
  const deps = (): RunDeps => passDeps(cluster, stats, NOW, options.providers);
  const config = passConfig(options.config);
  const addFull = (name: string, usedPercent = 95): void => {
    const claim = pvc({ name });
    cluster.add(claim);
    stats.set(pvcKey(claim), usage({ usedPercent }));
  };
  return { cluster, stats, deps, config, addFull };
}

describe('run', () => {
  it('patches size and state together, guarded by resourceVersion, and records a Normal event', async () => {
    const { cluster, deps, config, addFull } = setup();
    addFull('data-0');

    const summary = await run(deps(), config);

    expect(summary.status).toBe('success');
    expect(summary.pvcs[0]).toMatchObject({
      action: 'expand',
      reason: 'threshold-reached',
      newBytes: 11n << 30n,
    });
    expect(cluster.patches).toHaveLength(1);
    expect(cluster.patches[0]?.patch).toMatchObject({
      resourceVersion: '7',
      requestStorage: '11Gi',
    });
    const history = JSON.parse(
      cluster.patches[0]?.patch.annotations['pvc-chonker.io/expansion-history'] ?? '[]',
    ) as unknown;
    expect(history).toEqual([
      {
        time: '2026-11-26T12:00:00Z',
        from: '10Gi',
        to: '11Gi',
        reason: 'threshold-reached',
        used: '9728Mi',
      },
    ]);
    expect(cluster.patches[0]?.patch.annotations['pvc-chonker.io/last-expansion']).toBe(
      '2026-11-26T12:00:00Z',
    );
    expect(cluster.events).toMatchObject([
      { type: 'Normal', reason: 'threshold-reached', action: 'expand' },
    ]);
  });

  it('sends no write of any kind in dry run', async () => {
    const { cluster, deps, config, addFull } = setup({ config: { dryRun: true } });
    addFull('data-0');
    cluster.add(pvc({ name: 'bad', annotations: { 'pvc-chonker.io/threshold': 'eighty' } }));

    const summary = await run(deps(), config);

    expect(summary.pvcs.map((o) => o.action)).toEqual(['would-expand', 'error']);
    expect(cluster.patches).toEqual([]);
    expect(cluster.events).toEqual([]);
  });

  it('re-reads and decides again once after a conflict', async () => {
    const { cluster, deps, config, addFull } = setup();
    addFull('data-0');
    cluster.conflicts.set('db/data-0', { count: 1 });

    const summary = await run(deps(), config);

    expect(cluster.gets).toHaveLength(1);
    expect(cluster.patches).toHaveLength(2);
    expect(summary.pvcs[0]?.action).toBe('expand');
  });

  it('does not expand when the re-read shows another writer already expanded it', async () => {
    const { cluster, deps, config, addFull } = setup();
    addFull('data-0');
    cluster.conflicts.set('db/data-0', {
      count: 1,
      onConflict: () => {
        const current = cluster.pvcs.get('db/data-0');
        if (current)
          cluster.pvcs.set('db/data-0', {
            ...current,
            resourceVersion: '9',
            requestBytes: 11n << 30n,
          });
      },
    });

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]).toMatchObject({ action: 'skip', reason: 'resize-in-progress' });
    expect(cluster.patches).toHaveLength(1);
  });

  it('gives up with reason conflict after the second conflict', async () => {
    const { cluster, deps, config, addFull } = setup();
    addFull('data-0');
    cluster.conflicts.set('db/data-0', { count: 5 });

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]).toMatchObject({ action: 'error', reason: 'conflict' });
    expect(cluster.patches).toHaveLength(2);
    expect(cluster.events).toMatchObject([{ type: 'Warning', reason: 'conflict' }]);
  });

  it.each([
    ['applied', 'expand', 'threshold-reached', /; 10Gi -> 11Gi; PATCH unanswered: lost; applied$/],
    [
      'not-applied',
      'error',
      'api-error',
      /^PATCH unanswered: lost; not applied; the next run tries again$/,
    ],
  ] as const)(
    'a PATCH that goes unanswered (%s) is not sent again, and its record says so',
    async (found, action, reason, detail) => {
      const { cluster, deps, config, addFull } = setup();
      addFull('data-0');
      cluster.unanswered.set('db/data-0', found);

      const summary = await run(deps(), config);

      expect(summary.pvcs[0]).toMatchObject({ action, reason });
      expect(summary.pvcs[0]?.detail).toMatch(detail);
      expect(cluster.patches).toHaveLength(1);
      expect(cluster.gets).toEqual([]);
    },
  );

  it('names an Event that could not be recorded in the PVC record', async () => {
    const { cluster, deps, config, addFull } = setup();
    addFull('data-0');
    cluster.eventFailure = new Error('record event for db/data-0: timed out after 15000 ms');

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]).toMatchObject({ action: 'expand' });
    expect(summary.pvcs[0]?.detail).toMatch(
      /; its Normal Event was not recorded: record event for db\/data-0: timed out after 15000 ms$/,
    );
  });

  it('caps expansions per run and reports the rest for the next run', async () => {
    const { cluster, deps, config, addFull } = setup({ config: { maxExpansionsPerRun: 2 } });
    for (const name of ['a', 'b', 'c']) addFull(name);

    const summary = await run(deps(), config);

    expect(summary.pvcs.map((o) => `${o.name}:${o.action}:${o.reason}`)).toEqual([
      'a:expand:threshold-reached',
      'b:expand:threshold-reached',
      'c:skip:max-expansions-per-run',
    ]);
    expect(cluster.patches).toHaveLength(2);
  });

  describe('as the kubelets answer', () => {
    /** Stats node by node, last node first, through onStats; `patchesBefore`: at the last node. */
    function nodeByNode(stats: Map<string, StatsLookup>, cluster: MemoryCluster) {
      const seen = { patchesBeforeLast: -1 };
      const source: VolumeStatsSource = {
        perNode: true,
        async collect(pvcsByNode, onStats) {
          const nodes = [...pvcsByNode].reverse();
          for (const [index, [, pvcs]] of nodes.entries()) {
            if (index === nodes.length - 1) seen.patchesBeforeLast = cluster.patches.length;
            const answer = new Map<string, StatsLookup>();
            for (const claim of pvcs) {
              const found = stats.get(pvcKey(claim));
              if (found !== undefined) answer.set(pvcKey(claim), found);
            }
            onStats?.(answer);
            for (let turn = 0; turn < 20; turn++) await Promise.resolve();
          }
          return stats;
        },
      };
      return { source, seen };
    }

    it('writes a PVC before the last node has answered, and reports in list order', async () => {
      const { cluster, stats, deps, config, addFull } = setup();
      for (const [index, name] of ['a', 'b', 'c'].entries()) {
        addFull(name);
        cluster.mounts.set(`db/${name}`, `node-${String(index)}`);
      }
      const { source, seen } = nodeByNode(stats, cluster);

      const summary = await run({ ...deps(), stats: source }, config);

      expect(seen.patchesBeforeLast).toBeGreaterThan(0);
      expect(summary.pvcs.map((o) => `${o.name}:${o.action}`)).toEqual([
        'a:expand',
        'b:expand',
        'c:expand',
      ]);
    });

    it('when the cap could bind, waits for every node and lets the first in list order through', async () => {
      const { cluster, stats, deps, config, addFull } = setup({
        config: { maxExpansionsPerRun: 2 },
      });
      for (const [index, name] of ['a', 'b', 'c'].entries()) {
        addFull(name);
        cluster.mounts.set(`db/${name}`, `node-${String(index)}`);
      }
      const { source, seen } = nodeByNode(stats, cluster);

      const summary = await run({ ...deps(), stats: source }, config);

      expect(seen.patchesBeforeLast).toBe(0);
      expect(summary.pvcs.map((o) => `${o.name}:${o.action}:${o.reason}`)).toEqual([
        'a:expand:threshold-reached',
        'b:expand:threshold-reached',
        'c:skip:max-expansions-per-run',
      ]);
    });
  });

  it('applies the provider verdict: a refusal is a Warning, a cap lowers the request', async () => {
    const providers = gateOf('aws', (c) =>
      c.pvc.name === 'refused'
        ? {
            ok: false,
            provider: 'aws',
            reason: 'provider-refused',
            detail: 'modification in progress',
            retryAt: new Date('2026-11-26T18:00:00Z'),
          }
        : {
            ok: true,
            provider: 'aws',
            toBytes: c.toBytes,
            warnings: ['volume type is gp2, expected gp3'],
          },
    );
    const { cluster, deps, config, addFull } = setup({ providers });
    addFull('refused');
    addFull('fine');

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]).toMatchObject({
      action: 'skip',
      reason: 'provider-refused',
      provider: 'aws',
    });
    expect(summary.pvcs[0]?.detail).toContain('2026-11-26T18:00:00.000Z');
    expect(summary.pvcs[1]).toMatchObject({ action: 'expand', provider: 'aws' });
    expect(summary.pvcs[1]?.detail).toContain('expected gp3');
    expect(cluster.events.map((e) => `${e.pvc.name}:${e.type}:${e.reason}`)).toEqual(
      expect.arrayContaining(['refused:Warning:provider-refused', 'fine:Normal:threshold-reached']),
    );
  });

  it('asks each node once and only for mounted filesystem volumes', async () => {
    const { cluster, stats, deps, config } = setup();
    const source = fixedStats(stats);
    cluster.add(pvc({ name: 'a' }), 'node-1');
    cluster.add(pvc({ name: 'b' }), 'node-1');
    cluster.add(pvc({ name: 'c', volumeMode: 'Block' }), 'node-2');
    cluster.add(pvc({ name: 'd', enabled: false }), 'node-3');

    await run({ ...deps(), stats: source }, config);

    expect(source.asked).toEqual(['node-1']);
  });

  it('reports a listing failure as a failed run', async () => {
    const { cluster, deps, config } = setup();
    cluster.listPvcs = async function* () {
      await Promise.resolve();
      yield [];
      throw new Error('list persistentvolumeclaims: HTTP 401 Unauthorized');
    };

    const summary = await run(deps(), config);

    expect(summary.status).toBe('failed');
    expect(summary.error).toContain('401');
  });

  it('starts no patch after the stop signal and says so', async () => {
    const { deps, config, addFull } = setup();
    addFull('data-0');
    const stop = new AbortController();
    stop.abort();

    const summary = await run({ ...deps(), signal: stop.signal }, config);

    expect(summary.status).toBe('interrupted');
    expect(summary.pvcs[0]).toMatchObject({ action: 'skip', reason: 'interrupted' });
  });
});

describe('run without a provider verdict', () => {
  it('does not expand a PVC the provider gave no verdict for', async () => {
    const silentGate: ProviderGate = {
      providerFor: () => 'aws',
      check: () => Promise.resolve(new Map()),
    };
    const { cluster, deps, config, addFull } = setup({
      providers: silentGate,
      config: { writeConcurrency: 1 },
    });
    addFull('data-0');

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]).toMatchObject({ action: 'error', reason: 'provider-error' });
    expect(cluster.patches).toEqual([]);
  });
});

describe('run with a price table', () => {
  function costGate(volumeType: string | undefined): ProviderGate {
    return gateOf('aws', (c) => ({
      ok: true,
      provider: 'aws',
      toBytes: c.toBytes,
      warnings: [],
      volumeType,
    }));
  }

  it.each([
    ['the class says gp3 and the cloud says nothing', undefined, 'gp3', '0.88', '0.08'],
    ['the cloud says io1: its price wins', 'io1', 'io1', '1.38', '0.13'],
  ])('%s', async (_, cloudType, type, monthly, added) => {
    const { cluster, deps, config, addFull } = setup({
      providers: costGate(cloudType),
      config: { prices: SHIPPED_PRICES },
    });
    cluster.classes.set('gp3', { ...storageClass(), parameters: { type: 'gp3' } });
    addFull('data-0');

    const summary = await run(deps(), config);

    const cost = summary.pvcs[0]?.cost;
    expect(cost?.volumeType?.type).toBe(type);
    expect(cost?.monthlyCost === undefined ? undefined : formatUsd(cost.monthlyCost)).toBe(monthly);
    expect(
      cost?.monthlyCostAdded === undefined ? undefined : formatUsd(cost.monthlyCostAdded),
    ).toBe(added);
    expect(cluster.events[0]?.message).toContain(`; adds $${added} a month (${type} at $`);
  });

  it('prices nothing without a table, and the Event says nothing of cost', async () => {
    const { cluster, deps, config, addFull } = setup({ providers: costGate('gp3') });
    cluster.classes.set('gp3', { ...storageClass(), parameters: { type: 'gp3' } });
    addFull('data-0');

    const summary = await run(deps(), config);

    expect(summary.pvcs[0]?.cost).toBeUndefined();
    expect(cluster.events[0]?.message).not.toContain('a month');
  });
});

describe('run with a source that needs no nodes (Prometheus)', () => {
  const noSeries: StatsLookup = {
    kind: 'unavailable',
    detail: 'Prometheus has no kubelet_volume_stats_capacity_bytes series for the volume',
    source: 'prometheus',
  };

  function setupWithout(
    nodes: Record<string, string | undefined>,
    lookups: Record<string, StatsLookup>,
  ) {
    const cluster = new MemoryCluster();
    cluster.classes.set('gp3', storageClass());
    const stats = new Map<string, StatsLookup>();
    for (const [name, node] of Object.entries(nodes)) {
      const claim = pvc({ name });
      cluster.add(claim, node ?? 'unused');
      if (node === undefined) cluster.mounts.delete(pvcKey(claim));
      const lookup = lookups[name];
      if (lookup !== undefined) stats.set(pvcKey(claim), lookup);
    }
    const source = fixedStats(stats, false);
    const deps: RunDeps = { ...passDeps(cluster, stats, NOW), stats: source };
    return { cluster, source, deps };
  }

  it('asks about every bound PVC at once, and reads no pods when each has stats', async () => {
    const { cluster, source, deps } = setupWithout(
      { a: 'node-1', b: 'node-2', idle: undefined },
      {
        a: usage({ usedPercent: 95 }),
        b: usage({ usedPercent: 40 }),
        idle: usage({ usedPercent: 95 }),
      },
    );

    const summary = await run(deps, passConfig());

    expect(source.asked).toEqual(['']);
    expect(cluster.podLists).toBe(0);
    // Fresh stats decide, mounted or not: the pass has not read the pods to know.
    expect(summary.pvcs.map((o) => `${o.name}:${o.action}:${o.reason}`)).toEqual([
      'a:expand:threshold-reached',
      'b:skip:below-threshold',
      'idle:expand:threshold-reached',
    ]);
  });

  it('reads the pods once when a PVC has no stats: unmounted it is "not mounted", mounted it keeps the source\'s detail', async () => {
    const { cluster, deps } = setupWithout(
      { a: 'node-1', lost: 'node-2', gone: undefined },
      { a: usage({ usedPercent: 95 }), lost: noSeries, gone: noSeries },
    );

    const summary = await run(deps, passConfig());

    expect(cluster.podLists).toBe(1);
    expect(summary.pvcs.map((o) => `${o.name}:${o.action}:${o.reason}:${o.detail}`)).toEqual([
      expect.stringMatching(/^a:expand:threshold-reached:/),
      `lost:skip:metrics-unavailable:${noSeries.detail}`,
      'gone:skip:metrics-unavailable:not mounted by a running pod',
    ]);
  });

  it('reads the pods for a PVC the source is not asked about (not bound), once', async () => {
    const { cluster, source, deps } = setupWithout({ a: 'node-1' }, { a: noSeries });
    cluster.add(pvc({ name: 'pending', phase: 'Pending' }), 'node-1');

    const summary = await run(deps, passConfig());

    // Read before the source is asked, for the unbound PVC, and not again for `a`.
    expect(cluster.podLists).toBe(1);
    expect(source.asked).toEqual(['']);
    expect(summary.pvcs.map((o) => `${o.name}:${o.detail}`)).toEqual([
      `a:${noSeries.detail}`,
      'pending:phase Pending',
    ]);
  });
});

describe('run with a named provider: the PVs only when a PVC needs its own', () => {
  const volume = (name: string): PersistentVolumeInfo => ({
    name,
    capacityBytes: 10n << 30n,
    csiDriver: 'ebs.csi.aws.com',
    volumeHandle: `vol-${name}`,
    awsElasticBlockStoreVolumeId: undefined,
    gcePersistentDiskName: undefined,
    zone: undefined,
    nodeAffinity: {},
  });

  /**
   * As a named --provider: detects only for PVCs annotated `auto`; records what providerFor and
   * the cloud check were given. `detects: false` leaves detectsFromVolume unset (always detects);
   * `checksVolume: false` is a provider whose check needs no PV (generic).
   */
  function setupNamed(
    claims: { name: string; usedPercent: number; auto?: boolean }[],
    { detects = true, checksVolume = true } = {},
  ) {
    const cluster = new MemoryCluster();
    cluster.classes.set('gp3', storageClass());
    const stats = new Map<string, StatsLookup>();
    for (const { name, usedPercent, auto } of claims) {
      const annotations = auto === true ? { 'pvc-chonker.io/provider': 'auto' } : {};
      const claim = { ...pvc({ name, annotations }), volumeName: `pv-${name}` };
      cluster.add(claim);
      cluster.volumes.set(`pv-${name}`, volume(`pv-${name}`));
      stats.set(pvcKey(claim), usage({ usedPercent }));
    }
    const seen = { candidates: [] as ExpansionCandidate[], providers: [] as string[] };
    const gate: ProviderGate = {
      providerFor: (claim, pv) => {
        seen.providers.push(`${claim.name}:${pv?.name ?? 'no PV'}`);
        return 'generic';
      },
      check: (candidates, now) => {
        seen.candidates.push(...candidates);
        return allowAll.check(candidates, now);
      },
      checksVolume: () => checksVolume,
      ...(detects
        ? {
            detectsFromVolume: (claim: PvcSnapshot | undefined) =>
              claim?.annotations['pvc-chonker.io/provider'] === 'auto',
          }
        : {}),
    };
    return { cluster, seen, deps: passDeps(cluster, stats, NOW, gate) };
  }

  it('a quiet pass lists none', async () => {
    const { cluster, deps } = setupNamed([
      { name: 'a', usedPercent: 40 },
      { name: 'b', usedPercent: 50 },
    ]);

    const summary = await run(deps, passConfig());

    expect(summary.pvcs.map((o) => o.reason)).toEqual(['below-threshold', 'below-threshold']);
    expect(cluster.volumeLists).toBe(0);
  });

  it('a PVC to grow gets them listed once, and its cloud check gets its PV', async () => {
    const { cluster, seen, deps } = setupNamed([
      { name: 'a', usedPercent: 95 },
      { name: 'b', usedPercent: 40 },
      { name: 'c', usedPercent: 96 },
    ]);

    const summary = await run(deps, passConfig());

    expect(summary.pvcs.map((o) => `${o.name}:${o.action}`)).toEqual([
      'a:expand',
      'b:skip',
      'c:expand',
    ]);
    expect(cluster.volumeLists).toBe(1);
    expect(seen.candidates.map((c) => c.pv?.volumeHandle)).toEqual(['vol-pv-a', 'vol-pv-c']);
  });

  it('a PVC to grow whose cloud check reads no volume (generic) lists none', async () => {
    const { cluster, seen, deps } = setupNamed([{ name: 'a', usedPercent: 95 }], {
      checksVolume: false,
    });

    const summary = await run(deps, passConfig());

    expect(summary.pvcs.map((o) => `${o.name}:${o.action}`)).toEqual(['a:expand']);
    expect(cluster.volumeLists).toBe(0);
    expect(seen.candidates.map((c) => c.pv)).toEqual([undefined]);
  });

  it('a PVC whose provider is detected gets them listed before it is decided, even when quiet', async () => {
    const { cluster, seen, deps } = setupNamed([
      { name: 'a', usedPercent: 40 },
      { name: 'b', usedPercent: 40, auto: true },
    ]);

    await run(deps, passConfig());

    expect(cluster.volumeLists).toBe(1);
    expect(seen.providers).toEqual(['a:pv-a', 'b:pv-b']);
  });

  it('a gate that always detects (no detectsFromVolume) gets them listed up front', async () => {
    const { cluster, seen, deps } = setupNamed([{ name: 'a', usedPercent: 40 }], {
      detects: false,
    });

    await run(deps, passConfig());

    expect(cluster.volumeLists).toBe(1);
    expect(seen.providers).toEqual(['a:pv-a']);
  });
});
