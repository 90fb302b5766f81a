/**
 * The differential test: one mixed scenario on the simulated cluster and on the real API server
 * at the same time, then everything it left compared, normalized only for what differs by
 * nature (uids, resourceVersions, times). A difference is a bug in the simulator: fix sim/.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  startTestCluster,
  type ClusterKind,
  type TestCluster,
} from '../integration/test-cluster.js';
import { pvcEvents, seed, type Claim } from '../integration/harness.js';
import { runJson, type RunRecord } from '../integration/invariants.js';
import { realTierUnavailable } from './cluster.js';

const unavailable = realTierUnavailable();

const CLAIMS: Claim[] = [
  // Expands, then holds by cooldown (95% of 10Gi is 86% of 11Gi).
  { name: 'grow', usedPercent: 95 },
  // Capped by max-size: 50% more would be 15Gi.
  {
    name: 'capped',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/increase': '50%', 'pvc-chonker.io/max-size': '12Gi' },
  },
  // At max-size: the same Warning on both runs, one Event counting 2.
  { name: 'stuck', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } },
  // Inodes: 900 of 1000 used; the total scales with the filesystem (1100 at 11Gi: still 82%).
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-b' },
  { name: 'bad', usedPercent: 95, annotations: { 'pvc-chonker.io/threshold': 'eighty' } },
  { name: 'fixed-class', usedPercent: 95, storageClass: 'fixed', node: 'node-b' },
  { name: 'calm', usedPercent: 40 },
  // Below threshold until the second pass: then full, and then short of inodes.
  { name: 'later', usedPercent: 40 },
  { name: 'later-inodes', usedPercent: 40, node: 'node-b' },
  { name: 'unmounted', usedPercent: 95, unmounted: true },
  // Not managed: never touched.
  { name: 'ignored', usedPercent: 99, managed: false },
  // Managed by a PVCPolicy only.
  { name: 'pg-0', usedPercent: 87, managed: false, labels: { workload: 'database' } },
  // A PVCGroup of two: es-0 over its threshold grows es-1 too.
  { name: 'es-0', namespace: 'elastic', usedPercent: 90, managed: false, sizeGi: 20 },
  { name: 'es-1', namespace: 'elastic', usedPercent: 40, managed: false, sizeGi: 20 },
];

const EXTRA = [
  {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCPolicy',
    metadata: { name: 'database', namespace: 'db' },
    spec: {
      selector: { matchLabels: { workload: 'database' } },
      template: { threshold: '85%', increase: '50%' },
    },
  },
  {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCGroup',
    metadata: { name: 'es' },
    spec: {
      members: [
        { namespace: 'elastic', name: 'es-0' },
        { namespace: 'elastic', name: 'es-1' },
      ],
    },
  },
];

/** Outcomes that hold on every pass. */
const FIRST = {
  bad: 'error:invalid-annotation',
  calm: 'skip:below-threshold',
  'fixed-class': 'skip:expansion-not-allowed',
  later: 'skip:below-threshold',
  'later-inodes': 'skip:below-threshold',
  stuck: 'skip:max-size-reached',
  unmounted: 'skip:metrics-unavailable',
};

/** The first pass's expansions, as `action` (a dry run's would-expand) names them. */
function expanding(action: string): Record<string, string> {
  return {
    capped: `${action}:threshold-reached`,
    grow: `${action}:threshold-reached`,
    inodes: `${action}:threshold-reached`,
    'pg-0': `${action}:threshold-reached`,
    'es-0': `${action}:threshold-reached`,
    'es-1': `${action}:group-sync`,
  };
}

/** name → "action:reason" of one report. */
function outcomes(rows: unknown[]): Record<string, string> {
  return Object.fromEntries(
    (rows as Record<string, unknown>[]).map((r) => [
      String(r['name']),
      `${String(r['action'])}:${String(r['reason'])}`,
    ]),
  );
}

/** What a scenario leaves behind, normalized. */
interface Outcome {
  reports: unknown[][];
  requests: string[];
  pvcs: unknown[];
  pvs: unknown[];
  events: unknown[];
  classes: unknown[];
  namespaces: unknown[];
  policies: unknown[];
  groups: unknown[];
}

// eslint-disable-next-line security/detect-unsafe-regex -- anchored pieces, no nested repetition
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)/g;
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Metadata that the server assigns and that differs between any two servers. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields'];

function normalize(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key === 'resourceVersion') return '<rv>';
    return value.replace(TIME, '<time>').replace(UID, '<uid>');
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !(key === 'metadata' && SERVER_METADATA.includes(k)))
        .map(([k, v]) => [k, normalize(v, k)]),
    );
  }
  return value;
}

