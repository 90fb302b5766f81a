// pvc-chonker beside other systems on the real API server, run as its ServiceAccount with the
// ClusterRole of cronjob/rbac.yaml: CSI VolumeSnapshot and Velero Backup CRDs (minimal structural
// schemas, test/integration/other-kinds.ts) and a real StatefulSet. It waits for snapshots and
// backups in flight and grows past a stuck one with a Warning; reports template drift (report,
// `drift`, `explain`); and stops at a size an owner set back until a person acknowledges it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byName,
  report,
  runCli,
  seed,
  type Claim,
  type CliResult,
} from '../integration/harness.js';
import {
  VELERO_BACKUP_CRD,
  VOLUME_SNAPSHOT_CRD,
  statefulSet,
  veleroBackup,
  volumeSnapshot,
} from '../integration/other-kinds.js';
import type { RealCluster } from './cluster.js';
import {
  WRITE_VERBS,
  auditOf,
  deployTierSkip,
  serviceAccountUser,
  startDeployCluster,
  type Client,
  type DeployCluster,
} from './deploy.js';
import type { FakeKubelets } from './kubelets.js';
import { loadRealSeed } from './seed.js';

const unavailable = deployTierSkip('coordination.test.ts');

const SA_USER = serviceAccountUser('pvc-chonker', 'pvc-chonker');
const REVERTED_AT = '2026-01-10T08:00:00Z';

const CLAIMS: Claim[] = [
  { name: 'snap-wait', usedPercent: 95 },
  { name: 'snap-ready', usedPercent: 95 },
  { name: 'orders', namespace: 'shop', usedPercent: 95 },
  { name: 'assets', namespace: 'web', usedPercent: 95 },
  { name: 'data-web-0', usedPercent: 95 },
  { name: 'data-web-1', usedPercent: 40 },
  {
    name: 'restored',
    namespace: 'restore',
    usedPercent: 95,
    annotations: {
      'pvc-chonker.io/expansion-history': JSON.stringify([
        { time: REVERTED_AT, from: '10Gi', to: '11Gi', reason: 'threshold-reached' },
      ]),
      'pvc-chonker.io/last-expansion': REVERTED_AT,
    },
  },
];

/** Three hours ago: a real server sets creationTimestamp itself, but status times are the writer's. */
const THREE_HOURS_AGO = new Date(Date.now() - 3 * 3_600_000)
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z');

const OTHERS = [
  VOLUME_SNAPSHOT_CRD,
  VELERO_BACKUP_CRD,
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'velero' } },
  volumeSnapshot('vs-wait', 'snap-wait', { ready: false }),
  volumeSnapshot('vs-ready', 'snap-ready', { ready: true }),
  veleroBackup('stuck', { phase: 'InProgress', included: ['shop'], started: THREE_HOURS_AGO }),
  veleroBackup('running', { phase: 'InProgress', included: ['web', 'restore-*'] }),
  statefulSet('web', { data: '10Gi' }),
];

interface EventObject {
  type: string;
  reason: string;
  action: string;
  message: string;
  involvedObject: { name: string };
}

