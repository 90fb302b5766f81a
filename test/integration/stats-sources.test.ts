/**
 * The kubelet sources under each RBAC profile, on a simulated cluster that authorizes with RBAC
 * and whose kubelets check every call with a TokenReview and a SubjectAccessReview: the default
 * profile reads the kubelets directly and is refused the node proxy; the kubelet-proxy profile
 * the reverse; `auto` falls back to the proxy per node only when allowed, and says which
 * permission is missing when not.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeKubeletFault } from '../../sim/index.js';
import { createSimCa } from '../../sim/tls.js';
import { byName, report, seed, type Claim } from './harness.js';
import { skippedHere } from './sim-only.js';
import {
  HAVE_KUBECTL,
  profileObjects,
  SERVICE_ACCOUNT,
  startProfileCluster,
  type ProfileCluster,
} from './profiles.js';

const FLEET: Claim[] = [
  { name: 'full', usedPercent: 95, node: 'node-a' },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-b' },
  { name: 'b-full', usedPercent: 91, node: 'node-b' },
];

const PROXY_RULE = { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] };

let cluster: ProfileCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

type Row = Record<string, unknown>;

function summary(rows: Row[]): string[] {
  return rows.map(
    (r) =>
      `${String(r['name'])}:${String(r['action'])}:${String(r['reason'])}:${String(r['source'])}`,
  );
}

/** What the kubelets were asked, and what they answered, by node. */
function kubeletCalls(c: ProfileCluster): Record<string, string[]> {
  return Object.fromEntries(
    [...c.sim.kubelets.values()].map((k) => [
      k.nodeName,
      k.requests.map((r) => `${r.path} ${r.subresource} ${r.user} ${r.status}`),
    ]),
  );
}

function proxyCalls(c: ProfileCluster): number[] {
  return c.sim.requests.filter((r) => r.path.includes('/proxy/')).map((r) => r.status);
}

describe.skipIf(!HAVE_KUBECTL || skippedHere('rbac-profile'))(
  'the default profile: nodes/stats, no nodes/proxy',
  () => {
    it('auto reads each kubelet directly, as the ServiceAccount, and decides', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('default'));

      const result = await cluster.cli(['--output', 'json']);
      const rows = report(result);

      expect(result.code).toBe(0);
      expect(summary(rows)).toEqual([
        'b-full:expand:threshold-reached:kubelet',
        'calm:skip:below-threshold:kubelet',
        'full:expand:threshold-reached:kubelet',
        'inodes:expand:threshold-reached:kubelet',
      ]);
      expect(kubeletCalls(cluster)).toEqual({
        'node-a': [`/stats/summary stats ${SERVICE_ACCOUNT} 200`],
        'node-b': [`/stats/summary stats ${SERVICE_ACCOUNT} 200`],
      });
      // No proxy call and no permission check: nothing failed.
      expect(proxyCalls(cluster)).toEqual([]);
      expect(
        cluster.sim.requests.filter((r) => r.path.endsWith('selfsubjectaccessreviews')),
      ).toEqual([]);
    });

    it('kubelet-proxy is refused by the API server: every PVC is metrics-unavailable, no write', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('default'));

      const result = await cluster.cli(['--output', 'json', '--stats-source', 'kubelet-proxy']);
      const rows = report(result);

      expect(result.code).toBe(0);
      expect(rows.every((r) => r['reason'] === 'metrics-unavailable')).toBe(true);
      expect(String(byName(rows, 'full')?.['detail'])).toBe(
        `kubelet stats from node node-a failed: HTTP 403: nodes "node-a" is forbidden: User "${SERVICE_ACCOUNT}" cannot get resource "nodes/proxy" in API group "" at the cluster scope`,
      );
      expect(proxyCalls(cluster)).toEqual([403, 403]);
      expect(cluster.sim.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
    });

    // Each: the fault of node-b's kubelet, the detail its PVCs get, and the permission checks.
    it.each<[string, FakeKubeletFault, RegExp, number]>([
      [
        'a kubelet that refuses: no fallback, the PVC names the missing permission',
        { kind: 'status', status: 401, text: 'Unauthorized' },
        /^kubelet on node node-b failed: 127\.0\.0\.1:\d+ answered HTTP 401: Unauthorized; no fallback through the API server: not allowed to get nodes\/proxy$/,
        // One permission check for the pass, and no proxy call it would refuse.
        1,
      ],
      [
        'a kubelet that answers 200 with a page that is not JSON: only its own PVCs go without',
        { kind: 'status', status: 200, text: '<html><body>502 Bad Gateway</body></html>' },
        /^kubelet on node node-b failed: the answer is not a kubelet Summary: .*<html>.* is not valid JSON$/,
        // A bad answer is not a refusal: no permission check, no proxy call.
        0,
      ],
    ])('auto, %s', async (_name, fault, detail, permissionChecks) => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('default'));
      cluster.sim.kubelets.get('node-b')?.setFault(fault);

      const result = await cluster.cli(['--output', 'json']);
      const rows = report(result);

      expect(summary(rows)).toEqual([
        'b-full:skip:metrics-unavailable:kubelet',
        'calm:skip:below-threshold:kubelet',
        'full:expand:threshold-reached:kubelet',
        'inodes:skip:metrics-unavailable:kubelet',
      ]);
      expect(String(byName(rows, 'b-full')?.['detail'])).toMatch(detail);
      expect(
        cluster.sim.requests.filter((r) => r.path.endsWith('selfsubjectaccessreviews')),
      ).toHaveLength(permissionChecks);
      expect(proxyCalls(cluster)).toEqual([]);
    });
  },
);

