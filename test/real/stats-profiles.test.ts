// The RBAC profiles of the stats sources on the real API server: each profile, applied with
// `kubectl apply -k` of cronjob/ (and its component), is enough for its source (no refusal in the
// audit log) and no more than it needs (without any one of its node rules, usage cannot be read);
// the other sources are refused. The kubelets authorize every call with a TokenReview and a
// SubjectAccessReview against this server, and Prometheus scrapes them with a token of its own.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPrometheus } from '../../bench/prometheus-processes.js';
import { ROOT } from '../chart/tools.js';
import { report, runCli, seed, type Claim, type CliResult } from '../integration/harness.js';
import {
  HAVE_PROMETHEUS,
  PROMETHEUS_SCRAPE_RBAC,
  startKubeletPrometheus,
} from '../integration/prometheus-fixture.js';
import { NETNS_ADDRESS, type RealCluster } from './cluster.js';
import {
  auditOf,
  deployTierSkip,
  serviceAccountToken,
  serviceAccountUser,
  startDeployCluster,
  succeeded,
  type Client,
  type DeployCluster,
} from './deploy.js';
import type { FakeKubelets } from './kubelets.js';
import { loadRealSeed } from './seed.js';

const unavailable = deployTierSkip('stats-profiles.test.ts');

const SA_USER = serviceAccountUser('pvc-chonker', 'pvc-chonker');

const CLAIMS: Claim[] = [
  { name: 'full', usedPercent: 90, node: 'node-a' },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-b' },
];

type Row = Record<string, unknown>;

/** `name:action:reason:source` per row. */
function outcomes(result: CliResult): string[] {
  expect(result.code, result.stderr).toBe(0);
  return report(result).map(
    (r: Row) =>
      `${String(r['name'])}:${String(r['action'])}:${String(r['reason'])}:${String(r['source'])}`,
  );
}

const READ = (source: string): string[] => [
  `calm:skip:below-threshold:${source}`,
  `full:would-expand:threshold-reached:${source}`,
  `inodes:would-expand:threshold-reached:${source}`,
];
const UNREAD = (source: string): string[] => [
  `calm:skip:metrics-unavailable:${source}`,
  `full:skip:metrics-unavailable:${source}`,
  `inodes:skip:metrics-unavailable:${source}`,
];

/** The objects of the Prometheus that scrapes the kubelets (kube-prometheus-stack's grant). */
const PROMETHEUS_RBAC = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'prometheus', namespace: 'monitoring' },
  },
  ...PROMETHEUS_SCRAPE_RBAC,
];

/** Refused: 401 or 403 (a 404 of the snapshot and backup lists says their CRD is not installed). */
function refused(entry: { status: number }): boolean {
  return entry.status === 401 || entry.status === 403;
}

/**
 * The refused requests of the ServiceAccount after `from`, one line each: `status uri`. The API
 * server audits a proxy request (long-running) twice, when its response starts and completes.
 */
async function refusals(cluster: RealCluster, from: number): Promise<string[]> {
  const entries = await auditOf(cluster, SA_USER, from);
  const lines = entries.filter(refused).map((e) => `${e.status} ${e.uri}`);
  return [...new Set(lines)].sort();
}