describe.skipIf(unavailable !== undefined)('beside snapshots, backups and StatefulSets', () => {
  let deployed: DeployCluster;
  let cluster: RealCluster;
  let kubelets: FakeKubelets;
  let pass: Client;

  beforeAll(async () => {
    deployed = await startDeployCluster('coordination', ['cronjob']);
    cluster = deployed.cluster;
    kubelets = await loadRealSeed(cluster, seed(CLAIMS, OTHERS));
    pass = await deployed.clientOf('pass', 'pvc-chonker');
  });
  afterAll(async () => {
    await kubelets.close();
    await deployed.close();
  });

  const cli = (command: string, ...args: string[]): Promise<CliResult> =>
    runCli([command, '--kubeconfig', pass.kubeconfig, ...args]);

  async function pvc(namespace: string, name: string) {
    const answer = await cluster.request(
      'GET',
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`,
    );
    return answer.body as {
      spec: { resources: { requests: { storage: string } } };
      metadata: { annotations: Record<string, string> };
    };
  }

  async function events(namespace: string, name: string): Promise<EventObject[]> {
    const answer = await cluster.request('GET', `/api/v1/namespaces/${namespace}/events`);
    return (answer.body as { items: EventObject[] }).items.filter(
      (e) => e.involvedObject.name === name,
    );
  }

  it('waits for a snapshot and a backup in flight, grows past a stuck backup with a Warning, one list per kind', async () => {
    const from = (await cluster.audit()).length;

    const result = await cli('run', '--output', 'json');

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'snap-wait')).toMatchObject({
      action: 'skip',
      reason: 'backup-in-progress',
      detail: expect.stringContaining('VolumeSnapshot db/vs-wait (not readyToUse)') as unknown,
    });
    expect(byName(rows, 'assets')).toMatchObject({
      reason: 'backup-in-progress',
      detail: expect.stringContaining('Velero Backup velero/running (InProgress)') as unknown,
    });
    expect(byName(rows, 'snap-ready')).toMatchObject({ action: 'expand', newSize: '11Gi' });
    expect(byName(rows, 'orders')).toMatchObject({ action: 'expand', newSize: '11Gi' });
    expect((await pvc('db', 'snap-wait')).spec.resources.requests.storage).toBe('10Gi');
    expect((await pvc('shop', 'orders')).spec.resources.requests.storage).toBe('11Gi');
    const warning = (await events('shop', 'orders')).find((e) => e.type === 'Warning');
    expect(warning).toMatchObject({ reason: 'backup-in-progress', action: 'expand' });
    expect(warning?.message).toContain(
      'Velero Backup velero/stuck (InProgress) for 3h: in progress longer than --snapshot-wait 2h, expanding without waiting',
    );
    const entries = await auditOf(cluster, SA_USER, from);
    // The only 404s are the first read-back of each new Warning (events are aggregated, see
    // event-bodies.ts): orders' backup-in-progress and restored's size-reverted.
    expect(
      entries
        .filter((e) => e.status >= 400)
        .map((e) => `${e.verb} ${e.resource ?? ''} ${e.name ?? ''} ${e.status}`)
        .sort(),
    ).toEqual([
      expect.stringMatching(/^get events orders\./) as unknown,
      expect.stringMatching(/^get events restored\./) as unknown,
    ]);
    const lists = (resource: string) =>
      entries.filter((e) => e.verb === 'list' && e.resource === resource).length;
    expect([lists('volumesnapshots'), lists('backups'), lists('statefulsets')]).toEqual([1, 1, 1]);
  });

  it('reports StatefulSet template drift in the report, `drift` and `explain`, which only read', async () => {
    const from = (await cluster.audit()).length;

    const run = await cli('run', '--output', 'json', '--dry-run');
    const drift = await cli('drift', '--output', 'json');
    const explained = await cli('explain', 'db/data-web-0');

    expect(byName(report(run), 'data-web-0')).toMatchObject({
      templateDrift: {
        statefulSet: 'web',
        template: 'data',
        templateSize: '10Gi',
        pvcSize: '11Gi',
        drifted: true,
      },
    });
    expect(byName(report(run), 'snap-ready')).toMatchObject({ templateDrift: null });
    expect(drift.code, drift.stderr).toBe(0);
    expect(JSON.parse(drift.stdout)).toEqual([
      expect.objectContaining({
        namespace: 'db',
        statefulSet: 'web',
        claims: 2,
        driftedClaims: 1,
        manifestSize: '11Gi',
      }),
    ]);
    expect(explained.stdout).toContain(
      'Template   statefulset web, volumeClaimTemplate data: 10Gi (PVC 11Gi; drifted: run pvc-chonker drift)',
    );
    const entries = await auditOf(cluster, SA_USER, from);
    expect(entries.filter((e) => WRITE_VERBS.includes(e.verb) || e.status >= 400)).toEqual([]);
  });

  it('an owner sets the request back: size-reverted with a Warning, and no PATCH', async () => {
    // No resizer runs here: capacity stays 10Gi, and the API server lets the request go back
    // down to anything above it (RecoverVolumeExpansionFailure).
    const reverted = await cluster.request(
      'PATCH',
      '/api/v1/namespaces/db/persistentvolumeclaims/data-web-0',
      { spec: { resources: { requests: { storage: '10500Mi' } } } },
      { contentType: 'application/merge-patch+json' },
    );
    const when = (await pvc('db', 'data-web-0')).metadata.annotations[
      'pvc-chonker.io/last-expansion'
    ];
    const from = (await cluster.audit()).length;

    const result = await cli('run', '--output', 'json');

    expect(reverted.status).toBe(200);
    expect(byName(report(result), 'data-web-0')).toMatchObject({
      action: 'skip',
      reason: 'size-reverted',
      detail: expect.stringContaining(`pvc-chonker.io/size-reverted-ack=${when ?? ''}`) as unknown,
    });
    expect((await events('db', 'data-web-0')).map((e) => `${e.type} ${e.reason}`)).toContain(
      'Warning size-reverted',
    );
    const patches = (await auditOf(cluster, SA_USER, from)).filter(
      (e) => e.verb === 'patch' && e.resource === 'persistentvolumeclaims',
    );
    expect(patches.map((e) => e.name)).not.toContain('data-web-0');
  });

  it('a PVC found below its last written size grows again once acknowledged', async () => {
    const held = await cli('run', '--output', 'json', '--dry-run');
    const annotated = await cluster.request(
      'PATCH',
      '/api/v1/namespaces/restore/persistentvolumeclaims/restored',
      { metadata: { annotations: { 'pvc-chonker.io/size-reverted-ack': REVERTED_AT } } },
      { contentType: 'application/merge-patch+json' },
    );

    // The Backup `running` includes `restore-*`, which is not the namespace `restore`.
    const grown = await cli('run', '--output', 'json');

    expect(byName(report(held), 'restored')).toMatchObject({ reason: 'size-reverted' });
    expect(annotated.status).toBe(200);
    expect(byName(report(grown), 'restored')).toMatchObject({ action: 'expand', newSize: '11Gi' });
    expect((await pvc('restore', 'restored')).spec.resources.requests.storage).toBe('11Gi');
  });
});