describe.skipIf(!HAVE_KUBECTL || skippedHere('rbac-profile'))(
  'the kubelet-proxy profile: nodes/proxy only',
  () => {
    it('kubelet-proxy reads every node through the API server', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('kubelet-proxy'));

      const rows = report(
        await cluster.cli(['--output', 'json', '--stats-source', 'kubelet-proxy']),
      );

      expect(summary(rows)).toEqual([
        'b-full:expand:threshold-reached:kubelet-proxy',
        'calm:skip:below-threshold:kubelet-proxy',
        'full:expand:threshold-reached:kubelet-proxy',
        'inodes:expand:threshold-reached:kubelet-proxy',
      ]);
      expect(proxyCalls(cluster)).toEqual([200, 200]);
      expect(kubeletCalls(cluster)).toEqual({ 'node-a': [], 'node-b': [] });
    });

    it('kubelet is refused: the Node read (no nodes get) fails before any kubelet is asked', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('kubelet-proxy'));

      const rows = report(await cluster.cli(['--output', 'json', '--stats-source', 'kubelet']));

      expect(rows.every((r) => r['reason'] === 'metrics-unavailable')).toBe(true);
      expect(String(byName(rows, 'full')?.['detail'])).toContain(
        `get node node-a: HTTP 403 nodes "node-a" is forbidden: User "${SERVICE_ACCOUNT}" cannot get resource "nodes"`,
      );
    });

    it('without nodes/stats, the kubelet itself refuses the token (its SubjectAccessReview says no)', async () => {
      const roles = await profileObjects('kubelet-proxy', [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      ]);
      cluster = await startProfileCluster(seed(FLEET), roles);

      const rows = report(await cluster.cli(['--output', 'json', '--stats-source', 'kubelet']));

      expect(String(byName(rows, 'full')?.['detail'])).toMatch(
        /answered HTTP 403: Forbidden \(user=system:serviceaccount:pvc-chonker:pvc-chonker, verb=get, resource=nodes, subresource=stats\)$/,
      );
      expect(kubeletCalls(cluster)['node-a']).toEqual([
        `/stats/summary stats ${SERVICE_ACCOUNT} 403`,
      ]);
    });
  },
);

