// The pass as it runs in the cluster: the built CLI with a ServiceAccount token from the
// TokenRequest API, holding only the ClusterRole of cronjob/rbac.yaml, against the real API
// server. The ClusterRole is enough (no 403 in the audit log), no more than docs/security.md says
// (kubectl auth can-i --list), and a dry run writes nothing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../chart/tools.js';
import {
  byName,
  report,
  runCli,
  seed,
  type Claim,
  type CliResult,
} from '../integration/harness.js';
import { VELERO_BACKUP_CRD, VOLUME_SNAPSHOT_CRD } from '../integration/other-kinds.js';
import type { RealCluster } from './cluster.js';
import {
  WRITE_VERBS,
  auditOf,
  deployTierSkip,
  serviceAccountUser,
  startDeployCluster,
  succeeded,
  type Client,
  type DeployCluster,
} from './deploy.js';
import type { FakeKubelets } from './kubelets.js';
import { loadRealSeed } from './seed.js';

const unavailable = deployTierSkip('service-account.test.ts');

const SA_USER = serviceAccountUser('pvc-chonker', 'pvc-chonker');

const CLAIMS: Claim[] = [
  { name: 'full', usedPercent: 90 },
  { name: 'calm', usedPercent: 40 },
  { name: 'stuck', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } },
  { name: 'pg-0', usedPercent: 87, managed: false, labels: { workload: 'database' } },
  { name: 'es-0', namespace: 'elastic', sizeGi: 20, usedPercent: 90, managed: false },
  { name: 'es-1', namespace: 'elastic', sizeGi: 20, usedPercent: 30, managed: false },
];

const POLICY = {
  apiVersion: 'pvc-chonker.io/v1alpha1',
  kind: 'PVCPolicy',
  metadata: { name: 'database', namespace: 'db' },
  spec: {
    selector: { matchLabels: { workload: 'database' } },
    template: { threshold: '85%', increase: '50%' },
  },
};

const GROUP = {
  apiVersion: 'pvc-chonker.io/v1alpha1',
  kind: 'PVCGroup',
  metadata: { name: 'es' },
  spec: {
    members: [
      { namespace: 'elastic', name: 'es-0' },
      { namespace: 'elastic', name: 'es-1' },
    ],
  },
};

/** `group|resource verb` triples, the core group written as ''. */
type Grant = string;

/**
 * The rows of docs/security.md's CronJob RBAC table as grants: a resource cell names one or more
 * resources, each `name.group`, or with the group once in parentheses for the whole cell.
 */