/** Objects keyed and sorted by namespace/name, without list-level noise. */
function objects(items: unknown[]): unknown[] {
  const keyOf = (o: unknown): string => {
    const md = (o as { metadata: { namespace?: string; name: string } }).metadata;
    return `${md.namespace ?? ''}/${md.name}`;
  };
  return [...items].sort((a, b) => keyOf(a).localeCompare(keyOf(b))).map((o) => normalize(o));
}

/** An Event's name ends in a hash that differs between clusters (of the PVC's uid). */
function eventNamed(path: string): string {
  const at = path.lastIndexOf('.');
  return path.includes('/events/') && at > path.lastIndexOf('/')
    ? `${path.slice(0, at)}.<suffix>`
    : path;
}

/** An Event's generated name differs; what it is about, and in which order, does not. */
function events(items: unknown[]): unknown[] {
  const view = (e: unknown): string =>
    JSON.stringify(normalize({ ...(e as Record<string, unknown>), metadata: undefined }));
  return items
    .map((e) => {
      const md = (e as { metadata: { name: string; namespace: string } }).metadata;
      const copy = normalize(e) as { metadata: Record<string, unknown> };
      copy.metadata['name'] = eventNamed(`/events/${md.name}`).slice('/events/'.length);
      return copy;
    })
    .sort((a, b) => view(a).localeCompare(view(b)));
}

/** A report row; the time since an expansion depends on when each cluster's run started. */
function rows(run: RunRecord): unknown[] {
  return run.rows.map((row) =>
    normalize({
      ...row,
      detail: String(row['detail'])
        .replace(/\b\d[\dhms]* ago/g, '<elapsed> ago')
        .replace(/\(\d[\dhms]* left\)/g, '(<left> left)'),
    }),
  );
}

/** Dry run, a pass, every resize finished and two volumes filling up, a second pass. */
async function scenario(cluster: TestCluster): Promise<Outcome> {
  const runs = [await runJson(cluster, ['--dry-run']), await runJson(cluster, [])];
  await cluster.settle();
  await cluster.setUsage('db', 'later', { usedBytes: '9Gi' });
  await cluster.setUsage('db', 'later-inodes', { inodes: 2000, inodesUsed: 1700 });
  runs.push(await runJson(cluster, []));
  const requests = (await cluster.requests()).map(
    (r) =>
      `${r.method} ${eventNamed(r.path)}${r.query['limit'] === undefined ? '' : '?limit'} ${r.status}`,
  );
  const seeded = new Set(CLAIMS.map((c) => c.namespace ?? 'db'));
  return {
    reports: runs.map(rows),
    requests: requests.sort(),
    pvcs: objects(await cluster.list('PersistentVolumeClaim')),
    pvs: objects(await cluster.list('PersistentVolume')),
    events: events(pvcEvents(await cluster.list('Event'))),
    classes: objects(await cluster.list('StorageClass')),
    namespaces: objects(
      (await cluster.list('Namespace')).filter((n) =>
        seeded.has((n as { metadata: { name: string } }).metadata.name),
      ),
    ),
    policies: objects(await cluster.list('PVCPolicy')),
    groups: objects(await cluster.list('PVCGroup')),
  };
}

describe.skipIf(unavailable !== undefined)('one scenario on both clusters', () => {
  const clusters: TestCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.close()));
  });

  it('leaves the same objects, Events, custom-resource status, reports and requests', async () => {
    const kinds: ClusterKind[] = ['sim', 'real'];
    const started = await Promise.all(
      kinds.map((kind) =>
        startTestCluster(seed(CLAIMS, EXTRA), { crds: true, resizeDelayMs: 60_000 }, kind),
      ),
    );
    clusters.push(...started);

    const [sim, real] = await Promise.all(started.map(scenario));

    // The scenario does what it is for (on the real server; the simulator must agree below).
    expect(real?.reports.map(outcomes)).toEqual([
      { ...FIRST, ...expanding('would-expand') },
      { ...FIRST, ...expanding('expand') },
      {
        ...FIRST,
        capped: 'skip:below-threshold',
        grow: 'skip:cooldown',
        inodes: 'skip:cooldown',
        later: 'expand:threshold-reached',
        'later-inodes': 'expand:threshold-reached',
        'pg-0': 'skip:below-threshold',
        'es-0': 'skip:cooldown',
        'es-1': 'skip:cooldown',
      },
    ]);
    // Soft: one run shows every difference.
    expect.soft(sim?.reports).toEqual(real?.reports);
    expect.soft(sim?.pvcs).toEqual(real?.pvcs);
    expect.soft(sim?.pvs).toEqual(real?.pvs);
    expect.soft(sim?.events).toEqual(real?.events);
    expect.soft(sim?.classes).toEqual(real?.classes);
    expect.soft(sim?.namespaces).toEqual(real?.namespaces);
    expect.soft(sim?.policies).toEqual(real?.policies);
    expect.soft(sim?.groups).toEqual(real?.groups);
    expect.soft(sim?.requests).toEqual(real?.requests);
  });
});
