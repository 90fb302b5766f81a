/**
 * Longhorn: a volume is a set of replicas, each a sparse file on one disk of one node, and Longhorn
 * refuses an expansion (its PVC validating webhook and volume controller both call
 * ReplicaScheduler.CheckReplicasSizeExpansion) unless every disk holding a replica can take the
 * added bytes times the replicas it holds. This is that check, with Longhorn's own arithmetic
 * (longhorn/longhorn-manager scheduler/replica_scheduler.go: IsSchedulableToDisk, and since
 * v1.11.0 ValidateDiskAvailableForExpansion), and Longhorn's rule for when a volume can only be
 * expanded detached. Pure: the custom resources come in as data.
 */
import { formatQuantity } from '../core/quantity.js';
import { err, ok, type Result } from '../core/result.js';
import { GIB } from './limits.js';
import { belowMinIncrease, fitStep, showStep } from './onprem-fit.js';
import {
  verdictOk,
  verdictRefused,
  type ExpansionCandidate,
  type ProviderVerdict,
} from './types.js';

/** One disk of a Longhorn node: status.diskStatus.<name> and spec.disks.<name>.storageReserved. */
export interface LonghornDisk {
  node: string;
  name: string;
  uuid: string;
  maximumBytes: bigint;
  availableBytes: bigint;
  scheduledBytes: bigint;
  reservedBytes: bigint;
}

/** The settings the rule reads; Longhorn fills in its defaults (100, 25) for missing ones. */
export interface LonghornSettings {
  /** storage-over-provisioning-percentage. */
  overProvisioningPercent: bigint;
  /** storage-minimal-available-percentage. */
  minimalAvailablePercent: bigint;
  /** current-longhorn-version, e.g. v1.9.1; undefined when the setting is missing. */
  version: string | undefined;
}

export const LONGHORN_DEFAULT_SETTINGS = {
  'storage-over-provisioning-percentage': 100n,
  'storage-minimal-available-percentage': 25n,
} as const;

export interface LonghornVolume {
  name: string;
  /** spec.dataEngine: v1 or v2 ("" on versions before the V2 engine: v1). */
  dataEngine: string;
  /** spec.frontend: blockdev, iscsi, nvmf, ublk ("" is the default, blockdev). */
  frontend: string;
  /** status.state: attached, detached, ... */
  state: string | undefined;
}

export interface LonghornReplica {
  volumeName: string;
  /** spec.nodeID; "" while unscheduled (Longhorn skips those). */
  nodeId: string;
  /** spec.diskID: the disk's diskUUID. */
  diskId: string;
}

export type Version = readonly [number, number, number];

