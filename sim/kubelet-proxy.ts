// GET /api/v1/nodes/{node}/proxy/{path}: the API server proxies to the node's kubelet. Missing
// nodes are a NotFound Status from the apiserver; kubelet-side failures come back as the proxy
// relays them (a 503 text/plain "Error: 'EOF'\nTrying to reach: ..." as in kubernetes#56297).
import { arr, nameOf, obj, readPath, str, type JsonObject } from './json.js';
import { buildSummary, nodeKubeletFails, type SummaryInputs, type VolumeUsage } from './kubelet.js';
import type { FaultInjector } from './faults.js';
import { notFound } from './status.js';
import { firstKeyAtOrAfter, objectKey, type ObjectStore } from './store.js';

export interface ProxyResult {
  status: number;
  json?: JsonObject;
  /** The summary already serialised (KubeletDeps.summaries). */
  body?: Buffer;
  text?: string;
  hang?: boolean;
}

export interface KubeletDeps {
  store: ObjectStore;
  faults: FaultInjector;
  usageOf(namespace: string, pvc: string): VolumeUsage | undefined;
  kubeletCapacityBytes(pvc: JsonObject): bigint;
  now(): Date;
  /**
   * Each node's summary as JSON, kept until its pods, their PVCs or any usage change (the sim's
   * `preserialize`): a kubelet too serves stats it collected a few seconds earlier. Unset: every
   * summary is built when asked.
   */
  summaries?: Map<string, { fingerprint: string; body: Buffer | undefined }>;
  /** Bumped whenever a volume's usage is set. */
  usageVersion(): number;
}

/** What a node's summary is built from: its running pods and their PVCs, by resourceVersion. */
function fingerprint(deps: KubeletDeps, pods: readonly JsonObject[], usageVersion: number): string {
  const parts = [String(usageVersion)];
  for (const pod of pods) {
    parts.push(str(readPath(pod, 'metadata.resourceVersion')) ?? '');
    const namespace = str(readPath(pod, 'metadata.namespace'));
    for (const volume of arr(readPath(pod, 'spec.volumes'))) {
      const claim = str(readPath(volume, 'persistentVolumeClaim.claimName'));
      if (claim === undefined || namespace === undefined) continue;
      const pvc = deps.store.get('PersistentVolumeClaim', namespace, claim);
      parts.push(str(readPath(pvc, 'metadata.resourceVersion')) ?? '-');
    }
  }
  return parts.join(',');
}

/**
 * The node's summary, already serialised when KubeletDeps.summaries caches it; undefined when
 * its kubelet fails (a usage's kubeletFails).
 */
function summaryOf(
  deps: KubeletDeps,
  inputs: SummaryInputs,
  nodeName: string,
): { json: JsonObject } | { body: Buffer } | undefined {
  const cache = deps.summaries;
  if (cache === undefined)
    return nodeKubeletFails(inputs) ? undefined : { json: buildSummary(inputs) };
  const print = fingerprint(deps, inputs.pods, deps.usageVersion());
  let cached = cache.get(nodeName);
  if (cached?.fingerprint !== print) {
    const body = nodeKubeletFails(inputs)
      ? undefined
      : Buffer.from(JSON.stringify(buildSummary(inputs)));
    cached = { fingerprint: print, body };
    cache.set(nodeName, cached);
  }
  return cached.body === undefined ? undefined : { body: cached.body };
}

function nodeAddress(node: JsonObject, index: number): string {
  const internal = arr(readPath(node, 'status.addresses'))
    .map(obj)
    .find((a) => a['type'] === 'InternalIP');
  return str(internal?.['address']) ?? `10.0.0.${index + 10}`;
}

/** Running pods by spec.nodeName, in list order; rebuilt when a Pod is written or deleted. */
interface PodIndex {
  podRevision: number;
  byNode: Map<string, JsonObject[]>;
}

const podIndexes = new WeakMap<ObjectStore, PodIndex>();

export function runningPodsOn(store: ObjectStore, nodeName: string): readonly JsonObject[] {
  const podRevision = store.kindRevision('Pod');
  let index = podIndexes.get(store);
  if (index?.podRevision !== podRevision) {
    const byNode = new Map<string, JsonObject[]>();
    for (const p of store.sorted('Pod').objects) {
      const node = readPath(p, 'spec.nodeName');
      if (typeof node !== 'string' || readPath(p, 'status.phase') !== 'Running') continue;
      const pods = byNode.get(node);
      if (pods) pods.push(p);
      else byNode.set(node, [p]);
    }
    index = { podRevision, byNode };
    podIndexes.set(store, index);
  }
  return index.byNode.get(nodeName) ?? [];
}

/** The node's position in the node list, which its made-up address falls back on. */
function nodeIndex(store: ObjectStore, node: JsonObject): number {
  const { keys } = store.sorted('Node');
  const key = objectKey(undefined, nameOf(node));
  const i = firstKeyAtOrAfter(keys, key);
  return keys[i] === key ? i : -1;
}

function unreachable(node: JsonObject, deps: KubeletDeps, path: string): ProxyResult {
  const index = nodeIndex(deps.store, node);
  return {
    status: 503,
    text: `Error: 'EOF'\nTrying to reach: 'https://${nodeAddress(node, index)}:10250/${path}'`,
  };
}

const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
  401: 'Unauthorized',
  403: 'Forbidden',
};

export function proxyToKubelet(deps: KubeletDeps, nodeName: string, path: string): ProxyResult {
  const node = deps.store.get('Node', undefined, nodeName);
  if (!node) throw notFound('nodes', nodeName);
  const fault = deps.faults.nodeFault(nodeName);
  if (fault?.kind === 'hang') return { status: 0, hang: true };
  if (fault?.kind === 'fail') {
    if (fault.status === 503) return unreachable(node, deps, path);
    return {
      status: fault.status,
      text: `${STATUS_TEXT[fault.status] ?? 'Error'}: injected kubelet fault`,
    };
  }
  if (path === 'healthz') return { status: 200, text: 'ok' };
  if (path !== 'stats/summary') return { status: 404, text: '404 page not found\n' };
  const pods = runningPodsOn(deps.store, nodeName);
  const inputs: SummaryInputs = {
    node,
    pods,
    findPvc: (ns, name) => deps.store.get('PersistentVolumeClaim', ns, name),
    usageOf: (ns, pvc) => deps.usageOf(ns, pvc),
    kubeletCapacityBytes: (pvc) => deps.kubeletCapacityBytes(pvc),
    now: deps.now(),
  };
  const summary = summaryOf(deps, inputs, nodeName);
  if (summary === undefined) return unreachable(node, deps, path);
  return { status: 200, ...summary };
}
