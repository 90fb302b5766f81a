/**
 * The built CLI beside other systems, on the simulated cluster: it waits for CSI snapshots and
 * Velero backups in flight (and grows past stuck ones with a Warning), reports how far PVCs of a
 * StatefulSet grew past its volumeClaimTemplate (report, explain, metric, `drift`), and stops
 * growing a PVC whose owner set its size back until a person acknowledges it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../sim/index.js';
import { byName, report, runCli, seed, type Claim } from './harness.js';
import { isWrite, startSimOnly } from './test-cluster.js';
import {
  VELERO_BACKUP_CRD,
  VOLUME_SNAPSHOT_CRD,
  statefulSet,
  veleroBackup,
  volumeSnapshot,
} from './other-kinds.js';

type Harness = Awaited<ReturnType<typeof startSimOnly>>;

/** The simulator's writes (isWrite: not the kubelets' reviews), in order. */
function writes(sim: SimCluster): { method: string; path: string }[] {
  return sim.requests.filter(isWrite).map((r) => ({ method: r.method, path: r.path }));
}

interface EventObject {
  type: string;
  reason: string;
  action: string;
  message: string;
  involvedObject: { name: string };
}

function events(sim: SimCluster, name: string): EventObject[] {
  return (sim.listObjects('Event') as EventObject[]).filter((e) => e.involvedObject.name === name);
}