/** v1.9.1, 1.10.0-rc1, v1.11.0-hotfix-1 → [1, 9, 1] ...; anything else is unknown. */
export function parseVersion(text: string | undefined): Version | undefined {
  const m = text === undefined ? null : /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function atLeast(version: Version, wanted: Version): boolean {
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = wanted[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

const ONLINE_V1: Version = [1, 4, 0];
const ONLINE_V2: Version = [1, 10, 0];
/** Longhorn checks the physical space of an expansion too from this release on. */
const PHYSICAL_CHECK: Version = [1, 11, 0];
/** V2 frontends that can be expanded online ("" is the default, blockdev). */
const ONLINE_V2_FRONTENDS = new Set(['', 'blockdev', 'nvmf']);

function showVersion(v: Version): string {
  return `v${v.join('.')}`;
}

/**
 * Why the volume cannot be expanded while attached, or undefined when it can (Longhorn docs,
 * "Volume Expansion": online from v1.4.0 for the V1 data engine, from v1.10.0 for the V2 engine
 * with the NVMe-oF or block-device frontend; ublk is not supported).
 */
export function offlineOnly(version: Version, volume: LonghornVolume): string | undefined {
  const engine = volume.dataEngine === '' ? 'v1' : volume.dataEngine;
  if (engine === 'v1') {
    if (atLeast(version, ONLINE_V1)) return undefined;
    return `Longhorn ${showVersion(version)} expands volumes only while detached (online from ${showVersion(ONLINE_V1)})`;
  }
  if (!atLeast(version, ONLINE_V2)) {
    return `Longhorn ${showVersion(version)} expands V2 data engine volumes only while detached (online from ${showVersion(ONLINE_V2)})`;
  }
  if (!ONLINE_V2_FRONTENDS.has(volume.frontend)) {
    return `the ${volume.frontend} frontend of V2 data engine volumes cannot be expanded online`;
  }
  return undefined;
}

/** int64(float64(bytes) * float64(percent) / 100), as Longhorn computes it. */
export function percentOf(bytes: bigint, percent: bigint): bigint {
  return BigInt(Math.trunc((Number(bytes) * Number(percent)) / 100));
}

function gibText(bytes: bigint): string {
  return `${(Number(bytes) / Number(GIB)).toFixed(1)} GiB`;
}

/** The most bytes a disk may take for an expansion under Longhorn's rule, and what limits it. */
export type DiskRoom = { ok: true; bytes: bigint; limit: string } | { ok: false; why: string };

/**
 * Longhorn's conditions for `required` more bytes on a disk (M = storageMaximum, A =
 * storageAvailable, S = storageScheduled, R = storageReserved):
 * - M > 0 and A > 0;
 * - A > M × minimal% (IsSchedulableToDisk's actual-space condition, with requiredStorage 0);
 * - required + S ≤ (M − R) × over-provisioning% (its scheduling condition);
 * - from v1.11.0 (ValidateDiskAvailableForExpansion), with used = M − A − R:
 *   M − (used + required) ≥ M × minimal%, and used + required ≤ (M − R) × over-provisioning%.
 */
export function diskRoom(
  disk: LonghornDisk,
  settings: LonghornSettings,
  physicalCheck: boolean,
): DiskRoom {
  const { maximumBytes: m, availableBytes: a, scheduledBytes: s, reservedBytes: r } = disk;
  if (m <= 0n) return { ok: false, why: 'its storageMaximum is 0' };
  if (a <= 0n) return { ok: false, why: 'its storageAvailable is 0' };
  const minimal = percentOf(m, settings.minimalAvailablePercent);
  const limit = percentOf(m - r, settings.overProvisioningPercent);
  const minPct = `storage-minimal-available-percentage ${settings.minimalAvailablePercent}%`;
  const overPct = `storage-over-provisioning-percentage ${settings.overProvisioningPercent}%`;
  if (a <= minimal) {
    return {
      ok: false,
      why: `${gibText(a)} available is not above ${gibText(minimal)} (${minPct})`,
    };
  }
  const limits = [
    { bytes: limit - s, text: `${gibText(s)} scheduled of ${gibText(limit)} (${overPct})` },
  ];
  if (physicalCheck) {
    const used = m - a - r;
    limits.push(
      {
        bytes: a + r - minimal,
        text: `${gibText(a)} available, ${gibText(minimal)} kept (${minPct})`,
      },
      { bytes: limit - used, text: `${gibText(used)} used of ${gibText(limit)} (${overPct})` },
    );
  }
  const tightest = limits.reduce((low, l) => (l.bytes < low.bytes ? l : low));
  return { ok: true, bytes: tightest.bytes, limit: tightest.text };
}

/** Everything read from Longhorn for one pass. */
export interface LonghornFacts {
  settings: LonghornSettings;
  /** Disks by "node/uuid"; an error names what is malformed in the disk's status. */
  disks: ReadonlyMap<string, Result<LonghornDisk>>;
  /** Longhorn node names that were listed. */
  nodes: ReadonlySet<string>;
  volumes: ReadonlyMap<string, LonghornVolume>;
  /** Replicas by volume name. */
  replicas: ReadonlyMap<string, readonly LonghornReplica[]>;
  namespace: string;
}

export interface LonghornItem {
  key: string;
  candidate: ExpansionCandidate;
  /** The Longhorn volume: the PV's spec.csi.volumeHandle. */
  volume: string;
}

export function diskKey(node: string, uuid: string): string {
  return `${node}/${uuid}`;
}

interface DiskShare {
  disk: LonghornDisk;
  replicas: bigint;
}

/** The disks of the volume's scheduled replicas, each with its number of replicas. */
function disksOf(replicas: readonly LonghornReplica[], facts: LonghornFacts): Result<DiskShare[]> {
  const shares = new Map<string, DiskShare>();
  for (const replica of replicas) {
    if (replica.nodeId === '') continue;
    if (!facts.nodes.has(replica.nodeId))
      return err(`Longhorn node ${replica.nodeId} (of a replica) not found`);
    const key = diskKey(replica.nodeId, replica.diskId);
    const disk = facts.disks.get(key);
    if (disk === undefined)
      return err(`disk ${replica.diskId} not found on Longhorn node ${replica.nodeId}`);
    if (!disk.ok) return err(disk.error);
    const share = shares.get(key) ?? { disk: disk.value, replicas: 0n };
    share.replicas++;
    shares.set(key, share);
  }
  return ok([...shares.values()]);
}

interface Binding {
  share: DiskShare;
  room: DiskRoom;
  /** The most each replica may grow on this disk. */
  perReplica: bigint;
}

function refused(
  reason: 'provider-error' | 'provider-capacity' | 'offline-expansion-required',
  detail: string,
): ProviderVerdict {
  return verdictRefused('longhorn', reason, detail);
}

/** The offline rule and the volume's existence, before any disk is looked at. */
function volumeProblem(item: LonghornItem, facts: LonghornFacts): ProviderVerdict | undefined {
  const volume = facts.volumes.get(item.volume);
  if (volume === undefined)
    return refused(
      'provider-error',
      `Longhorn volume ${item.volume} not found in ${facts.namespace}`,
    );
  const version = parseVersion(facts.settings.version);
  if (version === undefined) {
    const shown = facts.settings.version === undefined ? 'missing' : `'${facts.settings.version}'`;
    return refused(
      'provider-error',
      `setting current-longhorn-version is ${shown}: no version to judge online expansion by`,
    );
  }
  if (!['', 'v1', 'v2'].includes(volume.dataEngine))
    return refused(
      'provider-error',
      `Longhorn volume ${volume.name} has an unknown data engine '${volume.dataEngine}'`,
    );
  const why = offlineOnly(version, volume);
  if (why === undefined || volume.state === 'detached') return undefined;
  return refused(
    'offline-expansion-required',
    `${why}; volume ${volume.name} is ${volume.state ?? 'in an unknown state'}: detach it to expand, or upgrade Longhorn`,
  );
}

/**
 * A verdict per item, in the pass's order: expansions whose replicas share a disk share its room,
 * the first decided taking first. `reserveBytes` is kept free on every disk on top of Longhorn's
 * own margins.
 */
export function longhornVerdicts(
  items: readonly LonghornItem[],
  facts: LonghornFacts,
  reserveBytes: bigint,
): Map<string, ProviderVerdict> {
  const verdicts = new Map<string, ProviderVerdict>();
  const taken = new Map<string, bigint>();
  const physical = atLeast(parseVersion(facts.settings.version) ?? [0, 0, 0], PHYSICAL_CHECK);
  for (const item of items) {
    const verdict =
      volumeProblem(item, facts) ?? capacityVerdict(item, facts, { reserveBytes, taken, physical });
    verdicts.set(item.key, verdict);
  }
  return verdicts;
}

interface Pass {
  reserveBytes: bigint;
  /** Bytes granted this pass per disk key. */
  taken: Map<string, bigint>;
  physical: boolean;
}

/** The disk that allows each replica the least growth, after this pass's grants and the reserve. */
function tightest(
  shares: readonly DiskShare[],
  facts: LonghornFacts,
  pass: Pass,
): Binding | undefined {
  let binding: Binding | undefined;
  for (const share of shares) {
    const room = diskRoom(share.disk, facts.settings, pass.physical);
    const granted = pass.taken.get(diskKey(share.disk.node, share.disk.uuid)) ?? 0n;
    const left = room.ok ? room.bytes - granted - pass.reserveBytes : -1n;
    // Negative room divides towards zero; any negative is simply no room.
    const perReplica = left < 0n ? -1n : left / share.replicas;
    if (binding === undefined || perReplica < binding.perReplica)
      binding = { share, room, perReplica };
  }
  return binding;
}

function capacityVerdict(item: LonghornItem, facts: LonghornFacts, pass: Pass): ProviderVerdict {
  const { candidate } = item;
  const shares = disksOf(facts.replicas.get(item.volume) ?? [], facts);
  if (!shares.ok) return refused('provider-error', shares.error);
  const binding = tightest(shares.value, facts, pass);
  if (binding === undefined) {
    return verdictOk('longhorn', candidate.toBytes, [
      `no replica of ${item.volume} is scheduled: no disk checked`,
    ]);
  }
  const fit = fitStep({
    fromBytes: candidate.fromBytes,
    toBytes: candidate.toBytes,
    minIncreaseBytes: candidate.minIncreaseBytes,
    roomBytes: binding.perReplica,
  });
  const wanted = candidate.toBytes - candidate.fromBytes;
  const where = describeDisk(binding, pass);
  switch (fit.kind) {
    case 'whole':
      grant(shares.value, wanted, pass.taken);
      return verdictOk('longhorn', candidate.toBytes, []);
    case 'partial':
      grant(shares.value, fit.toBytes - candidate.fromBytes, pass.taken);
      return verdictOk('longhorn', fit.toBytes, [
        `only ${showStep(fit.toBytes - candidate.fromBytes)} of ${showStep(wanted)} fits (${where})`,
      ]);
    case 'none':
      return refused(
        'provider-capacity',
        `${showStep(wanted)} does not fit on ${where}${belowMinIncrease(fit.largestBytes, candidate.minIncreaseBytes)}`,
      );
  }
}

function grant(shares: readonly DiskShare[], step: bigint, taken: Map<string, bigint>): void {
  for (const { disk, replicas } of shares) {
    const key = diskKey(disk.node, disk.uuid);
    taken.set(key, (taken.get(key) ?? 0n) + step * replicas);
  }
}

function describeDisk(binding: Binding, pass: Pass): string {
  const { share, room } = binding;
  const name = `disk ${share.disk.name} of Longhorn node ${share.disk.node}`;
  if (!room.ok) return `${name}: ${room.why}`;
  const parts = [`room for ${gibText(room.bytes < 0n ? 0n : room.bytes)}: ${room.limit}`];
  if (share.replicas > 1n) parts.push(`${share.replicas} replicas of the volume there`);
  if (pass.reserveBytes > 0n)
    parts.push(`${formatQuantity(pass.reserveBytes)} kept free by --onprem-reserve`);
  const granted = pass.taken.get(diskKey(share.disk.node, share.disk.uuid)) ?? 0n;
  if (granted > 0n) parts.push(`${gibText(granted)} granted to earlier PVCs this run`);
  return `${name}: ${parts.join(', ')}`;
}
