// GET /api/v1/nodes/{node}/proxy/{path}: the API server proxies to the node's kubelet. Missing
// nodes are a NotFound Status from the apiserver; kubelet-side failures come back as the proxy
// relays them (a 503 text/plain "Error: 'EOF'\nTrying to reach: ..." as in kubernetes#56297).
import { arr, nameOf, obj, readPath, str, type JsonObject } from './json.js';
import { buildSummary, nodeKubeletFails, type SummaryInputs, type VolumeUsage } from './kubelet.js';
import type { FaultInjector } from './faults.js';
import { notFound } from './status.js';
import type { ObjectStore } from './store.js';

export interface ProxyResult {
  status: number;
  json?: JsonObject;
  text?: string;
  hang?: boolean;
}

export interface KubeletDeps {
  store: ObjectStore;
  faults: FaultInjector;
  usageOf(namespace: string, pvc: string): VolumeUsage | undefined;
  kubeletCapacityBytes(pvc: JsonObject): bigint;
  now(): Date;
}

function nodeAddress(node: JsonObject, index: number): string {
  const internal = arr(readPath(node, 'status.addresses'))
    .map(obj)
    .find((a) => a['type'] === 'InternalIP');
  return str(internal?.['address']) ?? `10.0.0.${index + 10}`;
}

function unreachable(node: JsonObject, deps: KubeletDeps, path: string): ProxyResult {
  const index = deps.store.list('Node').findIndex((n) => nameOf(n) === nameOf(node));
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
  const pods = deps.store
    .list('Pod')
    .filter(
      (p) => readPath(p, 'spec.nodeName') === nodeName && readPath(p, 'status.phase') === 'Running',
    );
  const inputs: SummaryInputs = {
    node,
    pods,
    findPvc: (ns, name) => deps.store.get('PersistentVolumeClaim', ns, name),
    usageOf: (ns, pvc) => deps.usageOf(ns, pvc),
    kubeletCapacityBytes: (pvc) => deps.kubeletCapacityBytes(pvc),
    now: deps.now(),
  };
  if (nodeKubeletFails(inputs)) return unreachable(node, deps, path);
  return { status: 200, json: buildSummary(inputs) };
}
