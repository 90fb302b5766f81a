// Longhorn's rule as tables: its disk arithmetic (replica_scheduler.go), replicas on several
// disks, several volumes on one disk in one pass, the reserve, and the versions and data engines
// that can only expand a detached volume.
import { describe, expect, it } from 'vitest';
import { ok, err, type Result } from '../../src/core/result.js';
import {
  diskKey,
  diskRoom,
  longhornVerdicts,
  offlineOnly,
  parseVersion,
  percentOf,
  type LonghornDisk,
  type LonghornFacts,
  type LonghornReplica,
  type LonghornSettings,
  type LonghornVolume,
} from '../../src/providers/longhorn-rule.js';
import type { ExpansionCandidate, ProviderVerdict } from '../../src/providers/types.js';
import { candidate, gi, pv } from './builders.js';

const SETTINGS: LonghornSettings = {
  overProvisioningPercent: 100n,
  minimalAvailablePercent: 25n,
  version: 'v1.9.1',
};

function disk(
  node: string,
  uuid: string,
  o: { maxGi?: number; availableGi?: number; scheduledGi?: number; reservedGi?: number } = {},
): LonghornDisk {
  return {
    node,
    name: `disk-${uuid}`,
    uuid,
    maximumBytes: gi(o.maxGi ?? 1000),
    availableBytes: gi(o.availableGi ?? 900),
    scheduledBytes: gi(o.scheduledGi ?? 0),
    reservedBytes: gi(o.reservedGi ?? 0),
  };
}

describe('diskRoom (IsSchedulableToDisk, ValidateDiskAvailableForExpansion)', () => {
  it.each<
    [
      string,
      { maxGi: number; availableGi: number; scheduledGi: number; reservedGi?: number },
      Partial<LonghornSettings>,
      boolean,
      bigint | string,
    ]
  >([
    // [case, disk, settings, physical check (v1.11+), room in bytes or the refusal]
    ['scheduling room', { maxGi: 100, availableGi: 60, scheduledGi: 50 }, {}, false, gi(50)],
    [
      'the physical check binds',
      { maxGi: 100, availableGi: 60, scheduledGi: 50 },
      {},
      true,
      gi(35),
    ],
    [
      'the physical over-provisioning limit binds',
      { maxGi: 100, availableGi: 60, scheduledGi: 0 },
      { overProvisioningPercent: 50n },
      true,
      gi(10),
    ],
    [
      'over-provisioned 200%',
      { maxGi: 100, availableGi: 60, scheduledGi: 50 },
      { overProvisioningPercent: 200n },
      false,
      gi(150),
    ],
    [
      'reserved space',
      { maxGi: 100, availableGi: 60, scheduledGi: 50, reservedGi: 10 },
      {},
      false,
      gi(40),
    ],
    [
      'already over-scheduled',
      { maxGi: 100, availableGi: 60, scheduledGi: 120 },
      {},
      false,
      -gi(20),
    ],
    [
      'available at the minimal',
      { maxGi: 100, availableGi: 25, scheduledGi: 0 },
      {},
      false,
      '25.0 GiB available is not above 25.0 GiB',
    ],
    [
      'a minimal of 0%',
      { maxGi: 100, availableGi: 1, scheduledGi: 0 },
      { minimalAvailablePercent: 0n },
      false,
      gi(100),
    ],
    [
      'no maximum',
      { maxGi: 0, availableGi: 0, scheduledGi: 0 },
      {},
      false,
      'its storageMaximum is 0',
    ],
    [
      'nothing available',
      { maxGi: 100, availableGi: 0, scheduledGi: 0 },
      {},
      false,
      'its storageAvailable is 0',
    ],
  ])('%s', (_, d, settings, physical, expected) => {
    const room = diskRoom(disk('n1', 'u1', d), { ...SETTINGS, ...settings }, physical);

    if (typeof expected === 'bigint') expect(room).toMatchObject({ ok: true, bytes: expected });
    else {
      expect(room.ok).toBe(false);
      expect(room).toHaveProperty('why', expect.stringContaining(expected));
    }
  });

  it('computes percentages as Longhorn does: float64, truncated', () => {
    expect(percentOf(3n, 33n)).toBe(0n);
    expect(percentOf(gi(100), 25n)).toBe(gi(25));
    expect(percentOf(1001n, 25n)).toBe(250n);
    expect(percentOf(gi(7) + 1n, 15n)).toBe(BigInt(Math.trunc((Number(gi(7) + 1n) * 15) / 100)));
  });
});

