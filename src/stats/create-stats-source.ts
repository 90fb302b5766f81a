/**
 * The stats source of a pass, from the parsed --stats-source flags: built in the composition
 * root, used by the pass through the VolumeStatsSource port, so the decision code does not know
 * which source answered (each PVC's lookup names it for the report).
 */
import type { Logger } from 'pino';
import type { StatsSourceName } from '../core/pvc.js';
import type { RequestCredentials } from '../kube/api-connection.js';
import type { RawClient, RawRequest } from '../kube/raw-request.js';
import type { VolumeStatsSource } from '../ports.js';
import { createDirectReader } from './kubelet-direct-reader.js';
import { createProxyReader } from './kubelet-proxy-reader.js';
import { createNodeStatsSource } from './node-stats-source.js';
import type { StatsPlan } from './options.js';
import { createPrometheusSource } from './prometheus-source.js';
import { checkProxyPermission } from './proxy-permission.js';
import { createStatsTally, type StatsTally } from './tally.js';

export interface StatsSourceDeps {
  /** The pass's raw API client, for the node proxy (no retries: a kubelet is not the API). */
  send: RawClient;
  /** One API call with the pass's deadline and retries: Node reads, the permission check. */
  request: (operation: string, request: RawRequest) => Promise<unknown>;
  /** The API connection's credentials; the direct kubelet path sends its bearer token. */
  credentials: () => Promise<RequestCredentials>;
  /** Nodes asked at once, and the timeout of each node's (or Prometheus query's) call. */
  concurrency: number;
  timeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

/** The sources a plan may read from, in order of preference. */
export function sourcesOf(plan: StatsPlan): StatsSourceName[] {
  if (plan.source === 'kubelet' && plan.proxyFallback) return ['kubelet', 'kubelet-proxy'];
  return [plan.source];
}

export function createStatsSource(
  plan: StatsPlan,
  deps: StatsSourceDeps,
): { stats: VolumeStatsSource; tally: StatsTally } {
  const tally = createStatsTally(sourcesOf(plan));
  const { timeoutMs, signal, log, concurrency } = deps;
  if (plan.source === 'prometheus')
    return {
      stats: createPrometheusSource({ ...plan.prometheus, timeoutMs, signal, log, tally }),
      tally,
    };
  const proxy = createProxyReader(deps.send, { timeoutMs, signal });
  if (plan.source === 'kubelet-proxy')
    return {
      stats: createNodeStatsSource({
        primary: proxy,
        fallback: undefined,
        concurrency,
        signal,
        log,
        tally,
      }),
      tally,
    };
  const direct = createDirectReader({
    getNode: (name) =>
      deps.request(`get node ${name}`, {
        method: 'GET',
        path: `/api/v1/nodes/${encodeURIComponent(name)}`,
      }),
    credentials: deps.credentials,
    trust: plan.trust,
    timeoutMs,
    signal,
  });
  const fallback = plan.proxyFallback
    ? { reader: proxy, permitted: () => checkProxyPermission(deps.request, signal) }
    : undefined;
  return {
    stats: createNodeStatsSource({ primary: direct, fallback, concurrency, signal, log, tally }),
    tally,
  };
}