async function documentedGrants(): Promise<Grant[]> {
  const doc = await readFile(join(ROOT, 'docs/security.md'), 'utf8');
  const table = doc.slice(
    doc.indexOf('## RBAC of the CronJob'),
    doc.indexOf('### Where usage is read'),
  );
  const grants: Grant[] = [];
  for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
    const [resources = '', verbs = ''] = row.split('|').slice(1, 3);
    const cellGroup = /\(`([^`]+)`\)/.exec(resources)?.[1];
    const names = [...resources.replace(/\(`[^`]+`\)/, '').matchAll(/`([^`]+)`/g)].map(
      (m) => m[1] ?? '',
    );
    for (const name of names) {
      const [resource = '', ...group] = name.split('.');
      for (const verb of [...verbs.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '')) {
        grants.push(`${cellGroup ?? group.join('.')}|${resource} ${verb}`);
      }
    }
  }
  return grants.sort();
}

/**
 * `kubectl auth can-i --list` as grants. kubectl prints a resource as `name.group` with the
 * subresource last (`pvcgroups.pvc-chonker.io/status`); non-resource URL rows are left out.
 */
function listedGrants(table: string): Grant[] {
  const [header = '', ...rows] = table.split('\n').filter((l) => l.trim() !== '');
  const urlsAt = header.indexOf('Non-Resource URLs');
  const namesAt = header.indexOf('Resource Names');
  const verbsAt = header.indexOf('Verbs');
  const grants: Grant[] = [];
  for (const row of rows) {
    const resource = row.slice(0, urlsAt).trim();
    if (resource === '') continue;
    if (row.slice(namesAt, verbsAt).trim() !== '[]') throw new Error(`resourceNames in: ${row}`);
    const [qualified = '', subresource] = resource.split('/');
    const [name = '', ...group] = qualified.split('.');
    const full = subresource === undefined ? name : `${name}/${subresource}`;
    const verbs = row
      .slice(verbsAt)
      .trim()
      .replace(/^\[|\]$/g, '')
      .split(' ');
    for (const verb of verbs) grants.push(`${group.join('.')}|${full} ${verb}`);
  }
  return grants.sort();
}

interface EventObject {
  type: string;
  reason: string;
  action: string;
  involvedObject: { kind: string; name: string };
}

describe.skipIf(unavailable !== undefined)('the pass as its ServiceAccount', () => {
  let deployed: DeployCluster;
  let cluster: RealCluster;
  let kubelets: FakeKubelets;
  let admin: Client;
  let pass: Client;

  beforeAll(async () => {
    deployed = await startDeployCluster('sa', ['cronjob']);
    ({ cluster, admin } = deployed);
    // The snapshot and backup CRDs too: the pass lists them (200, no 404) with its ClusterRole.
    kubelets = await loadRealSeed(
      cluster,
      seed(CLAIMS, [POLICY, GROUP, VOLUME_SNAPSHOT_CRD, VELERO_BACKUP_CRD]),
    );
    pass = await deployed.clientOf('pass', 'pvc-chonker');
  });
  afterAll(async () => {
    await kubelets.close();
    await deployed.close();
  });

  const cli = (...args: string[]): Promise<CliResult> =>
    runCli(['run', '--kubeconfig', pass.kubeconfig, '--output', 'json', ...args]);

  async function get(path: string): Promise<Record<string, unknown>> {
    const answer = await cluster.request('GET', path);
    expect(answer.status, path).toBe(200);
    return answer.body as Record<string, unknown>;
  }

  async function requestOf(namespace: string, name: string): Promise<string> {
    const pvc = (await get(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`)) as {
      spec: { resources: { requests: { storage: string } } };
    };
    return pvc.spec.resources.requests.storage;
  }

  // First, while nothing has been expanded yet.
  it('a dry run decides, reads the kubelets directly (nodes/stats), and writes nothing', async () => {
    const from = (await cluster.audit()).length;
    const calls = kubelets.calls.length;

    const result = await cli('--dry-run');

    expect(result.code, result.stderr).toBe(0);
    expect(byName(report(result), 'full')).toMatchObject({
      action: 'would-expand',
      newSize: '11Gi',
      source: 'kubelet',
    });
    const entries = await auditOf(cluster, SA_USER, from);
    expect(entries.filter((e) => WRITE_VERBS.includes(e.verb))).toEqual([]);
    expect(entries.filter((e) => e.status >= 400)).toEqual([]);
    // The Node for its address, then its kubelet, which checked the token and nodes/stats.
    expect(entries).toContainEqual(
      expect.objectContaining({ verb: 'get', resource: 'nodes', uri: '/api/v1/nodes/node-a' }),
    );
    expect(entries.filter((e) => e.subresource === 'proxy')).toEqual([]);
    expect(kubelets.calls.slice(calls)).toContainEqual(
      expect.objectContaining({
        node: 'node-a',
        path: '/stats/summary',
        user: SA_USER,
        subresource: 'stats',
        status: 200,
      }),
    );
    expect(await requestOf('db', 'full')).toBe('10Gi');
  });

  it('expands, records Events and writes PVCPolicy and PVCGroup status with the ClusterRole alone', async () => {
    const from = (await cluster.audit()).length;

    const result = await cli();

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    expect(byName(rows, 'full')).toMatchObject({ action: 'expand', newSize: '11Gi' });
    expect(byName(rows, 'calm')).toMatchObject({ action: 'skip', reason: 'below-threshold' });
    expect(byName(rows, 'stuck')).toMatchObject({ reason: 'max-size-reached' });
    expect(byName(rows, 'pg-0')).toMatchObject({ action: 'expand', policy: 'database' });
    expect(byName(rows, 'es-1')).toMatchObject({ action: 'expand', reason: 'group-sync' });
    expect(await requestOf('db', 'full')).toBe('11Gi');
    expect(await requestOf('db', 'calm')).toBe('10Gi');
    expect(await requestOf('db', 'pg-0')).toBe('15Gi');
    expect(await requestOf('elastic', 'es-0')).toBe('22Gi');
    expect(await requestOf('elastic', 'es-1')).toBe('22Gi');

    const events = [
      ...((await get('/api/v1/namespaces/db/events'))['items'] as EventObject[]),
      ...((await get('/api/v1/namespaces/elastic/events'))['items'] as EventObject[]),
    ]
      .map((e) => `${e.involvedObject.name} ${e.type} ${e.reason} ${e.action}`)
      .sort();
    expect(events).toEqual([
      'es-0 Normal threshold-reached expand',
      'es-1 Normal group-sync expand',
      'full Normal threshold-reached expand',
      'pg-0 Normal threshold-reached expand',
      'stuck Warning max-size-reached skip',
    ]);

    const policy = await get('/apis/pvc-chonker.io/v1alpha1/namespaces/db/pvcpolicies/database');
    expect(policy['status']).toMatchObject({
      matchedPVCs: 1,
      observedGeneration: 1,
      conditions: [expect.objectContaining({ type: 'Valid', status: 'True' })],
    });
    const group = await get('/apis/pvc-chonker.io/v1alpha1/pvcgroups/es');
    expect(group['status']).toMatchObject({
      currentSize: '22Gi',
      memberCount: 2,
      expansionHistory: [{ from: '20Gi', to: '22Gi', trigger: 'elastic/es-0' }],
    });

    // The ClusterRole was enough: no request refused. The first Warning's read-back is a 404.
    const entries = await auditOf(cluster, SA_USER, from);
    expect(entries.filter((e) => e.status === 403)).toEqual([]);
    const writes = entries
      .filter((e) => WRITE_VERBS.includes(e.verb))
      .map(
        (e) =>
          `${e.verb} ${e.resource ?? ''}${e.subresource === undefined ? '' : '/' + e.subresource} ${String(e.status)}`,
      );
    expect([...new Set(writes)].sort()).toEqual([
      'create events 201',
      'patch persistentvolumeclaims 200',
      'patch pvcgroups/status 200',
      'patch pvcpolicies/status 200',
    ]);
  });

  it('kubectl auth can-i --list shows exactly the grants docs/security.md documents', async () => {
    // What every authenticated user may do (self reviews, discovery) is measured on a
    // ServiceAccount bound to nothing, and taken away.
    succeeded(
      await admin.kubectl('-n', 'pvc-chonker', 'create', 'serviceaccount', 'nobody'),
      'create nobody',
    );
    const nobody = await deployed.clientOf('nobody', 'nobody');
    const baseline = new Set(
      listedGrants(
        succeeded(await nobody.kubectl('auth', 'can-i', '--list', '-n', 'db'), 'nobody'),
      ),
    );

    const listed = listedGrants(
      succeeded(await pass.kubectl('auth', 'can-i', '--list', '-n', 'db'), 'can-i --list'),
    );

    const documented = await documentedGrants();
    expect(listed.filter((g) => !baseline.has(g))).toEqual(documented);
    // Nothing documented hides in the baseline (e.g. a binding to every authenticated user).
    expect(documented.filter((g) => baseline.has(g))).toEqual([]);
    expect(baseline).toContain('authorization.k8s.io|selfsubjectrulesreviews create');
  });

  it.each([
    ['get', 'secrets', ['-A'], false],
    ['list', 'secrets', ['-n', 'pvc-chonker'], false],
    ['delete', 'persistentvolumeclaims', ['-n', 'db'], false],
    ['update', 'persistentvolumeclaims', ['-n', 'db'], false],
    ['watch', 'persistentvolumeclaims', ['-A'], false],
    ['create', 'pods', ['-n', 'pvc-chonker'], false],
    ['create', 'jobs.batch', ['-n', 'pvc-chonker'], false],
    ['create', 'serviceaccounts', ['--subresource=token', '-n', 'pvc-chonker'], false],
    ['create', 'nodes', ['--subresource=proxy'], false],
    ['get', 'nodes', ['--subresource=proxy'], false],
    ['get', 'nodes', ['--subresource=log'], false],
    ['patch', 'persistentvolumes', [], false],
    ['patch', 'pvcpolicies.pvc-chonker.io', ['-n', 'db'], false],
    ['delete', 'events', ['-n', 'db'], false],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io', [], false],
    ['patch', 'persistentvolumeclaims', ['-n', 'db'], true],
    ['get', 'nodes', [], true],
    ['get', 'nodes', ['--subresource=stats'], true],
    ['patch', 'pvcgroups.pvc-chonker.io', ['--subresource=status'], true],
    ['patch', 'pvcpolicies.pvc-chonker.io', ['--subresource=status', '-n', 'db'], true],
    ['list', 'volumesnapshots.snapshot.storage.k8s.io', ['-A'], true],
    ['get', 'volumesnapshots.snapshot.storage.k8s.io', ['-n', 'db'], false],
    ['list', 'backups.velero.io', ['-n', 'velero'], true],
    ['create', 'backups.velero.io', ['-n', 'velero'], false],
    ['list', 'statefulsets.apps', ['-A'], true],
    ['patch', 'statefulsets.apps', ['-n', 'db'], false],
  ] as const)('kubectl auth can-i %s %s %j: %s', async (verb, resource, scope, allowed) => {
    const result = await pass.kubectl('auth', 'can-i', verb, resource, ...scope);

    expect(result.stdout.trim()).toBe(allowed ? 'yes' : 'no');
    expect(result.code).toBe(allowed ? 0 : 1);
  });
});
