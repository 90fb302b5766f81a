import { describe, expect, it } from 'vitest';
import {
  backupActivity,
  backupHold,
  globMatches,
  parseVeleroBackup,
  parseVolumeSnapshot,
  type BackupActivity,
} from '../../src/core/backups.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const WAIT_MS = 2 * 3_600_000;
const ago = (minutes: number): string =>
  new Date(NOW.getTime() - minutes * 60_000).toISOString().replace(/\.000Z$/, 'Z');

function snapshot(
  name: string,
  options: { pvc?: string; namespace?: string; ready?: boolean; ageMinutes?: number } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name,
      namespace: options.namespace ?? 'db',
      creationTimestamp: ago(options.ageMinutes ?? 10),
    },
    spec: { source: { persistentVolumeClaimName: options.pvc ?? 'data-0' } },
    ...(options.ready === undefined ? {} : { status: { readyToUse: options.ready } }),
  };
}

function backup(
  name: string,
  options: {
    phase?: string;
    included?: string[];
    excluded?: string[];
    startedMinutesAgo?: number;
  } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'velero', creationTimestamp: ago(600) },
    spec: {
      ...(options.included === undefined ? {} : { includedNamespaces: options.included }),
      ...(options.excluded === undefined ? {} : { excludedNamespaces: options.excluded }),
    },
    status: {
      ...(options.phase === undefined ? {} : { phase: options.phase }),
      startTimestamp: ago(options.startedMinutesAgo ?? 5),
    },
  };
}

/** The activity as the pass builds it; `undefined` lists: the CRD is not installed. */
function activity(
  snapshots: Record<string, unknown>[] | undefined,
  backups: Record<string, unknown>[] | undefined,
): BackupActivity {
  return backupActivity(
    snapshots?.flatMap((o) => parseVolumeSnapshot(o) ?? []),
    backups?.flatMap((o) => parseVeleroBackup(o) ?? []),
  );
}

interface Case {
  name: string;
  snapshots?: Record<string, unknown>[] | undefined;
  backups?: Record<string, unknown>[] | undefined;
  pvc?: { namespace: string; name: string };
  hold: 'clear' | 'wait' | 'stuck';
  detail?: RegExp;
}

