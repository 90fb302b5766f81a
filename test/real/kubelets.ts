/**
 * What the real tier lacks beside the API server: kubelets that answer /stats/summary (through
 * the node proxy or directly), and the CSI resizer plus the kubelet's filesystem growth. Both
 * read the real server's objects, so a Summary is what a kubelet would report for what the server
 * holds.
 */
import https from 'node:https';
import { parseQuantity } from '../../src/core/quantity.js';
import { buildSummary, usageFrom, type VolumeUsage } from '../../sim/kubelet.js';
import {
  startFakeKubelet,
  type FakeKubelet,
  type KubeletRequest,
} from '../../sim/kubelet-server.js';
import type { JsonObject } from '../../sim/json.js';
import type { SimVolumeUsage } from '../../sim/seed.js';
import { NETNS_ADDRESS, type RealCluster } from './cluster.js';

export type KubeletCall = KubeletRequest & { node: string };

export interface FakeKubelets {
  /** The port each node's kubelet listens on, at NETNS_ADDRESS. */
  port(node: string): number;
  /** Every node's kubelet as `NETNS_ADDRESS:port`, by node. */
  targets(): Record<string, string>;
  /** As the simulated cluster's setUsage: a new inode total scales with the claim from now on. */
  setUsage(namespace: string, pvc: string, usage: Partial<SimVolumeUsage>): Promise<void>;
  /** Requests each kubelet answered, in order (`node path`). */
  requests: string[];
  /** The same, with who the kubelet's TokenReview or certificate said the caller is, and the answer. */
  calls: KubeletCall[];
  close(): Promise<void>;
}

export function bytesOf(quantity: unknown): bigint {
  if (typeof quantity !== 'string') return 0n;
  const parsed = parseQuantity(quantity);
  return parsed.ok ? parsed.value : 0n;
}

interface Items {
  items: JsonObject[];
}

async function items(cluster: RealCluster, path: string): Promise<JsonObject[]> {
  const answer = await cluster.request('GET', path);
  if (answer.status !== 200) throw new Error(`GET ${path}: HTTP ${answer.status}`);
  return (answer.body as Items).items;
}

/**
 * kubeadm's binding of the API server's kubelet client (its certificate's O) to cluster-admin:
 * the kubelets authorize the node proxy's calls with a SubjectAccessReview, as real ones do.
 */
const KUBELET_CLIENT_BINDING = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'kubeadm:cluster-admins' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  subjects: [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' },
  ],
};

/**
 * One HTTPS kubelet per node at NETNS_ADDRESS, with a serving certificate of the cluster's CA
 * (the API server does not verify kubelets unless told to, as on a kubeadm cluster), in webhook
 * mode (sim/kubelet-server.ts): the API server's client certificate or a bearer token, checked
 * with a TokenReview, then a SubjectAccessReview against this API server (as the admin), so
 * `/stats/*` needs `nodes/stats` whether it comes through the node proxy or directly.
 */
export async function startKubelets(
  cluster: RealCluster,
  nodes: readonly string[],
): Promise<FakeKubelets> {
  const serving = await cluster.ca.issueServingCertificate([NETNS_ADDRESS]);
  const usage = new Map<string, VolumeUsage>();
  const requests: string[] = [];
  const calls: KubeletCall[] = [];
  const servers = new Map<string, FakeKubelet>();
  const bound = await cluster.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    KUBELET_CLIENT_BINDING,
  );
  if (bound.status !== 201 && bound.status !== 409)
    throw new Error(`binding the kubelet client: HTTP ${bound.status}`);

  // The node's pods, then only the claims they mount: a kubelet knows nothing of other nodes'
  // claims, and a whole-cluster PVC list per call made every summary of a 2,000-PVC fleet cost
  // 30-45 ms of this process (bench-real's passes took 9 s of wall waiting on it).
  async function summary(node: string): Promise<JsonObject> {
    const [nodeObject, pods] = await Promise.all([
      cluster.request('GET', `/api/v1/nodes/${node}`).then((a) => a.body as JsonObject),
      items(cluster, `/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`),
    ]);
    const claims = new Set<string>();
    for (const pod of pods) {
      const namespace = (pod['metadata'] as { namespace: string }).namespace;
      const volumes = (
        pod['spec'] as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] }
      ).volumes;
      for (const volume of volumes ?? []) {
        const claim = volume.persistentVolumeClaim?.claimName;
        if (claim !== undefined) claims.add(`${namespace}/${claim}`);
      }
    }
    const byKey = new Map<string, JsonObject>();
    await Promise.all(
      [...claims].map(async (key) => {
        const [namespace = '', name = ''] = key.split('/');
        const answer = await cluster.request(
          'GET',
          `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`,
        );
        if (answer.status === 200) byKey.set(key, answer.body as JsonObject);
        else if (answer.status !== 404)
          throw new Error(`GET claim ${key}: HTTP ${String(answer.status)}`);
      }),
    );
    return buildSummary({
      node: nodeObject,
      pods: pods.filter(
        (p) => (p['status'] as { phase?: string } | undefined)?.phase === 'Running',
      ),
      findPvc: (namespace, name) => byKey.get(`${namespace}/${name}`),
      usageOf: (namespace, name) => usage.get(`${namespace}/${name}`),
      // The kubelet reports the filesystem it sees: status.capacity once the resize finished.
      kubeletCapacityBytes: (pvc) =>
        bytesOf((pvc['status'] as { capacity?: { storage?: unknown } }).capacity?.storage),
      now: new Date(),
    });
  }

  for (const node of nodes) {
    const kubelet = await startFakeKubelet({
      nodeName: node,
      host: NETNS_ADDRESS,
      serving,
      clientCaPem: cluster.ca.caPem,
      apiServer: { url: cluster.url, caPem: cluster.ca.caPem, token: cluster.adminToken },
      summary: () =>
        summary(node).then(
          (json) => ({ status: 200, json }),
          (error: unknown) => ({ status: 500, text: String(error) }),
        ),
      onRequest: (request) => {
        requests.push(`${node} ${request.path}`);
        calls.push({ node, ...request });
      },
    });
    servers.set(node, kubelet);
  }

  return {
    requests,
    calls,
    targets: () =>
      Object.fromEntries(
        [...servers].map(([node, kubelet]) => [node, `${NETNS_ADDRESS}:${String(kubelet.port)}`]),
      ),
    port(node) {
      const kubelet = servers.get(node);
      if (kubelet === undefined) throw new Error(`no kubelet for node ${node}`);
      return kubelet.port;
    },
    async setUsage(namespace, pvc, given) {
      const key = `${namespace}/${pvc}`;
      // The inode total is pinned to the claim's size now, as the simulated cluster pins it.
      const claim =
        given.inodes === undefined
          ? undefined
          : await cluster
              .request('GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${pvc}`)
              .then((a) => (a.status === 200 ? (a.body as JsonObject) : undefined));
      usage.set(key, usageFrom(given, usage.get(key), claim));
    },
    async close() {
      await Promise.all([...servers.values()].map((kubelet) => kubelet.close()));
    },
  };
}

