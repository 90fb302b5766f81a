/**
 * One suite, two clusters. An integration test starts a TestCluster from claim descriptions
 * (harness.ts `seed`), runs the built CLI against it, and reads back objects and the request log
 * through this interface, so the same test body runs against:
 * - the simulated cluster (sim/): the normal run, `vitest run` (vitest.config.ts);
 * - a real kube-apiserver with etcd (test/real/): `make test-real` (vitest.real.config.ts), which
 *   sets PVC_CHONKER_TEST_CLUSTER=real and runs test/integration/ too, inside the network
 *   namespace of scripts/in-netns.sh.
 * What only the simulator can do (injected faults, hangs…) is tagged with a reason from the one
 * list in sim-only.ts: such a test runs in the normal run and is skipped on the real server.
 */
import { jsonRequest, type JsonAnswer } from './json-request.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listBody } from '../../sim/api.js';
import type { JsonObject } from '../../sim/json.js';
import type { KubeletRequest } from '../../sim/kubelet-server.js';
import { resourceForKind, type SimKind } from '../../sim/resources.js';
import {
  SIM_KUBELET_USER,
  SIM_TOKEN,
  startSimCluster,
  type KeyPair,
  type SimCluster,
  type SimSeed,
  type SimVolumeUsage,
} from '../../sim/index.js';
import { CRDS, runCli, type CliResult } from './harness.js';

export type ClusterKind = 'sim' | 'real';

/** The cluster this run's integration tests use: PVC_CHONKER_TEST_CLUSTER=real, else the sim. */
export const CLUSTER: ClusterKind =
  process.env['PVC_CHONKER_TEST_CLUSTER'] === 'real' ? 'real' : 'sim';

/** Who the CLI is on both clusters (its kubeconfig's token), and who the harness is. */
export const CLI_USER = 'pvc-chonker-test';
export const CLI_TOKEN = 'pvc-chonker-test-token';
const HARNESS_TOKEN = 'harness-token';
const HARNESS_USER = 'harness';

/**
 * One API request as the cluster logged it: the simulator's request log, or the real server's
 * audit log (verb mapped back to the HTTP method), in the order the server received them.
 */
export interface LoggedRequest {
  method: string;
  /** Decoded path, without the query. */
  path: string;
  query: Record<string, string>;
  /** 0 when the simulator hung the request or reset its socket. */
  status: number;
  /** The JSON body of a write (a PATCH's patch document). */
  body?: unknown;
  user: string;
  /** When the server received it (ms since the epoch). */
  startedAt: number;
  /** The simulator only: the audit log records no headers (the real server enforces them). */
  contentType?: string;
}

export interface TestClusterOptions {
  /** Install the project's CRDs (cronjob/crds) first. */
  crds?: boolean;
  /** From an accepted expansion to status.capacity growing (default 50 ms). */
  resizeDelayMs?: number;
  /** More tokens (token → user), each allowed everything. */
  tokens?: Record<string, string>;
  /** Node.js flags for the CLI process. */
  nodeArgs?: readonly string[];
  /** The simulator only: serve HTTPS (the real server always does). */
  tls?: boolean;
  /** The simulator only: a delay added to every API request. */
  latencyMs?: number;
}

/** The cluster's CA: the CLI verifies the server with it; it issues client certificates. */
export interface ClusterCa {
  caPem: string;
  issueClientCertificate(user: string, groups?: string[]): Promise<KeyPair>;
}

