/**
 * The stats source of a pass, from the parsed --stats-source flags: built in the composition
 * root, used by the pass through the VolumeStatsSource port, so the decision code does not know
 * which source answered (each PVC's lookup names it for the report).
 */
import type { Logger } from 'pino';
import type { StatsSourceName } from '../core/pvc.js';
import type { ApiConnection, RequestCredentials } from '../kube/api-connection.js';
import type { KubeClient } from '../kube/client.js';
import type { VolumeStatsSource } from '../ports.js';
import { createDirectReader } from './kubelet-direct-reader.js';
import { createProxyReader } from './kubelet-proxy-reader.js';
import { createNodeStatsSource } from './node-stats-source.js';
import type { StatsPlan } from './options.js';
import { createPrometheusSource } from './prometheus-source.js';
import { checkProxyPermission } from './proxy-permission.js';
import { createStatsTally, type StatsTally } from './tally.js';

export interface StatsSourceDeps {
  /**
   * The pass's Kubernetes client: Node reads and the permission check (with the API timeout
   * and retries), the node proxy (one attempt under the stats timeout).
   */
  client: KubeClient;
  /**
   * A client of the same kind (transport, deadline, error model) for a server that is not the
   * API server: a kubelet, or Prometheus.
   */
  clientFor: (connection: ApiConnection) => KubeClient;
  /** The API connection's credentials; the direct kubelet path sends its bearer token. */
  credentials: () => Promise<RequestCredentials>;
  /** Nodes asked at once, and the timeout of each node's (or Prometheus query's) call. */
  concurrency: number;
  timeoutMs: number;
  signal: AbortSignal;
  log: Logger;
  /** The pass's clock (--now): where Prometheus' usage history ends. */
  now: () => Date;
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
      stats: createPrometheusSource({
        ...plan.prometheus,
        clientFor: deps.clientFor,
        now: deps.now,
        timeoutMs,
        signal,
        log,
        tally,
      }),
      tally,
    };
  const { client } = deps;
  const proxy = createProxyReader(client, { timeoutMs, signal });
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
      client.request(`get node ${name}`, {
        method: 'GET',
        path: `/api/v1/nodes/${encodeURIComponent(name)}`,
      }),
    credentials: deps.credentials,
    clientFor: deps.clientFor,
    trust: plan.trust,
    timeoutMs,
    signal,
  });
  const fallback = plan.proxyFallback
    ? {
        reader: proxy,
        permitted: () =>
          checkProxyPermission((operation, request) => client.request(operation, request), signal),
      }
    : undefined;
  return {
    stats: createNodeStatsSource({ primary: direct, fallback, concurrency, signal, log, tally }),
    tally,
  };
}