export interface Resizer {
  /** Finishes every resize still pending, now. */
  settle(): Promise<void>;
  close(): void;
}

function requestedBytes(pvc: JsonObject): bigint {
  return bytesOf(
    (pvc['spec'] as { resources?: { requests?: { storage?: unknown } } }).resources?.requests
      ?.storage,
  );
}

function capacityOf(pvc: JsonObject): bigint {
  return bytesOf((pvc['status'] as { capacity?: { storage?: unknown } }).capacity?.storage);
}

/**
 * Streams a watch as the admin: one JSON event per line, until the server ends it or `stop`.
 * Answers a function that stops it.
 */
function watch(
  cluster: RealCluster,
  path: string,
  onEvent: (type: string, object: JsonObject) => void,
  onEnd: () => void,
): () => void {
  const request = https.get(
    `${cluster.url}${path}`,
    {
      ca: cluster.ca.caPem,
      agent: false,
      headers: { authorization: `Bearer ${cluster.adminToken}`, accept: 'application/json' },
    },
    (response) => {
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim() !== '')) {
          const event = JSON.parse(line) as { type: string; object: JsonObject };
          onEvent(event.type, event.object);
        }
      });
      response.on('end', onEnd);
      response.on('error', onEnd);
    },
  );
  request.on('error', onEnd);
  return () => {
    request.destroy();
  };
}

/**
 * Plays the external-resizer and the kubelet: `delayMs` after a PVC's request is seen above its
 * capacity (through a watch, as the resizer sees it), the PV's spec.capacity and the PVC's
 * status.capacity and allocatedResources are raised to the request: the end state of a
 * successful online expansion, which the simulated cluster reaches after the same delay.
 */
export function startResizer(cluster: RealCluster, delayMs = 50): Resizer {
  const timers = new Map<string, NodeJS.Timeout>();
  let stopWatch: (() => void) | undefined;
  let stopped = false;

  async function finish(pvc: JsonObject): Promise<void> {
    const md = pvc['metadata'] as { namespace: string; name: string };
    const spec = pvc['spec'] as {
      volumeName?: string;
      resources?: { requests?: { storage?: string } };
    };
    const request = spec.resources?.requests?.storage;
    if (request === undefined) return;
    if (spec.volumeName !== undefined) {
      await cluster.request(
        'PATCH',
        `/api/v1/persistentvolumes/${spec.volumeName}`,
        { spec: { capacity: { storage: request } } },
        { contentType: 'application/merge-patch+json' },
      );
    }
    await cluster.request(
      'PATCH',
      `/api/v1/namespaces/${md.namespace}/persistentvolumeclaims/${md.name}/status`,
      { status: { capacity: { storage: request }, allocatedResources: { storage: request } } },
      { contentType: 'application/merge-patch+json' },
    );
  }

  /** Re-reads the PVC when its delay is up: it finishes the request of that moment. */
  async function finishLatest(namespace: string, name: string): Promise<void> {
    const answer = await cluster.request(
      'GET',
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`,
    );
    const pvc = answer.body as JsonObject;
    if (answer.status === 200 && requestedBytes(pvc) > capacityOf(pvc)) await finish(pvc);
  }

  function consider(pvc: JsonObject): void {
    const md = pvc['metadata'] as { namespace: string; name: string };
    const key = `${md.namespace}/${md.name}`;
    if (requestedBytes(pvc) <= capacityOf(pvc) || timers.has(key)) return;
    const timer = setTimeout(() => {
      timers.delete(key);
      if (!stopped) void finishLatest(md.namespace, md.name).catch(() => undefined);
    }, delayMs);
    timers.set(key, timer);
  }

  function start(): void {
    if (stopped) return;
    // The watch's first events are ADDED for every PVC there is: nothing is missed in between.
    stopWatch = watch(
      cluster,
      '/api/v1/persistentvolumeclaims?watch=true',
      (type, object) => {
        if (type === 'ADDED' || type === 'MODIFIED') consider(object);
      },
      () => setTimeout(start, 100),
    );
  }
  start();

  return {
    async settle() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      const pvcs = await items(cluster, '/api/v1/persistentvolumeclaims');
      await Promise.all(pvcs.filter((p) => requestedBytes(p) > capacityOf(p)).map(finish));
    },
    close() {
      stopped = true;
      stopWatch?.();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