export interface TestCluster {
  kind: ClusterKind;
  url: string;
  /** Present when the cluster serves HTTPS. */
  tls: ClusterCa | undefined;
  /** The CLI's kubeconfig (user CLI_USER). */
  kubeconfig: string;
  /** A temporary directory, removed by close(). */
  dir: string;
  /** `pvc-chonker run --kubeconfig <kubeconfig> ...args`. */
  cli(
    args: readonly string[],
    env?: Record<string, string>,
    onSpawn?: (pid: number) => void,
  ): Promise<CliResult>;
  /** Objects as the API serves them (read as the harness: not in requests()); undefined: none. */
  get(kind: SimKind, namespace: string | undefined, name: string): Promise<unknown>;
  list(kind: SimKind, namespace?: string): Promise<unknown[]>;
  /** Creates an object as `kubectl create` would (Strict field validation); answers the status. */
  create(object: Record<string, unknown>): Promise<{ status: number; body: unknown }>;
  /** A JSON merge patch as another client would send it; throws unless it is accepted. */
  patch(kind: SimKind, namespace: string | undefined, name: string, patch: unknown): Promise<void>;
  /** The kubelet's view of a claim's volume from now on, as the simulator's setUsage. */
  setUsage(namespace: string, pvc: string, usage: Partial<SimVolumeUsage>): Promise<void>;
  /** Finishes every pending resize now. */
  settle(): Promise<void>;
  /** Every request made to the cluster except the harness's own, in the order received. */
  requests(): Promise<LoggedRequest[]>;
  /**
   * The requests the nodes' kubelets answered, directly or through the node proxy, in order:
   * `node METHOD path subresource status` (the subresource their SubjectAccessReview asked for).
   */
  kubeletRequests(): string[];
  /**
   * The nodes' kubelets as a scraper reaches them (`host:port` by node: loopback on the
   * simulator, 192.0.2.1 on the real tier) and the CA of their serving certificates.
   */
  kubeletTargets(): { targets: Record<string, string>; caPem: string };
  /** The simulator itself, for what only it can do (sim-only.ts); undefined on the real server. */
  sim: SimCluster | undefined;
  close(): Promise<void>;
}

/** Starts a cluster of the run's kind (or `kind`) holding `seed`. */
export async function startTestCluster(
  seed: SimSeed,
  options: TestClusterOptions = {},
  kind: ClusterKind = CLUSTER,
): Promise<TestCluster> {
  if (kind === 'sim') return startSimTestCluster(seed, options);
  // Loaded only for the real tier: the normal run never imports test/real/.
  const { startRealTestCluster } = await import('../real/test-cluster.js');
  return startRealTestCluster(seed, options);
}

/** A simulated cluster, for a test tagged sim-only: `sim` is always there. */
export async function startSimOnly(
  seed: SimSeed,
  options: TestClusterOptions = {},
): Promise<TestCluster & { sim: SimCluster }> {
  const cluster = await startSimTestCluster(seed, options);
  const { sim } = cluster;
  if (sim === undefined) throw new Error('no simulator');
  return { ...cluster, sim };
}

/** The API path of a collection, or of one object when `name` is given. */
export function apiPath(kind: SimKind, namespace: string | undefined, name?: string): string {
  const info = resourceForKind(kind);
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const scope =
    info.namespaced && namespace !== undefined ? `${base}/namespaces/${namespace}` : base;
  return `${scope}/${info.resource}${name === undefined ? '' : `/${name}`}`;
}

export { jsonRequest, type JsonAnswer } from './json-request.js';

