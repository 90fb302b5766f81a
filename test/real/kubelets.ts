/**
 * What the real tier lacks beside the API server: kubelets that answer the node proxy's
 * /stats/summary, and the CSI resizer plus the kubelet's filesystem growth. Both read the real
 * server's objects, so a Summary is what a kubelet would report for what the server holds.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseQuantity } from '../../src/core/quantity.js';
import { buildSummary, usageFrom, type VolumeUsage } from '../../sim/kubelet.js';
import type { JsonObject } from '../../sim/json.js';
import type { SimVolumeUsage } from '../../sim/seed.js';
import { NETNS_ADDRESS, type RealCluster } from './cluster.js';

export interface FakeKubelets {
  /** The port each node's kubelet listens on, at NETNS_ADDRESS. */
  port(node: string): number;
  /** As the simulated cluster's setUsage: a new inode total scales with the claim from now on. */
  setUsage(namespace: string, pvc: string, usage: Partial<SimVolumeUsage>): Promise<void>;
  /** Requests each kubelet answered, in order (`node path`). */
  requests: string[];
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
 * One HTTPS kubelet per node at NETNS_ADDRESS, with a serving certificate of the cluster's CA
 * (the API server does not verify kubelets unless told to, as on a kubeadm cluster).
 */
export async function startKubelets(
  cluster: RealCluster,
  nodes: readonly string[],
): Promise<FakeKubelets> {
  const serving = await cluster.ca.issueServingCertificate([NETNS_ADDRESS]);
  const usage = new Map<string, VolumeUsage>();
  const requests: string[] = [];
  const servers = new Map<string, https.Server>();

  async function summary(node: string): Promise<JsonObject> {
    const [nodeObject, pods, pvcs] = await Promise.all([
      cluster.request('GET', `/api/v1/nodes/${node}`).then((a) => a.body as JsonObject),
      items(cluster, `/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`),
      items(cluster, '/api/v1/persistentvolumeclaims'),
    ]);
    const byKey = new Map(
      pvcs.map((p) => {
        const md = p['metadata'] as { namespace: string; name: string };
        return [`${md.namespace}/${md.name}`, p];
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
    const server = https.createServer(
      { key: serving.keyPem, cert: serving.certPem },
      (request, response) => {
        requests.push(`${node} ${request.url ?? ''}`);
        if (request.url?.split('?')[0] !== '/stats/summary') {
          response.writeHead(404).end('404 page not found\n');
          return;
        }
        summary(node).then(
          (body) => {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify(body));
          },
          (error: unknown) => {
            response.writeHead(500).end(String(error));
          },
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, NETNS_ADDRESS, resolve));
    servers.set(node, server);
  }

  return {
    requests,
    port(node) {
      const server = servers.get(node);
      if (server === undefined) throw new Error(`no kubelet for node ${node}`);
      return (server.address() as AddressInfo).port;
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
      await Promise.all(
        [...servers.values()].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => {
                resolve();
              });
            }),
        ),
      );
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
