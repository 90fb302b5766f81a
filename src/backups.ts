/**
 * The pass's side of waiting for backups: list VolumeSnapshots and Velero Backups once each, but
 * only when some PVC is about to grow, then hold each such PVC whose snapshot or backup is in
 * flight (backup-in-progress), or let it grow past a stuck one with a Warning that names it. The
 * rule itself is core/backups.ts; this module carries data to it and records the Warnings.
 */
import type { Logger } from 'pino';
import {
  backupActivity,
  backupHold,
  DEFAULT_SNAPSHOT_WAIT_MS,
  parseVeleroBackup,
  parseVolumeSnapshot,
  type BackupActivity,
} from './core/backups.js';
import type { Decision } from './core/decision.js';
import type { PvcSnapshot } from './core/pvc.js';
import { mapWithConcurrency } from './concurrency.js';
import { KubeApiError } from './kube/errors.js';
import type { Cluster, Coordination, Listed } from './ports.js';

export interface BackupDeps {
  /** Undefined: nothing is checked (tests, and callers that do not coordinate). */
  coordination?: Coordination | undefined;
  cluster: Pick<Cluster, 'recordEvent'>;
  now: () => Date;
  log: Logger;
  signal: AbortSignal;
}

export interface BackupConfig {
  namespaces: readonly string[];
  pageSize: number;
  dryRun: boolean;
  writeConcurrency: number;
  /** --snapshot-wait in milliseconds; default DEFAULT_SNAPSHOT_WAIT_MS. */
  snapshotWaitMs?: number | undefined;
}

/** What the pass carries towards a report line: the PVC and its decision so far. */
interface Item {
  subject: { pvc: PvcSnapshot };
  decision: Decision;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One kind's list: its items; undefined when there is nothing to wait for (the CRD is not
 * installed, or the ClusterRole predates the rule: a Warning line says which rule is missing).
 */
async function listKind<T>(
  kind: string,
  list: () => Promise<Listed<T>>,
  log: Logger,
): Promise<T[] | undefined> {
  try {
    const listed = await list();
    if (listed.installed) return listed.items;
    log.debug({ kind }, 'not installed: not waiting for it');
    return undefined;
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 403)) throw error;
    log.warn(
      { kind, err: error.message },
      'no list permission: not waiting for backups of this kind (update the ClusterRole, cronjob/rbac.yaml)',
    );
    return undefined;
  }
}

async function loadActivity(
  coordination: Coordination,
  config: BackupConfig,
  log: Logger,
): Promise<BackupActivity> {
  const [snapshots, backups] = await Promise.all([
    listKind(
      'volumesnapshots.snapshot.storage.k8s.io',
      () =>
        coordination.listVolumeSnapshots(config.namespaces, config.pageSize, parseVolumeSnapshot),
      log,
    ),
    listKind(
      'backups.velero.io',
      () => coordination.listVeleroBackups(config.pageSize, parseVeleroBackup),
      log,
    ),
  ]);
  return backupActivity(snapshots, backups);
}

/** The pass's snapshots and backups, listed once for all its batches (when first needed). */
export interface BackupCache {
  activity?: Promise<BackupActivity>;
}

function cachedActivity(
  cache: BackupCache,
  coordination: Coordination,
  config: BackupConfig,
  log: Logger,
): Promise<BackupActivity> {
  cache.activity ??= loadActivity(coordination, config, log);
  return cache.activity;
}

function withDecision<T extends Item>(item: T, change: Partial<Decision>): T {
  return { ...item, decision: { ...item.decision, ...change } };
}

async function recordStuck(deps: BackupDeps, config: BackupConfig, stuck: readonly Item[]) {
  if (config.dryRun) return;
  await mapWithConcurrency(stuck, config.writeConcurrency, async ({ subject, decision }) => {
    if (deps.signal.aborted) return;
    try {
      await deps.cluster.recordEvent({
        pvc: subject.pvc,
        type: 'Warning',
        reason: 'backup-in-progress',
        action: 'expand',
        message: `backup-in-progress: ${decision.detail}`,
      });
    } catch (error) {
      const { namespace, name } = subject.pvc;
      deps.log.warn({ namespace, name, err: message(error) }, 'recording event failed');
    }
  });
}

/**
 * Holds, in place (each item is replaced by a copy with its new decision, whatever else it
 * carries), each expansion that must wait for a snapshot or backup; adds a note and
 * records a Warning for those that grow past a stuck one. A failed list (other than 404 and 403)
 * holds every expansion it would have checked, as api-error: growing blind is what this avoids.
 */
export async function waitForBackups(
  deps: BackupDeps,
  config: BackupConfig,
  items: Item[],
  cache: BackupCache = {},
): Promise<void> {
  const { coordination } = deps;
  const indexes = items.flatMap((item, index) =>
    item.decision.action === 'expand' && item.decision.settings.settings.waitForBackups
      ? [index]
      : [],
  );
  if (coordination === undefined || indexes.length === 0) return;
  let activity: BackupActivity;
  try {
    activity = await cachedActivity(cache, coordination, config, deps.log);
  } catch (error) {
    const detail = `could not check for snapshots and backups in progress: ${message(error)}`;
    deps.log.error({ err: message(error) }, 'listing snapshots and backups failed');
    for (const index of indexes) {
      const item = items[index];
      if (item !== undefined)
        items[index] = withDecision(item, {
          action: 'error',
          reason: 'api-error',
          detail,
          warn: true,
        });
    }
    return;
  }
  const now = deps.now();
  const waitMs = config.snapshotWaitMs ?? DEFAULT_SNAPSHOT_WAIT_MS;
  const stuck: Item[] = [];
  for (const index of indexes) {
    const item = items[index];
    if (item === undefined) continue;
    const hold = backupHold(activity, item.subject.pvc, now, waitMs);
    if (hold.kind === 'wait')
      items[index] = withDecision(item, {
        action: 'skip',
        reason: 'backup-in-progress',
        detail: hold.detail,
        warn: false,
      });
    else if (hold.kind === 'stuck') {
      const noted = withDecision(item, { detail: `${item.decision.detail}; ${hold.detail}` });
      items[index] = noted;
      stuck.push({ subject: noted.subject, decision: { ...noted.decision, detail: hold.detail } });
    }
  }
  await recordStuck(deps, config, stuck);
}
