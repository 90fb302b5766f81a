// TopoLVM and Longhorn (issue 22) on the real API server: the scenario of
// test/integration/onprem.test.ts, with Longhorn's CRDs installed for real, the built CLI run
// against it as the ServiceAccount of cronjob/rbac.yaml (so the shipped rules are what it may do),
// and the audit log as the request log.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../integration/harness.js';
import { DETAILS, EXPECTED, ONPREM_CLAIMS, onpremSeed } from '../integration/onprem-scenario.js';
import {
  realTierUnavailable,
  startRealCluster,
  type AuditEntry,
  type RealCluster,
} from './cluster.js';
import type { FakeKubelets } from './kubelets.js';
import { createObject, loadRealSeed } from './seed.js';
import { parseObjects } from '../chart/tools.js';

const unavailable = realTierUnavailable();
const ROOT = new URL('../../', import.meta.url).pathname;
const SERVICE_ACCOUNT = 'system:serviceaccount:pvc-chonker:pvc-chonker';

/** cronjob/rbac.yaml installed as an operator would, and a token of its ServiceAccount. */
async function serviceAccountToken(cluster: RealCluster, kubelets: FakeKubelets): Promise<string> {
  const rbac = parseObjects(await readFile(join(ROOT, 'cronjob/rbac.yaml'), 'utf8'));
  await createObject(
    cluster,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pvc-chonker' } },
    kubelets,
  );
  for (const o of rbac) await createObject(cluster, o, kubelets);
  const answer = await cluster.request(
    'POST',
    '/api/v1/namespaces/pvc-chonker/serviceaccounts/pvc-chonker/token',
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    },
  );
  const issued = (answer.body as { status?: { token?: string } }).status?.token;
  if (typeof issued !== 'string') throw new Error(`TokenRequest: HTTP ${answer.status}`);
  return issued;
}

interface EventObject {
  type: string;
  reason: string;
  message: string;
  involvedObject: { name: string };
}

describe.skipIf(unavailable !== undefined)('on-premises storage on the real API server', () => {
  let cluster: RealCluster;
  let kubelets: FakeKubelets;
  let dir: string;
  let rows: Record<string, unknown>[];
  let audit: AuditEntry[];
  let code: number | null;

  beforeAll(async () => {
    cluster = await startRealCluster();
    kubelets = await loadRealSeed(cluster, onpremSeed());
    dir = await mkdtemp(join(tmpdir(), 'onprem-real-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig, await serviceAccountToken(cluster, kubelets));
    const before = (await cluster.audit()).length;
    const result = await runCli(['run', '--kubeconfig', kubeconfig, '--output', 'json']);
    code = result.code;
    rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    audit = (await cluster.audit()).slice(before);
  }, 120_000);
  afterAll(async () => {
    await kubelets.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('decides each PVC as on the simulator', () => {
    const got = Object.fromEntries(
      Object.keys(EXPECTED).map((name) => {
        const row = rows.find((r) => r['name'] === name);
        return [
          name,
          {
            action: row?.['action'],
            reason: row?.['reason'],
            ...(row?.['action'] === 'expand' ? { newSize: row['newSize'] } : {}),
          },
        ];
      }),
    );

    expect(code).toBe(0);
    expect(got).toEqual(EXPECTED);
    for (const [name, parts] of Object.entries(DETAILS)) {
      const detail = String(rows.find((r) => r['name'] === name)?.['detail']);
      for (const part of parts) expect(detail).toContain(part);
    }
  });

  it('patches the PVCs that fit, to the size that fits', async () => {
    const sizes: Record<string, string> = {};
    for (const c of ONPREM_CLAIMS) {
      const { body } = await cluster.request(
        'GET',
        `/api/v1/namespaces/db/persistentvolumeclaims/${c.name}`,
      );
      sizes[c.name] = (
        body as { spec: { resources: { requests: { storage: string } } } }
      ).spec.resources.requests.storage;
    }

    expect(sizes).toMatchObject({ 'tl-c': '14Gi', 'tl-d': '10Gi', 'lh-d': '14Gi', 'lh-e': '10Gi' });
    for (const [name, want] of Object.entries(EXPECTED))
      expect(sizes[name], name).toBe(want.newSize ?? '10Gi');
  });

  it('records a Warning that names the node and its free bytes', async () => {
    const { body } = await cluster.request('GET', '/api/v1/namespaces/db/events');
    const events = (body as { items: EventObject[] }).items.filter(
      (e) => e.involvedObject.name === 'tl-d',
    );

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'provider-capacity' });
    expect(events[0]?.message).toContain('node tnode-1');
    expect(events[0]?.message).toContain('26843545600 bytes');
  });

  it('needs nothing beyond the rules of cronjob/rbac.yaml', () => {
    const mine = audit.filter((e) => e.user === SERVICE_ACCOUNT);

    expect(mine.length).toBeGreaterThan(10);
    expect(mine.filter((e) => e.status === 403).map((e) => `${e.verb} ${e.uri}`)).toEqual([]);
  });

  it('lists the TopoLVM Nodes by label and each Longhorn kind, with list only', () => {
    const reads = audit.filter(
      (e) =>
        e.user === SERVICE_ACCOUNT &&
        (e.uri.split('?')[0] === '/api/v1/nodes' || e.uri.startsWith('/apis/longhorn.io/')),
    );

    expect(reads.every((e) => e.verb === 'list' && e.status === 200)).toBe(true);
    expect(reads.map((e) => decodeURIComponent(e.uri).replace(/\+/g, ' ')).sort()).toEqual(
      [
        '/api/v1/nodes?labelSelector=topology.topolvm.io/node in (tnode-1,tnode-2)&limit=500',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/nodes?limit=500',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/replicas?limit=500&labelSelector=longhornvolume in (pvc-lh-a,pvc-lh-b,pvc-lh-c,pvc-lh-d,pvc-lh-e)',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/settings?limit=500',
        ...['a', 'b', 'c', 'd', 'e'].map(
          (v) =>
            `/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes?limit=500&fieldSelector=metadata.name=pvc-lh-${v}`,
        ),
      ].sort(),
    );
  });
});
