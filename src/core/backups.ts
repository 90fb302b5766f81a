/**
 * Backups and snapshots in flight, and whether an expansion waits for them. Several storage
 * backends refuse or misbehave when a volume is resized while it is being snapshotted (Alibaba
 * refuses, Azure cannot expand during a background copy), so an expansion is held while a CSI
 * VolumeSnapshot of the PVC is not ready or a Velero Backup of its namespace runs, for at most
 * --snapshot-wait: after that the snapshot is called stuck, and the PVC grows anyway with a
 * Warning that names it. Pure: the objects are parsed once from the API server's JSON.
 */
import { formatDuration } from './duration.js';
import { parseTime } from './history.js';
import { isRecord } from './json.js';
import { readObjectMeta } from './pvc-policy.js';
import { pvcKey, type PvcRef } from './pvc.js';

/** --snapshot-wait's default: a snapshot or backup in flight longer than this is stuck. */
export const DEFAULT_SNAPSHOT_WAIT_MS = 2 * 3_600_000;

/** A VolumeSnapshot (snapshot.storage.k8s.io/v1) of a PVC, not readyToUse yet. */
export interface PendingSnapshot {
  namespace: string;
  name: string;
  /** spec.source.persistentVolumeClaimName. */
  pvcName: string;
  /** metadata.creationTimestamp: when the snapshot was asked for. */
  createdAt: Date | undefined;
}

/** Velero Backup phases during which volumes are being snapshotted or copied. */
const ACTIVE_PHASES: ReadonlySet<string> = new Set(['New', 'InProgress']);

/** A Velero Backup (velero.io/v1) in phase New or InProgress. */
export interface ActiveBackup {
  namespace: string;
  name: string;
  phase: string;
  /** Empty: every namespace (Velero's default). */
  includedNamespaces: readonly string[];
  excludedNamespaces: readonly string[];
  /** status.startTimestamp, else metadata.creationTimestamp. */
  startedAt: Date | undefined;
}

function timeOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseTime(value);
  return parsed.ok ? parsed.value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((entry): entry is string => typeof entry === 'string')
    : [];
}

function creationTimestamp(object: Record<string, unknown>): Date | undefined {
  const metadata = object['metadata'];
  return isRecord(metadata) ? timeOf(metadata['creationTimestamp']) : undefined;
}

/**
 * A VolumeSnapshot that holds its PVC's expansion: taken from a PVC (not pre-provisioned from a
 * VolumeSnapshotContent) and not readyToUse. Undefined for every other one.
 */
export function parseVolumeSnapshot(object: unknown): PendingSnapshot | undefined {
  const metadata = readObjectMeta(object);
  if (metadata === undefined || !isRecord(object)) return undefined;
  const spec = isRecord(object['spec']) ? object['spec'] : {};
  const source = isRecord(spec['source']) ? spec['source'] : {};
  const pvcName = source['persistentVolumeClaimName'];
  if (typeof pvcName !== 'string' || pvcName === '') return undefined;
  const status = isRecord(object['status']) ? object['status'] : {};
  if (status['readyToUse'] === true) return undefined;
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    pvcName,
    createdAt: creationTimestamp(object),
  };
}

/**
 * A Velero Backup that is running: phase New or InProgress (a Backup Velero has not picked up
 * yet has no phase, which Velero reads as New). Undefined for every other one.
 */
export function parseVeleroBackup(object: unknown): ActiveBackup | undefined {
  const metadata = readObjectMeta(object);
  if (metadata === undefined || !isRecord(object)) return undefined;
  const status = isRecord(object['status']) ? object['status'] : {};
  const phase =
    typeof status['phase'] === 'string' && status['phase'] !== '' ? status['phase'] : 'New';
  if (!ACTIVE_PHASES.has(phase)) return undefined;
  const spec = isRecord(object['spec']) ? object['spec'] : {};
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    phase,
    includedNamespaces: strings(spec['includedNamespaces']),
    excludedNamespaces: strings(spec['excludedNamespaces']),
    startedAt: timeOf(status['startTimestamp']) ?? creationTimestamp(object),
  };
}

