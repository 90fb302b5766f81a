/**
 * What the real tier lacks beside the API server: kubelets that answer the node proxy's
 * /stats/summary, and the CSI resizer plus the kubelet's filesystem growth. Both read the real
 * server's objects, so a Summary is what a kubelet would report for what the server holds.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseQuantity } from '../../src/core/quantity.js';
import { buildSummary, type VolumeUsage } from '../../sim/kubelet.js';
import type { JsonObject } from '../../sim/json.js';
import { NETNS_ADDRESS, type RealCluster } from './cluster.js';

export interface FakeKubelets {
  /** The port each node's kubelet listens on, at NETNS_ADDRESS. */
  port(node: string): number;
  setUsage(namespace: string, pvc: string, usage: Partial<VolumeUsage>): void;
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
    setUsage(namespace, pvc, given) {
      const key = `${namespace}/${pvc}`;
      const previous = usage.get(key) ?? {
        usedBytes: 0n,
        fsOverheadBytes: 0n,
        kubeletFails: false,
      };
      usage.set(key, { ...previous, ...given });
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
  /** Finishes every resize that is due now. */
  settle(): Promise<void>;
  close(): void;
}

/**
 * Plays the external-resizer and the kubelet: a PVC whose request exceeds its capacity gets,
 * `delayMs` after it was first seen, the PV's spec.capacity and its own status.capacity and
 * allocatedResources raised to the request (the end state of a successful online expansion).
 */
export function startResizer(cluster: RealCluster, delayMs = 50): Resizer {
  const firstSeen = new Map<string, number>();
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

  async function sweep(force: boolean): Promise<void> {
    const pvcs = await items(cluster, '/api/v1/persistentvolumeclaims');
    const now = Date.now();
    for (const pvc of pvcs) {
      const md = pvc['metadata'] as { namespace: string; name: string };
      const key = `${md.namespace}/${md.name}`;
      const want = bytesOf(
        (pvc['spec'] as { resources?: { requests?: { storage?: unknown } } }).resources?.requests
          ?.storage,
      );
      const have = bytesOf(
        (pvc['status'] as { capacity?: { storage?: unknown } }).capacity?.storage,
      );
      if (want <= have) {
        firstSeen.delete(key);
        continue;
      }
      const seen = firstSeen.get(key) ?? now;
      firstSeen.set(key, seen);
      if (force || now - seen >= delayMs) {
        await finish(pvc);
        firstSeen.delete(key);
      }
    }
  }

  const loop = async (): Promise<void> => {
    while (!stopped) {
      await sweep(false).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.max(20, Math.min(delayMs, 200))));
    }
  };
  void loop();
  return {
    settle: () => sweep(true),
    close() {
      stopped = true;
    },
  };
}