/** The Summary calls the kubelets had after `calls`, one line each, in node order (not the scrapes). */
function kubeletLines(kubelets: FakeKubelets, calls: number): string[] {
  return kubelets.calls
    .slice(calls)
    .filter((c) => c.path === '/stats/summary')
    .map((c) => `${c.node} ${c.subresource} ${c.user} ${c.status}`)
    .sort();
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe.skipIf(unavailable !== undefined)(
  'stats source RBAC profiles on the real API server',
  () => {
    let deployed: DeployCluster;
    let cluster: RealCluster;
    let kubelets: FakeKubelets;
    let dir: string;
    let admin: Client;
    let passKubeconfig: string;
    let prometheus: RunningPrometheus | undefined;

    /** `kubectl apply -k` of cronjob/, with a component of cronjob/components/. */
    async function applyProfile(component?: string): Promise<void> {
      const overlay = join(dir, `overlay-${component ?? 'default'}`);
      await mkdir(overlay, { recursive: true });
      const components =
        component === undefined ? '' : `components: [../cronjob/components/${component}]\n`;
      await writeFile(
        join(overlay, 'kustomization.yaml'),
        `resources: [../cronjob]\n${components}`,
      );
      succeeded(await admin.kubectl('apply', '-k', overlay), `apply -k ${component ?? 'cronjob/'}`);
    }

    /** The applied ClusterRole without the rules that grant `resource` `verb`. */
    async function withoutRule(resource: string, verb: string): Promise<void> {
      const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles/pvc-chonker';
      const role = (await cluster.request('GET', path)).body as { rules: Rule[] };
      const rules = role.rules.filter(
        (r) =>
          !(r.apiGroups.includes('') && r.resources.includes(resource) && r.verbs.includes(verb)),
      );
      expect(rules.length).toBe(role.rules.length - 1);
      const answer = await cluster.request('PUT', path, { ...role, rules });
      expect(answer.status).toBe(200);
    }

    const cli = (...args: string[]): Promise<CliResult> =>
      runCli(['run', '--kubeconfig', passKubeconfig, '--output', 'json', '--dry-run', ...args]);

    beforeAll(async () => {
      // The default profile is cronjob/ itself; the overlays of applyProfile reach it by a link.
      deployed = await startDeployCluster('stats', ['cronjob']);
      ({ cluster, dir, admin } = deployed);
      await symlink(join(ROOT, 'cronjob'), join(dir, 'cronjob'));
      kubelets = await loadRealSeed(cluster, seed(CLAIMS, PROMETHEUS_RBAC));
      passKubeconfig = (await deployed.clientOf('pass', 'pvc-chonker')).kubeconfig;
      if (!HAVE_PROMETHEUS) return;
      prometheus = await startKubeletPrometheus({
        dir,
        caFile: 'cluster-ca.pem',
        caPem: cluster.ca.caPem,
        token: await serviceAccountToken(cluster, 'monitoring', 'prometheus'),
        targets: ['node-a', 'node-b'].map(
          (node) => `${NETNS_ADDRESS}:${String(kubelets.port(node))}`,
        ),
      });
    });
    afterAll(async () => {
      await prometheus?.stop();
      await kubelets.close();
      await deployed.close();
    });

    it('default (kubelet): enough, the kubelets authorize nodes/stats, and the proxy is refused', async () => {
      await applyProfile();
      const from = (await cluster.audit()).length;
      const calls = kubelets.calls.length;

      const direct = await cli('--stats-source', 'kubelet');
      const proxied = await cli('--stats-source', 'kubelet-proxy');

      expect(outcomes(direct)).toEqual(READ('kubelet'));
      expect(outcomes(proxied)).toEqual(UNREAD('kubelet-proxy'));
      expect(await refusals(cluster, from)).toEqual([
        '403 /api/v1/nodes/node-a/proxy/stats/summary',
        '403 /api/v1/nodes/node-b/proxy/stats/summary',
      ]);
      expect(kubeletLines(kubelets, calls)).toEqual([
        `node-a stats ${SA_USER} 200`,
        `node-b stats ${SA_USER} 200`,
      ]);
      // What the kubelets asked this server: the token, then nodes/stats on their node.
      const reviews = (await cluster.audit())
        .slice(from)
        .filter((e) => e.resource === 'subjectaccessreviews' && e.user === 'admin');
      expect(reviews.map((e) => (e.body as { spec: unknown }).spec)).toContainEqual(
        expect.objectContaining({
          user: SA_USER,
          resourceAttributes: expect.objectContaining({
            verb: 'get',
            resource: 'nodes',
            subresource: 'stats',
            name: 'node-a',
          }) as unknown,
        }),
      );
    });

    it.each([
      ['nodes', 'get', 'get node node-a: HTTP 403'],
      ['nodes/stats', 'get', 'subresource=stats)'],
    ])('default (kubelet) without %s %s: no usage can be read', async (resource, verb, detail) => {
      await applyProfile();
      await withoutRule(resource, verb);

      const result = await cli('--stats-source', 'kubelet');

      expect(outcomes(result)).toEqual(UNREAD('kubelet'));
      expect(String(report(result)[1]?.['detail'])).toContain(detail);
    });

    it('auto without nodes/stats: one SelfSubjectAccessReview, no fallback, the missing permission named', async () => {
      await applyProfile();
      await withoutRule('nodes/stats', 'get');
      const from = (await cluster.audit()).length;

      const result = await cli();

      expect(outcomes(result)).toEqual(UNREAD('kubelet'));
      expect(String(report(result)[1]?.['detail'])).toMatch(
        /no fallback through the API server: not allowed to get nodes\/proxy$/,
      );
      const entries = await auditOf(cluster, SA_USER, from);
      expect(entries.filter((e) => e.resource === 'selfsubjectaccessreviews')).toHaveLength(1);
      expect(entries.filter((e) => e.subresource === 'proxy')).toEqual([]);
    });

    it('kubelet-proxy: enough through the API server, whose own identity the kubelets authorize', async () => {
      await applyProfile('kubelet-proxy');
      const from = (await cluster.audit()).length;
      const calls = kubelets.calls.length;

      const proxied = await cli('--stats-source', 'kubelet-proxy');
      const direct = await cli('--stats-source', 'kubelet');

      expect(outcomes(proxied)).toEqual(READ('kubelet-proxy'));
      expect(outcomes(direct)).toEqual(UNREAD('kubelet'));
      expect(await refusals(cluster, from)).toEqual([
        '403 /api/v1/nodes/node-a',
        '403 /api/v1/nodes/node-b',
      ]);
      // The API server calls the kubelets with its client certificate, not the ServiceAccount's token.
      expect(kubeletLines(kubelets, calls)).toEqual([
        'node-a stats kube-apiserver-kubelet-client 200',
        'node-b stats kube-apiserver-kubelet-client 200',
      ]);
    });

    it('kubelet-proxy without nodes/proxy: no usage can be read', async () => {
      await applyProfile('kubelet-proxy');
      await withoutRule('nodes/proxy', 'get');

      expect(outcomes(await cli('--stats-source', 'kubelet-proxy'))).toEqual(
        UNREAD('kubelet-proxy'),
      );
    });

    it('auto with nodes/proxy on top of the default rules falls back where a kubelet refuses', async () => {
      await applyProfile();
      const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles/pvc-chonker';
      const role = (await cluster.request('GET', path)).body as { rules: Rule[] };
      // nodes/stats taken away, nodes/proxy given: every kubelet refuses the token, the proxy reads.
      const rules = [
        ...role.rules.filter((r) => !r.resources.includes('nodes/stats')),
        { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] },
      ];
      expect((await cluster.request('PUT', path, { ...role, rules })).status).toBe(200);

      const result = await cli();

      expect(outcomes(result)).toEqual(READ('kubelet-proxy'));
    });

    it.skipIf(!HAVE_PROMETHEUS)(
      'prometheus: no node access at all, both kubelet paths refused, the same decisions',
      async () => {
        await applyProfile('prometheus');
        const url = prometheus?.url.href ?? '';
        // Until Prometheus has scraped both kubelets.
        for (let tries = 0; tries < 60; tries++) {
          const probe = await cli('--stats-source', 'prometheus', '--prometheus-url', url);
          if (outcomes(probe).every((o) => !o.includes('metrics-unavailable'))) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        const from = (await cluster.audit()).length;

        const result = await cli('--stats-source', 'prometheus', '--prometheus-url', url);
        const own = await auditOf(cluster, SA_USER, from);
        const direct = await cli('--stats-source', 'kubelet');
        const proxied = await cli('--stats-source', 'kubelet-proxy');

        expect(outcomes(result)).toEqual(READ('prometheus'));
        expect(outcomes(direct)).toEqual(UNREAD('kubelet'));
        expect(outcomes(proxied)).toEqual(UNREAD('kubelet-proxy'));
        // Its own pass asked nothing about nodes, and was refused nothing.
        expect(own.filter((e) => e.resource === 'nodes')).toEqual([]);
        expect(own.filter(refused)).toEqual([]);
        expect(await refusals(cluster, from)).toEqual([
          '403 /api/v1/nodes/node-a',
          '403 /api/v1/nodes/node-a/proxy/stats/summary',
          '403 /api/v1/nodes/node-b',
          '403 /api/v1/nodes/node-b/proxy/stats/summary',
        ]);
      },
    );
  },
);