const cases: Case[] = [
  { name: 'no CRD installed: nothing to wait for', hold: 'clear' },
  { name: 'both installed, nothing listed', snapshots: [], backups: [], hold: 'clear' },
  {
    name: 'a ready snapshot',
    snapshots: [snapshot('s1', { ready: true })],
    hold: 'clear',
  },
  {
    name: 'a snapshot not ready, 10m old: wait',
    snapshots: [snapshot('s1', { ready: false, ageMinutes: 10 })],
    hold: 'wait',
    detail:
      /^VolumeSnapshot db\/s1 \(not readyToUse\) for 10m: waiting up to --snapshot-wait 2h before resizing$/,
  },
  {
    name: 'a snapshot without status yet: wait',
    snapshots: [snapshot('s1', { ageMinutes: 1 })],
    hold: 'wait',
  },
  {
    name: 'a snapshot not ready for 3h: stuck, expand and name it',
    snapshots: [snapshot('s1', { ready: false, ageMinutes: 180 })],
    hold: 'stuck',
    detail:
      /^VolumeSnapshot db\/s1 \(not readyToUse\) for 3h: in progress longer than --snapshot-wait 2h, expanding without waiting$/,
  },
  {
    name: 'a pending snapshot of another PVC',
    snapshots: [snapshot('s1', { pvc: 'data-1', ready: false })],
    hold: 'clear',
  },
  {
    name: 'a pending snapshot of a PVC of the same name in another namespace',
    snapshots: [snapshot('s1', { namespace: 'other', ready: false })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup InProgress naming the namespace',
    backups: [backup('nightly', { phase: 'InProgress', included: ['db'] })],
    hold: 'wait',
    detail: /^Velero Backup velero\/nightly \(InProgress\) for 5m: waiting/,
  },
  {
    name: 'a Velero Backup New of every namespace (*)',
    backups: [backup('nightly', { phase: 'New', included: ['*'] })],
    hold: 'wait',
  },
  {
    name: 'a Velero Backup not picked up yet (no phase) without includedNamespaces: all',
    backups: [backup('nightly')],
    hold: 'wait',
    detail: /\(New\)/,
  },
  {
    name: 'a Velero Backup of other namespaces',
    backups: [backup('nightly', { phase: 'InProgress', included: ['web', 'search'] })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup of * that excludes the namespace',
    backups: [backup('nightly', { phase: 'InProgress', included: ['*'], excluded: ['db'] })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup whose pattern matches the namespace (d*)',
    backups: [backup('nightly', { phase: 'InProgress', included: ['d*'] })],
    hold: 'wait',
  },
  {
    name: 'a Velero Backup whose exclusion pattern matches (d?)',
    backups: [backup('nightly', { phase: 'InProgress', excluded: ['d?'] })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup Completed',
    backups: [backup('nightly', { phase: 'Completed', included: ['db'] })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup PartiallyFailed',
    backups: [backup('nightly', { phase: 'PartiallyFailed' })],
    hold: 'clear',
  },
  {
    name: 'a Velero Backup InProgress for 5h: stuck',
    backups: [backup('nightly', { phase: 'InProgress', startedMinutesAgo: 300 })],
    hold: 'stuck',
    detail: /^Velero Backup velero\/nightly \(InProgress\) for 5h: in progress longer/,
  },
  {
    name: 'a stuck backup and a fresh snapshot: wait for the snapshot',
    snapshots: [snapshot('s1', { ready: false, ageMinutes: 3 })],
    backups: [backup('nightly', { phase: 'InProgress', startedMinutesAgo: 300 })],
    hold: 'wait',
    detail: /^VolumeSnapshot db\/s1 \(not readyToUse\) for 3m: waiting/,
  },
  {
    name: 'snapshots installed, Velero not: only snapshots count',
    snapshots: [snapshot('s1', { ready: false })],
    backups: undefined,
    hold: 'wait',
  },
];

describe('whether an expansion waits for backups and snapshots', () => {
  it.each(cases)('$name: $hold', (c) => {
    const found = activity(c.snapshots, c.backups);

    const hold = backupHold(found, c.pvc ?? { namespace: 'db', name: 'data-0' }, NOW, WAIT_MS);

    expect(hold.kind).toBe(c.hold);
    if (c.detail !== undefined && hold.kind !== 'clear') expect(hold.detail).toMatch(c.detail);
  });

  it('waits on a snapshot of unknown age (no creationTimestamp) rather than call it stuck', () => {
    const object = snapshot('s1', { ready: false });
    delete (object['metadata'] as Record<string, unknown>)['creationTimestamp'];

    const hold = backupHold(
      activity([object], undefined),
      { namespace: 'db', name: 'data-0' },
      NOW,
      WAIT_MS,
    );

    expect(hold).toEqual({
      kind: 'wait',
      detail:
        'VolumeSnapshot db/s1 (not readyToUse) age unknown: waiting up to --snapshot-wait 2h before resizing',
    });
  });
});

describe('parsing', () => {
  it.each([
    ['ready', { status: { readyToUse: true } }, false],
    ['readyToUse false', { status: { readyToUse: false } }, true],
    ['no status', {}, true],
    [
      'pre-provisioned from a VolumeSnapshotContent',
      { spec: { source: { volumeSnapshotContentName: 'c' } } },
      false,
    ],
    ['no spec', { spec: null }, false],
  ] as const)('a VolumeSnapshot %s is pending: %s', (_, change, pending) => {
    const object = { ...snapshot('s1'), ...change };

    expect(parseVolumeSnapshot(object) !== undefined).toBe(pending);
  });

  it.each([
    [undefined, true],
    ['', true],
    ['New', true],
    ['InProgress', true],
    ['WaitingForPluginOperations', false],
    ['Finalizing', false],
    ['Completed', false],
    ['Failed', false],
    ['FailedValidation', false],
  ])('a Velero Backup in phase %j is active: %s', (phase, active) => {
    const object = backup('b', phase === undefined ? {} : { phase });

    expect(parseVeleroBackup(object) !== undefined).toBe(active);
  });

  it('ignores an object without a name and non-string namespaces in the lists', () => {
    expect(parseVolumeSnapshot({ metadata: {} })).toBeUndefined();
    expect(
      parseVeleroBackup({
        metadata: { name: 'b', namespace: 'velero' },
        spec: { includedNamespaces: ['db', 7, null] },
      }),
    ).toMatchObject({ includedNamespaces: ['db'], phase: 'New', startedAt: undefined });
  });
});

describe('globMatches', () => {
  it.each([
    ['*', 'db', true],
    ['*', '', true],
    ['db', 'db', true],
    ['db', 'db2', false],
    ['d*', 'db', true],
    ['d*', 'x-db', false],
    ['*-prod', 'shop-prod', true],
    ['*-prod', 'shop-prod-1', false],
    ['a*b*c', 'a-x-b-y-c', true],
    ['a*b*c', 'a-x-c', false],
    ['d?', 'db', true],
    ['d?', 'd', false],
    ['**', 'anything', true],
  ])('%j matches %j: %s', (pattern, text, matches) => {
    expect(globMatches(pattern, text)).toBe(matches);
  });
});