/**
 * `*` and `?` as in a shell glob (Velero's namespace patterns); anything else matches itself.
 * Greedy with one backtrack point: linear in practice, no regular expression built from input.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether the Backup includes the namespace: included (none listed: all), and not excluded. */
export function backupCovers(backup: ActiveBackup, namespace: string): boolean {
  const included =
    backup.includedNamespaces.length === 0 ||
    backup.includedNamespaces.some((pattern) => globMatches(pattern, namespace));
  return included && !backup.excludedNamespaces.some((pattern) => globMatches(pattern, namespace));
}

/**
 * What one pass knows about backups in flight. Per kind, undefined when its CRD is not installed
 * (nothing to wait for).
 */
export interface BackupActivity {
  /** Pending snapshots by "namespace/pvc". */
  snapshots: ReadonlyMap<string, readonly PendingSnapshot[]> | undefined;
  backups: readonly ActiveBackup[] | undefined;
}

export const NO_BACKUP_ACTIVITY: BackupActivity = { snapshots: undefined, backups: undefined };

/** The parsed lists (undefined: the kind is not installed) → the activity that can hold a PVC. */
export function backupActivity(
  snapshots: readonly PendingSnapshot[] | undefined,
  backups: readonly ActiveBackup[] | undefined,
): BackupActivity {
  if (snapshots === undefined) return { snapshots: undefined, backups };
  const byPvc = new Map<string, PendingSnapshot[]>();
  for (const snapshot of snapshots) {
    const key = pvcKey({ namespace: snapshot.namespace, name: snapshot.pvcName });
    const list = byPvc.get(key) ?? [];
    list.push(snapshot);
    byPvc.set(key, list);
  }
  return { snapshots: byPvc, backups };
}

/** clear: expand; wait: hold (backup-in-progress); stuck: expand, with a Warning naming them. */
export type BackupHold =
  { kind: 'clear' } | { kind: 'wait'; detail: string } | { kind: 'stuck'; detail: string };

interface InFlight {
  what: string;
  startedAt: Date | undefined;
}

function ageOf(item: InFlight, now: Date): number | undefined {
  return item.startedAt === undefined
    ? undefined
    : Math.max(0, now.getTime() - item.startedAt.getTime());
}

/** Whole minutes past the first one: the message of a repeating Warning stays the same longer. */
function describeAge(ageMs: number | undefined): string {
  if (ageMs === undefined) return 'age unknown';
  const shown = ageMs < 60_000 ? ageMs : Math.floor(ageMs / 60_000) * 60_000;
  return `for ${formatDuration(shown)}`;
}

/**
 * Whether the PVC's expansion waits. In flight for less than `waitMs` (or of unknown age): wait,
 * naming them. All older: stuck, expand and name them. Nothing in flight: clear.
 */
export function backupHold(
  activity: BackupActivity,
  pvc: PvcRef,
  now: Date,
  waitMs: number,
): BackupHold {
  const inFlight: InFlight[] = [
    ...(activity.snapshots?.get(pvcKey(pvc)) ?? []).map((s) => ({
      what: `VolumeSnapshot ${s.namespace}/${s.name} (not readyToUse)`,
      startedAt: s.createdAt,
    })),
    ...(activity.backups ?? [])
      .filter((backup) => backupCovers(backup, pvc.namespace))
      .map((b) => ({
        what: `Velero Backup ${b.namespace}/${b.name} (${b.phase})`,
        startedAt: b.startedAt,
      })),
  ];
  if (inFlight.length === 0) return { kind: 'clear' };
  const young = inFlight.filter((item) => (ageOf(item, now) ?? 0) < waitMs);
  const wait = formatDuration(waitMs);
  if (young.length > 0) {
    const names = young.map((item) => `${item.what} ${describeAge(ageOf(item, now))}`);
    return {
      kind: 'wait',
      detail: `${names.join('; ')}: waiting up to --snapshot-wait ${wait} before resizing`,
    };
  }
  const names = inFlight.map((item) => `${item.what} ${describeAge(ageOf(item, now))}`);
  return {
    kind: 'stuck',
    detail: `${names.join('; ')}: in progress longer than --snapshot-wait ${wait}, expanding without waiting`,
  };
}