function listsOf(sim: SimCluster, resource: string): number {
  return sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${resource}`)).length;
}

/** An RFC 3339 time `minutes` before now, at second precision as the API server writes it. */
function ago(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const BACKUP_CLAIMS: Claim[] = [
  { name: 'snap-wait', usedPercent: 95 },
  { name: 'snap-stuck', usedPercent: 95 },
  { name: 'snap-ready', usedPercent: 95 },
  { name: 'opt-out', usedPercent: 95, annotations: { 'pvc-chonker.io/wait-for-backups': 'false' } },
  { name: 'calm', usedPercent: 40 },
  { name: 'orders', namespace: 'shop', usedPercent: 95 },
  { name: 'assets', namespace: 'web', usedPercent: 95 },
];

const BACKUP_OBJECTS = [
  VOLUME_SNAPSHOT_CRD,
  VELERO_BACKUP_CRD,
  volumeSnapshot('vs-wait', 'snap-wait', { ready: false, created: ago(10) }),
  volumeSnapshot('vs-stuck', 'snap-stuck', { ready: false, created: ago(180) }),
  volumeSnapshot('vs-ready', 'snap-ready', { ready: true, created: ago(10) }),
  volumeSnapshot('vs-optout', 'opt-out', { created: ago(1) }),
  volumeSnapshot('vs-calm', 'calm', { ready: false, created: ago(1) }),
  veleroBackup('nightly', { phase: 'InProgress', included: ['shop'], started: ago(20) }),
  veleroBackup('weekly', { phase: 'New', included: ['*'], excluded: ['web', 'db', 'shop'] }),
  veleroBackup('done', { phase: 'Completed', started: ago(20) }),
];

describe('waiting for backups and snapshots', () => {
  it('holds PVCs with a snapshot or backup in flight, grows past a stuck one with a Warning, and lists each kind once', async () => {
    harness = await startSimOnly(seed(BACKUP_CLAIMS, BACKUP_OBJECTS));

    const result = await harness.cli(['--output', 'json']);

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'snap-wait')).toMatchObject({
      action: 'skip',
      reason: 'backup-in-progress',
      newSize: '11Gi',
      detail: expect.stringMatching(
        /^VolumeSnapshot db\/vs-wait \(not readyToUse\) for 10m: waiting up to --snapshot-wait 2h/,
      ) as unknown,
    });
    expect(byName(rows, 'orders')).toMatchObject({
      reason: 'backup-in-progress',
      detail: expect.stringContaining('Velero Backup velero/nightly (InProgress)') as unknown,
    });
    for (const name of ['snap-stuck', 'snap-ready', 'opt-out', 'assets'])
      expect(byName(rows, name), name).toMatchObject({ action: 'expand', newSize: '11Gi' });
    expect(byName(rows, 'snap-stuck')?.['detail']).toContain(
      'VolumeSnapshot db/vs-stuck (not readyToUse) for 3h: in progress longer than --snapshot-wait 2h, expanding without waiting',
    );
    expect(byName(rows, 'calm')).toMatchObject({ reason: 'below-threshold' });
    const patched = writes(harness.sim)
      .filter((w) => w.method === 'PATCH' && w.path.includes('/persistentvolumeclaims/'))
      .map((w) => w.path.split('/').at(-1))
      .sort();
    expect(patched).toEqual(['assets', 'opt-out', 'snap-ready', 'snap-stuck']);
    const stuckEvents = events(harness.sim, 'snap-stuck');
    expect(stuckEvents.map((e) => `${e.type} ${e.reason} ${e.action}`).sort()).toEqual([
      'Normal threshold-reached expand',
      'Warning backup-in-progress expand',
    ]);
    expect(stuckEvents.find((e) => e.type === 'Warning')?.message).toContain(
      'VolumeSnapshot db/vs-stuck',
    );
    expect(events(harness.sim, 'snap-wait')).toEqual([]);
    expect(listsOf(harness.sim, 'volumesnapshots')).toBe(1);
    expect(listsOf(harness.sim, 'backups')).toBe(1);
  });

  it('a dry run holds the same PVCs and records no Warning', async () => {
    harness = await startSimOnly(seed(BACKUP_CLAIMS, BACKUP_OBJECTS));

    const result = await harness.cli(['--output', 'json', '--dry-run']);

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'snap-wait')).toMatchObject({ reason: 'backup-in-progress' });
    expect(byName(rows, 'snap-stuck')).toMatchObject({ action: 'would-expand' });
    expect(writes(harness.sim)).toEqual([]);
  });

  it('--wait-for-backups false switches it off for every PVC; a shorter --snapshot-wait calls a snapshot stuck sooner', async () => {
    harness = await startSimOnly(seed(BACKUP_CLAIMS, BACKUP_OBJECTS));

    const off = await harness.cli(['--output', 'json', '--dry-run', '--wait-for-backups', 'false']);
    const short = await harness.cli(['--output', 'json', '--dry-run', '--snapshot-wait', '5m']);

    expect(report(off).filter((r) => r['reason'] === 'backup-in-progress')).toEqual([]);
    expect(listsOf(harness.sim, 'volumesnapshots')).toBe(1);
    expect(byName(report(short), 'snap-wait')).toMatchObject({ action: 'would-expand' });
    expect(byName(report(short), 'orders')).toMatchObject({ action: 'would-expand' });
  });

  it('without the CRDs: nothing to wait for, a debug line per kind, no error', async () => {
    harness = await startSimOnly(seed(BACKUP_CLAIMS));

    const result = await harness.cli(['--output', 'json', '--log-level', 'debug']);

    expect(result.code, result.stderr).toBe(0);
    expect(report(result).filter((r) => r['action'] === 'expand')).toHaveLength(6);
    const notInstalled = result.logs.filter(
      (l) => l['msg'] === 'not installed: not waiting for it',
    );
    expect(notInstalled.map((l) => [l['level'], l['kind']]).sort()).toEqual([
      ['debug', 'backups.velero.io'],
      ['debug', 'volumesnapshots.snapshot.storage.k8s.io'],
    ]);
    expect(result.logs.filter((l) => l['level'] === 'error' || l['level'] === 'warn')).toEqual([]);
  });

  it('a list that fails holds every expansion it would have checked (api-error); a 403 only warns', async () => {
    harness = await startSimOnly(seed(BACKUP_CLAIMS, BACKUP_OBJECTS));
    harness.sim.faults.add({ method: 'GET', path: '/volumesnapshots', status: 500 });

    const failed = await harness.cli(['--output', 'json']);
    harness.sim.faults.clear();
    harness.sim.faults.add({ method: 'GET', path: '/backups', status: 403 });
    const forbidden = await harness.cli(['--output', 'json', '--dry-run']);

    expect(failed.code, failed.stderr).toBe(0);
    expect(byName(report(failed), 'snap-ready')).toMatchObject({
      action: 'error',
      reason: 'api-error',
      detail: expect.stringContaining(
        'could not check for snapshots and backups in progress',
      ) as unknown,
    });
    // Only the PVC that does not wait for backups was checked by nothing, and grew.
    expect(writes(harness.sim).filter((w) => w.method === 'PATCH')).toEqual([
      { method: 'PATCH', path: '/api/v1/namespaces/db/persistentvolumeclaims/opt-out' },
    ]);
    expect(byName(report(forbidden), 'orders')).toMatchObject({ action: 'would-expand' });
    expect(byName(report(forbidden), 'snap-wait')).toMatchObject({ reason: 'backup-in-progress' });
    expect(forbidden.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', kind: 'backups.velero.io' }),
    );
  });
});

const WEB_CLAIMS: Claim[] = [
  { name: 'data-web-0', usedPercent: 95 },
  { name: 'data-web-1', usedPercent: 40 },
  { name: 'scratch', usedPercent: 95 },
];

describe('StatefulSet template drift', () => {
  it('reports templateDrift, the drift metric, explain and the drift view with the size for the manifests', async () => {
    harness = await startSimOnly(seed(WEB_CLAIMS, [statefulSet('web', { data: '10Gi' })]));
    const metricsFile = join(harness.dir, 'pvc-chonker.prom');

    const result = await harness.cli(['--output', 'json', '--metrics-file', metricsFile]);
    const driftJson = await runCli([
      'drift',
      '--kubeconfig',
      harness.kubeconfig,
      '--output',
      'json',
    ]);
    const driftTable = await runCli(['drift', '--kubeconfig', harness.kubeconfig]);
    const explained = await runCli([
      'explain',
      '--kubeconfig',
      harness.kubeconfig,
      'db/data-web-0',
    ]);

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'data-web-0')).toMatchObject({
      action: 'expand',
      templateDrift: {
        statefulSet: 'web',
        template: 'data',
        templateSize: '10Gi',
        pvcSize: '11Gi',
        drifted: true,
      },
    });
    expect(byName(rows, 'data-web-1')).toMatchObject({
      templateDrift: { pvcSize: '10Gi', drifted: false },
    });
    expect(byName(rows, 'scratch')).toMatchObject({ templateDrift: null });
    expect(await readFile(metricsFile, 'utf8')).toContain(
      'pvc_chonker_template_drift_bytes{namespace="db",statefulset="web",template="data"} 1073741824\n',
    );
    expect(driftJson.code, driftJson.stderr).toBe(0);
    expect(JSON.parse(driftJson.stdout)).toEqual([
      {
        namespace: 'db',
        statefulSet: 'web',
        template: 'data',
        claims: 2,
        driftedClaims: 1,
        templateSize: '10Gi',
        largestClaimSize: '11Gi',
        manifestSize: '11Gi',
        inSync: false,
      },
    ]);
    expect(driftTable.stdout.split('\n').slice(0, 2)).toEqual([
      'NAMESPACE  STATEFULSET  TEMPLATE  CLAIMS         TEMPLATE-SIZE  LARGEST-CLAIM  SET-IN-MANIFESTS',
      'db         web          data      2 (1 drifted)  10Gi           11Gi           11Gi',
    ]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain(
      'Template   statefulset web, volumeClaimTemplate data: 10Gi (PVC 11Gi; drifted: run pvc-chonker drift)',
    );
    // The drift view and explain only read.
    expect(writes(harness.sim).filter((w) => w.method === 'PATCH')).toHaveLength(2);
  });
});

describe('size-reverted', () => {
  it('an owner sets the request back: Warning, no expansion, until acknowledged by the annotation', async () => {
    harness = await startSimOnly(
      seed([
        {
          name: 'data-web-0',
          usedPercent: 95,
          annotations: { 'sim.pvc-chonker.io/resize-outcome': 'stuck' },
        },
      ]),
    );
    const sim = harness.sim;
    const cluster = harness;
    // As another client (an operator) would: the harness's patch throws unless it is accepted.
    const patch = (body: unknown): Promise<void> =>
      cluster.patch('PersistentVolumeClaim', 'db', 'data-web-0', body);

    const first = await harness.cli(['--output', 'json']);
    // The resize is stuck at 10Gi; an operator reconciles the request back towards its own size
    // (the API server allows any value above status.capacity).
    await patch({ spec: { resources: { requests: { storage: '10500Mi' } } } });
    const second = await harness.cli(['--output', 'json', '--cooldown', '0s']);
    const patchesAfterSecond = writes(sim).filter((w) => w.method === 'PATCH').length;
    const stored = sim.getObject('PersistentVolumeClaim', 'db', 'data-web-0') as {
      metadata: { annotations: Record<string, string> };
    };
    const when = stored.metadata.annotations['pvc-chonker.io/last-expansion'] ?? '';

    expect(byName(report(first), 'data-web-0')).toMatchObject({
      action: 'expand',
      newSize: '11Gi',
    });
    expect(second.code, second.stderr).toBe(0);
    expect(byName(report(second), 'data-web-0')).toMatchObject({
      action: 'skip',
      reason: 'size-reverted',
      detail: `spec.resources.requests.storage is 10500Mi, below the 11Gi pvc-chonker wrote at ${when}: something set it back; no expansion until the owner keeps the new size or the PVC is annotated pvc-chonker.io/size-reverted-ack=${when}`,
    });
    expect(patchesAfterSecond).toBe(2);
    expect(events(sim, 'data-web-0').map((e) => `${e.type} ${e.reason} ${e.action}`)).toContain(
      'Warning size-reverted skip',
    );
  });

  it('a PVC found below its last written size grows again once the ack names that expansion', async () => {
    const history = JSON.stringify([
      { time: '2026-01-10T08:00:00Z', from: '10Gi', to: '11Gi', reason: 'threshold-reached' },
    ]);
    harness = await startSimOnly(
      seed([
        {
          name: 'restored',
          usedPercent: 95,
          annotations: {
            'pvc-chonker.io/expansion-history': history,
            'pvc-chonker.io/last-expansion': '2026-01-10T08:00:00Z',
          },
        },
      ]),
    );

    const held = await harness.cli(['--output', 'json']);
    const stale = await harness.cli(['--output', 'json']);
    await harness.patch('PersistentVolumeClaim', 'db', 'restored', {
      metadata: { annotations: { 'pvc-chonker.io/size-reverted-ack': '2026-01-10T08:00:00Z' } },
    });
    const grown = await harness.cli(['--output', 'json']);

    expect(byName(report(held), 'restored')).toMatchObject({ reason: 'size-reverted' });
    expect(byName(report(stale), 'restored')).toMatchObject({ reason: 'size-reverted' });
    expect(byName(report(grown), 'restored')).toMatchObject({ action: 'expand', newSize: '11Gi' });
    // The Warning repeats as one Event whose count grows, not one Event per run.
    const warnings = events(harness.sim, 'restored').filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => e.reason)).toEqual(['size-reverted']);
  });
});
