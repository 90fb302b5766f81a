/**
 * The TestCluster of test/integration/test-cluster.ts on a real kube-apiserver: a fresh etcd and
 * server per cluster, the seed loaded with live statuses, fake kubelets and a resizer playing the
 * missing node and controller parts, and the audit log as the request log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimSeed } from '../../sim/index.js';
import {
  CLI_TOKEN,
  CLI_USER,
  kubeletLine,
  objectAccess,
  type LoggedRequest,
  type TestCluster,
  type TestClusterOptions,
} from '../integration/test-cluster.js';
import { CRDS, runCli } from '../integration/harness.js';
import { startRealCluster, type AuditEntry, type RealCluster } from './cluster.js';
import { startResizer } from './kubelets.js';
import { crdObjects, loadRealSeed } from './seed.js';

/** The harness (admin) and the API server's own loopback client: not the clients under test. */
const HARNESS_USERS = new Set(['admin', 'system:apiserver']);

const METHOD_OF_VERB: Record<string, string> = {
  get: 'GET',
  list: 'GET',
  watch: 'GET',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETE',
};

function toLoggedRequest(entry: AuditEntry): LoggedRequest {
  const url = new URL(entry.uri, 'https://apiserver');
  return {
    // A non-resource request's verb is the HTTP method in lower case.
    method: METHOD_OF_VERB[entry.verb] ?? entry.verb.toUpperCase(),
    path: decodeURIComponent(url.pathname),
    query: Object.fromEntries(url.searchParams),
    status: entry.status,
    ...(entry.body === undefined ? {} : { body: entry.body }),
    user: entry.user,
    startedAt: entry.receivedAt,
  };
}

/**
 * The audit log once every request made so far is in it: a marker request is sent after them
 * and awaited (an entry is written when its response completes).
 */
async function auditUpTo(cluster: RealCluster, marker: number): Promise<AuditEntry[]> {
  const uri = `/version?audit-marker=${marker}`;
  await cluster.request('GET', uri);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entries = await cluster.audit();
    if (entries.some((e) => e.uri === uri) || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startRealTestCluster(
  seed: SimSeed,
  options: TestClusterOptions,
): Promise<TestCluster> {
  const cluster = await startRealCluster({ tokens: { [CLI_TOKEN]: CLI_USER, ...options.tokens } });
  try {
    const full =
      options.crds === true
        ? { ...seed, objects: [...(await crdObjects(CRDS)), ...seed.objects] }
        : seed;
    const kubelets = await loadRealSeed(cluster, full);
    const resizer = startResizer(cluster, options.resizeDelayMs ?? 50);
    const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-test-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig, CLI_TOKEN);
    let markers = 0;
    return {
      kind: 'real',
      url: cluster.url,
      tls: cluster.ca,
      kubeconfig,
      dir,
      sim: undefined,
      cli: (args, env, onSpawn) =>
        runCli(['run', '--kubeconfig', kubeconfig, ...args], env, onSpawn, options.nodeArgs),
      ...objectAccess((method, path, body, contentType) =>
        cluster.request(method, path, body, contentType === undefined ? {} : { contentType }),
      ),
      setUsage: (namespace, pvc, usage) => kubelets.setUsage(namespace, pvc, usage),
      settle: () => resizer.settle(),
      async requests() {
        const entries = await auditUpTo(cluster, ++markers);
        return entries
          .filter((e) => !HARNESS_USERS.has(e.user))
          .map(toLoggedRequest)
          .sort((a, b) => a.startedAt - b.startedAt);
      },
      // Sorted by node, as the simulator's are (one kubelet after the other).
      kubeletRequests: () =>
        [...kubelets.calls]
          .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
          .map(kubeletLine),
      kubeletTargets: () => ({ targets: kubelets.targets(), caPem: cluster.ca.caPem }),
      async close() {
        resizer.close();
        await kubelets.close();
        await cluster.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await cluster.close();
    throw error;
  }
}