/** The parts every TestCluster shares, given how it answers API requests as the harness. */
export function objectAccess(
  call: (method: string, path: string, body?: unknown, contentType?: string) => Promise<JsonAnswer>,
): Pick<TestCluster, 'get' | 'list' | 'create' | 'patch'> {
  return {
    async get(kind, namespace, name) {
      const answer = await call('GET', apiPath(kind, namespace, name));
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw new Error(`get ${kind} ${name}: HTTP ${answer.status}`);
      return answer.body;
    },
    async list(kind, namespace) {
      const answer = await call('GET', apiPath(kind, namespace));
      if (answer.status !== 200) throw new Error(`list ${kind}: HTTP ${answer.status}`);
      return (answer.body as { items: unknown[] }).items;
    },
    create(object) {
      const kind = object['kind'] as SimKind;
      const md = object['metadata'] as { namespace?: string };
      return call('POST', `${apiPath(kind, md.namespace)}?fieldValidation=Strict`, object);
    },
    async patch(kind, namespace, name, patch) {
      const path = apiPath(kind, namespace, name);
      const answer = await call('PATCH', path, patch, 'application/merge-patch+json');
      if (answer.status !== 200)
        throw new Error(`patch ${path}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    },
  };
}

async function startSimTestCluster(
  seed: SimSeed,
  options: TestClusterOptions,
): Promise<TestCluster> {
  const sim = await startSimCluster({
    seed,
    // A kubelet reached directly for each node, as in a real cluster: the CLI's default source
    // reads them (the real tier's fake kubelets answer the same way).
    kubelets: true,
    ...(options.crds === true ? { crds: CRDS } : {}),
    resizeDelayMs: options.resizeDelayMs ?? 50,
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
    ...(options.tls === true ? { tls: true } : {}),
    // Authentication tells the CLI's requests from the harness's, as on the real server.
    authentication: {
      tokens: { [SIM_TOKEN]: CLI_USER, [HARNESS_TOKEN]: HARNESS_USER, ...options.tokens },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  const call = (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<JsonAnswer> =>
    jsonRequest(`${sim.url}${path}`, {
      method,
      token: HARNESS_TOKEN,
      body,
      ...(contentType === undefined ? {} : { contentType }),
      ...(sim.tls === undefined ? {} : { ca: sim.tls.caPem }),
    });
  return {
    kind: 'sim',
    url: sim.url,
    tls: sim.tls,
    kubeconfig,
    dir,
    sim,
    cli: (args, env, onSpawn) =>
      runCli(['run', '--kubeconfig', kubeconfig, ...args], env, onSpawn, options.nodeArgs),
    ...objectAccess(call),
    // Straight from the store, past any injected fault, in the form a GET or a list serves.
    get: (kind, namespace, name) => Promise.resolve(sim.getObject(kind, namespace, name)),
    list: (kind, namespace) => {
      const items = sim.listObjects(kind, namespace) as JsonObject[];
      const body = listBody(resourceForKind(kind), { items, listMeta: {} });
      return Promise.resolve(body['items'] as unknown[]);
    },
    setUsage(namespace, pvc, usage) {
      sim.setUsage(namespace, pvc, usage);
      return Promise.resolve();
    },
    settle: () => sim.settle(),
    requests() {
      return Promise.resolve(
        sim.requests
          // Nor the kubelets' reviews: the real tier's kubelets ask them as the admin.
          .filter((r) => r.user !== HARNESS_USER && r.user !== SIM_KUBELET_USER)
          .map((r) => ({
            method: r.method,
            path: r.path,
            query: r.query,
            status: r.status,
            ...(r.body === undefined ? {} : { body: r.body }),
            user: r.user ?? '',
            startedAt: r.startedAt,
            ...(r.contentType === undefined ? {} : { contentType: r.contentType }),
          })),
      );
    },
    kubeletRequests: () =>
      [...sim.kubelets.values()].flatMap((k) =>
        k.requests.map((r) => kubeletLine({ node: k.nodeName, ...r })),
      ),
    kubeletTargets: () => ({
      targets: Object.fromEntries(
        [...sim.kubelets.values()].map((k) => [k.nodeName, `${k.host}:${String(k.port)}`]),
      ),
      caPem: sim.kubeletCaPem ?? '',
    }),
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One line of kubeletRequests(). */
export function kubeletLine(call: KubeletRequest & { node: string }): string {
  return `${call.node} ${call.method} ${call.path} ${call.subresource} ${call.status}`;
}

/**
 * Whether a request may change something: every method but GET, except the reviews (a
 * TokenReview or an access review is a POST that asks a question and stores nothing; the
 * kubelets send them for every request, pvc-chonker's `auto` source one per pass).
 */
export function isWrite(request: { method: string; path: string }): boolean {
  return request.method !== 'GET' && !request.path.endsWith('reviews');
}

/** The writes among the requests (see isWrite), as `METHOD path`. */
export async function writes(cluster: TestCluster): Promise<string[]> {
  return (await cluster.requests()).filter(isWrite).map((r) => `${r.method} ${r.path}`);
}