describe.skipIf(!HAVE_KUBECTL || skippedHere('rbac-profile'))(
  'the prometheus profile: no node access',
  () => {
    it('both kubelet paths are refused (its own pass is in prometheus-source.test.ts)', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('prometheus'));

      const direct = report(await cluster.cli(['--output', 'json', '--stats-source', 'kubelet']));
      const proxied = report(
        await cluster.cli(['--output', 'json', '--stats-source', 'kubelet-proxy']),
      );

      for (const rows of [direct, proxied])
        expect(rows.every((r) => r['reason'] === 'metrics-unavailable')).toBe(true);
      expect(String(byName(direct, 'full')?.['detail'])).toContain('cannot get resource "nodes"');
      expect(String(byName(proxied, 'full')?.['detail'])).toContain(
        'cannot get resource "nodes/proxy"',
      );
    });
  },
);

describe.skipIf(!HAVE_KUBECTL || skippedHere('rbac-profile'))(
  'auto with nodes/proxy granted on top of the default rules',
  () => {
    it('falls back per node: an unreachable kubelet is read through the proxy, the others directly', async () => {
      cluster = await startProfileCluster(
        seed(FLEET),
        await profileObjects('default', [PROXY_RULE]),
      );
      await cluster.sim.kubelets.get('node-b')?.close();
      const metricsFile = join(cluster.dir, 'metrics.prom');

      const result = await cluster.cli(['--output', 'json', '--metrics-file', metricsFile]);
      const rows = report(result);

      expect(summary(rows)).toEqual([
        'b-full:expand:threshold-reached:kubelet-proxy',
        'calm:skip:below-threshold:kubelet',
        'full:expand:threshold-reached:kubelet',
        'inodes:expand:threshold-reached:kubelet-proxy',
      ]);
      expect(
        result.logs.find((l) => l['msg'] === 'kubelets read through the API server proxy'),
      ).toMatchObject({
        nodes: 1,
        reasons: { unreachable: 1 },
      });
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(metricsFile, 'utf8');
      expect(text).toContain('pvc_chonker_stats_source_pvcs{source="kubelet"} 2\n');
      expect(text).toContain('pvc_chonker_stats_source_pvcs{source="kubelet-proxy"} 2\n');
      expect(text).toContain(
        'pvc_chonker_stats_source_errors_total{reason="unreachable",source="kubelet"} 1\n',
      );
      expect(text).toContain(
        'pvc_chonker_stats_source_errors_total{reason="forbidden",source="kubelet-proxy"} 0\n',
      );
    });

    it('a kubelet certificate that does not verify falls back too; with a CA that verifies, none does', async () => {
      cluster = await startProfileCluster(
        seed(FLEET),
        await profileObjects('default', [PROXY_RULE]),
      );
      const other = join(cluster.dir, 'other-ca.pem');
      await writeFile(other, (await createSimCa()).caPem);
      const right = join(cluster.dir, 'kubelet-ca.pem');
      await writeFile(right, cluster.sim.kubeletCaPem ?? '');

      const wrong = report(await cluster.cli(['--output', 'json', '--kubelet-ca-file', other]));
      const verified = report(
        await cluster.cli(['--output', 'json', '--dry-run', '--kubelet-ca-file', right]),
      );
      const insecure = report(
        await cluster.cli(['--output', 'json', '--dry-run', '--kubelet-insecure-skip-tls-verify']),
      );

      expect(wrong.map((r) => r['source'])).toEqual(Array(4).fill('kubelet-proxy'));
      expect(verified.map((r) => r['source'])).toEqual(Array(4).fill('kubelet'));
      expect(insecure.map((r) => r['source'])).toEqual(Array(4).fill('kubelet'));
    });

    it('without the fallback permission, a certificate that does not verify is named', async () => {
      cluster = await startProfileCluster(seed(FLEET), await profileObjects('default'));
      const other = join(cluster.dir, 'other-ca.pem');
      await writeFile(other, (await createSimCa()).caPem);

      const rows = report(await cluster.cli(['--output', 'json', '--kubelet-ca-file', other]));

      expect(String(byName(rows, 'full')?.['detail'])).toMatch(
        /^kubelet on node node-a failed: 127\.0\.0\.1:\d+: .*(certificate|CERT).*; no fallback through the API server: not allowed to get nodes\/proxy$/,
      );
    });
  },
);
