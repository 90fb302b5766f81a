/**
 * Horizontal scale: N shards of an Indexed Job together do exactly what one unsharded pass does,
 * each PVC in exactly one shard, and every member of a pvc-chonker.io/group in the same shard.
 * Two identical clusters: one for the single pass, one for the shards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PvcSnapshot } from '../../src/core/pvc.js';
import { shardOf } from '../../src/core/shard.js';
import { startSimOnly, startTestCluster, type TestCluster } from './test-cluster.js';
import { seed, type Claim } from './harness.js';
import {
  acceptedPatches,
  assertInvariants,
  runJson,
  snapshotPvcs,
  type RunRecord,
} from './invariants.js';
import { itOnSim } from './sim-only.js';

const SHARDS = 3;
const GROUP = 'pvc-chonker.io/group';

let clusters: TestCluster[] = [];
afterEach(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  clusters = [];
});

/** 24 PVCs in two namespaces on four nodes, half over threshold, two groups and one bad annotation. */
function fleet(): Claim[] {
  const claims: Claim[] = [];
  for (let i = 1; i <= 24; i++) {
    const group = i <= 4 ? 'orders' : i <= 7 ? 'search' : undefined;
    claims.push({
      name: `s${String(i).padStart(2, '0')}`,
      // A group is namespaced (a StatefulSet's claims): its members share one namespace.
      namespace: group !== undefined || i % 2 === 0 ? 'db' : 'web',
      usedPercent: i % 3 === 0 ? 40 : 95,
      node: `node-${i % 4}`,
      ...(group === undefined ? {} : { annotations: { [GROUP]: group } }),
    });
  }
  claims.push({
    name: 'bad',
    namespace: 'db',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/threshold': 'eighty' },
  });
  return claims;
}

function keyOf(row: Record<string, unknown>): string {
  return `${String(row['namespace'])}/${String(row['name'])}`;
}

function outcomesByKey(runs: readonly RunRecord[]): Map<string, string> {
  return new Map(
    runs.flatMap((run) =>
      run.rows.map((row) => [keyOf(row), `${String(row['action'])}:${String(row['reason'])}`]),
    ),
  );
}

async function sizes(cluster: TestCluster): Promise<Map<string, bigint>> {
  return new Map([...(await snapshotPvcs(cluster))].map(([key, pvc]) => [key, pvc.requestBytes]));
}

describe('sharding with --shard-index / --shard-count', () => {
  it('three shards together expand exactly what one pass expands; a group stays in one shard', async () => {
    const claims = fleet();
    clusters = await Promise.all([startTestCluster(seed(claims)), startTestCluster(seed(claims))]);
    const [single, sharded] = clusters as [TestCluster, TestCluster];
    const beforeSingle = await snapshotPvcs(single);
    const beforeSharded = await snapshotPvcs(sharded);

    const [whole, ...shards] = await Promise.all([
      runJson(single, []),
      runJson(sharded, ['--shard-count', '3', '--shard-index', '0']),
      runJson(sharded, ['--shard-count', '3', '--shard-index', '1']),
      // The third as an Indexed Job pod sees it: its index only in JOB_COMPLETION_INDEX.
      runJson(sharded, ['--shard-count', '3'], { JOB_COMPLETION_INDEX: '2' }),
    ]);

    expect([whole, ...shards].map((run) => run.result.code)).toEqual([0, 0, 0, 0]);
    // Each managed PVC is in exactly one shard, and in the shard its hash names.
    const perShard = shards.map((run) => run.rows.map(keyOf));
    expect(perShard.flat().sort()).toEqual(whole.rows.map(keyOf).sort());
    expect(new Set(perShard.flat()).size).toBe(whole.rows.length);
    perShard.forEach((keys, index) => {
      for (const key of keys) {
        const [namespace = '', name = ''] = key.split('/');
        const annotations = claims.find((c) => c.name === name)?.annotations ?? {};
        const snapshot = { namespace, name, annotations } as unknown as PvcSnapshot;
        expect(shardOf(snapshot, SHARDS), key).toBe(index);
      }
    });
    expect(perShard.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
    // Same decisions, same writes, same end state.
    expect(outcomesByKey(shards)).toEqual(outcomesByKey([whole]));
    const accepted = await acceptedPatches(single);
    expect((await acceptedPatches(sharded)).sort()).toEqual(accepted.sort());
    expect(accepted.length).toBe(16);
    expect(await sizes(sharded)).toEqual(await sizes(single));
    // A group is never split across shards.
    for (const group of ['orders', 'search']) {
      const members = claims
        .filter((c) => c.annotations?.[GROUP] === group)
        .map((c) => `${c.namespace ?? 'db'}/${c.name}`);
      const holding = perShard.filter((keys) => members.some((m) => keys.includes(m)));
      expect(holding, group).toHaveLength(1);
      expect(
        members.every((m) => holding[0]?.includes(m)),
        group,
      ).toBe(true);
    }
    await assertInvariants(single, beforeSingle, [whole]);
    await assertInvariants(sharded, beforeSharded, shards);
  });

  itOnSim('no-cluster')(
    'a shard index out of range is a usage error (exit 2) naming the flag',
    async () => {
      const cluster = await startSimOnly(seed([{ name: 'a' }]));
      clusters = [cluster];

      const result = await cluster.cli(['--shard-count', '3'], { JOB_COMPLETION_INDEX: '3' });

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--shard-index: "3"');
      expect(await cluster.requests()).toEqual([]);
    },
  );
});