describe('offline expansion (Longhorn docs, Volume Expansion)', () => {
  const volume = (dataEngine: string, frontend = ''): LonghornVolume => ({
    name: 'v',
    dataEngine,
    frontend,
    state: 'attached',
  });

  it.each<[string, string, string, boolean]>([
    // [version, data engine, frontend, online]
    ['v1.3.3', 'v1', '', false],
    ['v1.3.3', '', 'blockdev', false],
    ['v1.4.0', 'v1', 'blockdev', true],
    ['v1.4.0-rc1', 'v1', '', true],
    ['v1.9.1', '', '', true],
    ['v1.9.1', 'v2', 'blockdev', false],
    ['v1.10.0', 'v2', 'blockdev', true],
    ['v1.10.0', 'v2', 'nvmf', true],
    ['v1.10.0', 'v2', '', true],
    ['v1.10.0', 'v2', 'ublk', false],
    ['v1.12.1', 'v2', 'ublk', false],
    ['v2.0.0', 'v1', 'iscsi', true],
  ])('Longhorn %s, engine %s, frontend %s: online %s', (version, engine, frontend, online) => {
    const parsed = parseVersion(version);
    if (parsed === undefined) throw new Error(version);

    expect(offlineOnly(parsed, volume(engine, frontend)) === undefined).toBe(online);
  });

  it.each<[string | undefined, readonly number[] | undefined]>([
    ['v1.9.1', [1, 9, 1]],
    ['1.10.0', [1, 10, 0]],
    ['v1.11.0-hotfix-1', [1, 11, 0]],
    ['master-head', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('parses version %s', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });
});

function longhorn(
  name: string,
  o: { fromGi?: number; toGi?: number; minIncreaseGi?: number } = {},
): ExpansionCandidate {
  return candidate(name, pv({ csiDriver: 'driver.longhorn.io', volumeHandle: `pvc-${name}` }), o);
}

function replica(volume: string, node: string, diskId: string): LonghornReplica {
  return { volumeName: `pvc-${volume}`, nodeId: node, diskId };
}

interface World {
  disks?: LonghornDisk[];
  brokenDisks?: [string, string][];
  replicas?: LonghornReplica[];
  volumes?: LonghornVolume[];
  settings?: Partial<LonghornSettings>;
}

function facts(world: World, names: readonly string[]): LonghornFacts {
  const disks = new Map<string, Result<LonghornDisk>>(
    (world.disks ?? []).map((d) => [diskKey(d.node, d.uuid), ok(d)]),
  );
  for (const [key, problem] of world.brokenDisks ?? []) disks.set(key, err(problem));
  const replicas = new Map<string, LonghornReplica[]>();
  for (const r of world.replicas ?? [])
    replicas.set(r.volumeName, [...(replicas.get(r.volumeName) ?? []), r]);
  const volumes =
    world.volumes ??
    names.map((n) => ({
      name: `pvc-${n}`,
      dataEngine: 'v1',
      frontend: 'blockdev',
      state: 'attached',
    }));
  return {
    settings: { ...SETTINGS, ...world.settings },
    disks,
    nodes: new Set([
      ...(world.disks ?? []).map((d) => d.node),
      ...(world.brokenDisks ?? []).map(([k]) => k.split('/')[0] ?? ''),
    ]),
    volumes: new Map(volumes.map((v) => [v.name, v])),
    replicas,
    namespace: 'longhorn-system',
  };
}

function judge(candidates: ExpansionCandidate[], world: World, reserveGi = 1): ProviderVerdict[] {
  const items = candidates.map((c) => ({
    key: c.pvc.name,
    candidate: c,
    volume: c.pv?.volumeHandle ?? '',
  }));
  const verdicts = longhornVerdicts(
    items,
    facts(
      world,
      candidates.map((c) => c.pvc.name),
    ),
    gi(reserveGi),
  );
  return items.map((i) => verdicts.get(i.key) as ProviderVerdict);
}

function summary(v: ProviderVerdict | undefined): string | bigint | undefined {
  if (v === undefined) return undefined;
  return v.ok ? v.toBytes / gi(1) : v.reason;
}

describe('Longhorn verdicts', () => {
  // Three nodes, a disk each: 1000 GiB, 900 available, nothing scheduled unless said.
  const three = (over: Parameters<typeof disk>[2] = {}): LonghornDisk[] => [
    disk('n1', 'd1', over),
    disk('n2', 'd2'),
    disk('n3', 'd3'),
  ];
  const spread = (v: string): LonghornReplica[] => [
    replica(v, 'n1', 'd1'),
    replica(v, 'n2', 'd2'),
    replica(v, 'n3', 'd3'),
  ];

  it.each<[string, Parameters<typeof disk>[2], string | bigint]>([
    // [case, the first disk, verdict: new size in GiB or the reason]
    ['fits on every disk', {}, 120n],
    ['fits exactly with the reserve', { scheduledGi: 979 }, 120n],
    ['partly fits on the tightest disk', { scheduledGi: 989 }, 110n],
    ['does not fit on one disk', { scheduledGi: 999 }, 'provider-capacity'],
    ['one disk is below its minimal available', { availableGi: 250 }, 'provider-capacity'],
  ])('%s', (_, first, expected) => {
    const [verdict] = judge([longhorn('a')], { disks: three(first), replicas: spread('a') });

    expect(summary(verdict)).toBe(expected);
  });

  it('names the disk, the node and the limit when it refuses', () => {
    const [verdict] = judge([longhorn('a', { minIncreaseGi: 5 })], {
      disks: three({ scheduledGi: 997 }),
      replicas: spread('a'),
    });

    expect(verdict).toMatchObject({
      ok: false,
      provider: 'longhorn',
      reason: 'provider-capacity',
      detail:
        '+20Gi does not fit on disk disk-d1 of Longhorn node n1: room for 3.0 GiB: 997.0 GiB scheduled of 1000.0 GiB (storage-over-provisioning-percentage 100%), 1Gi kept free by --onprem-reserve; the largest whole-GiB step that fits, +2Gi, is below min-increase 5Gi',
    });
  });

  it('counts each replica on a disk: two replicas on one disk need twice the room', () => {
    const world = {
      disks: [disk('n1', 'd1', { scheduledGi: 961 }), disk('n2', 'd2')],
      replicas: [replica('a', 'n1', 'd1'), replica('a', 'n1', 'd1'), replica('a', 'n2', 'd2')],
    };

    // 39 GiB of room less the 1 GiB reserve on d1, shared by two replicas: 19 GiB each.
    expect(summary(judge([longhorn('a')], world)[0])).toBe(119n);
  });

  it('shares a disk between the volumes of a pass, the first decided taking first', () => {
    const shared = disk('n1', 'd1', { scheduledGi: 950 });
    const verdicts = judge([longhorn('a'), longhorn('b'), longhorn('c'), longhorn('d')], {
      disks: [shared, disk('n2', 'd2')],
      replicas: [
        replica('a', 'n1', 'd1'),
        replica('b', 'n2', 'd2'),
        replica('c', 'n1', 'd1'),
        replica('d', 'n1', 'd1'),
      ],
    });

    // d1 has 49 GiB usable: a takes 20, b is elsewhere, c takes 20, d gets the last 9.
    expect(verdicts.map(summary)).toEqual([120n, 120n, 120n, 109n]);
  });

  it('ignores replicas not yet scheduled to a node, as Longhorn does', () => {
    const [verdict] = judge([longhorn('a')], {
      disks: [disk('n1', 'd1')],
      replicas: [replica('a', 'n1', 'd1'), replica('a', '', '')],
    });

    expect(verdict).toMatchObject({ ok: true, toBytes: gi(120), warnings: [] });
  });

  it('applies the physical check from v1.11.0 on', () => {
    // 1000 GiB, 280 available: 30 GiB above the 25% minimal physically, nothing scheduled.
    const world = (version: string): World => ({
      disks: [disk('n1', 'd1', { availableGi: 280 })],
      replicas: [replica('a', 'n1', 'd1')],
      settings: { version },
    });

    expect(summary(judge([longhorn('a', { toGi: 140 })], world('v1.10.3'))[0])).toBe(140n);
    expect(summary(judge([longhorn('a', { toGi: 140 })], world('v1.11.0'))[0])).toBe(129n);
  });

  it.each<[string, World, string]>([
    [
      'the volume is missing',
      { volumes: [] },
      'Longhorn volume pvc-a not found in longhorn-system',
    ],
    [
      'a replica node is missing',
      { disks: [], replicas: [replica('a', 'n9', 'd1')] },
      'Longhorn node n9 (of a replica) not found',
    ],
    [
      'a replica disk is missing',
      { disks: [disk('n1', 'd1')], replicas: [replica('a', 'n1', 'd7')] },
      'disk d7 not found on Longhorn node n1',
    ],
    [
      'a disk status is malformed',
      {
        brokenDisks: [['n1/d1', 'disk x of Longhorn node n1 has no integer storageMaximum']],
        replicas: [replica('a', 'n1', 'd1')],
      },
      'has no integer storageMaximum',
    ],
    [
      'the version is missing',
      { settings: { version: undefined } },
      'setting current-longhorn-version is missing',
    ],
    ['the version is not one', { settings: { version: 'master-head' } }, "is 'master-head'"],
    [
      'the data engine is unknown',
      { volumes: [{ name: 'pvc-a', dataEngine: 'v3', frontend: '', state: 'attached' }] },
      "unknown data engine 'v3'",
    ],
  ])('a clear provider-error when %s', (_, world, detail) => {
    const [verdict] = judge([longhorn('a')], world);

    expect(verdict).toMatchObject({ ok: false, reason: 'provider-error' });
    expect(verdict).toHaveProperty('detail', expect.stringContaining(detail));
  });

  it.each<[string, string, string, string | undefined, string | bigint]>([
    // [version, engine, frontend, state, verdict]
    ['v1.3.3', 'v1', 'blockdev', 'attached', 'offline-expansion-required'],
    ['v1.3.3', 'v1', 'blockdev', 'detached', 120n],
    ['v1.9.1', 'v2', 'blockdev', 'attached', 'offline-expansion-required'],
    ['v1.10.0', 'v2', 'ublk', 'attached', 'offline-expansion-required'],
    ['v1.10.0', 'v2', 'nvmf', 'attached', 120n],
    ['v1.4.0', 'v1', 'blockdev', undefined, 120n],
  ])(
    'Longhorn %s, engine %s, frontend %s, %s: %s',
    (version, dataEngine, frontend, state, expected) => {
      const [verdict] = judge([longhorn('a')], {
        disks: [disk('n1', 'd1')],
        replicas: [replica('a', 'n1', 'd1')],
        volumes: [{ name: 'pvc-a', dataEngine, frontend, state }],
        settings: { version },
      });

      expect(summary(verdict)).toBe(expected);
    },
  );

  it('says what to do about an offline-only volume', () => {
    const [verdict] = judge([longhorn('a')], {
      disks: [disk('n1', 'd1')],
      replicas: [replica('a', 'n1', 'd1')],
      settings: { version: 'v1.3.3' },
    });

    expect(verdict).toMatchObject({
      ok: false,
      reason: 'offline-expansion-required',
      detail:
        'Longhorn v1.3.3 expands volumes only while detached (online from v1.4.0); volume pvc-a is attached: detach it to expand, or upgrade Longhorn',
    });
  });
});
