/**
 * The kubelet Summary API through the API server's node proxy:
 * GET /api/v1/nodes/NODE/proxy/stats/summary. Needs `get` on `nodes/proxy`, which reaches every
 * kubelet endpoint (docs/security.md); kept for clusters whose pods cannot reach port 10250.
 */
import type { KubeClient } from '../kube/client.js';
import type { NodeSummaryReader } from './node-stats-source.js';
import { describeCall, reasonOf, StatsSourceError } from './source-error.js';

export interface ProxyReaderOptions {
  /** Per node: a kubelet that does not answer in time only costs its own PVCs their stats. */
  timeoutMs: number;
  signal: AbortSignal;
}

export function createProxyReader(
  client: KubeClient,
  options: ProxyReaderOptions,
): NodeSummaryReader {
  const { timeoutMs, signal } = options;
  return {
    source: 'kubelet-proxy',
    async read(node) {
      const path = `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`;
      try {
        // One attempt: a kubelet that fails costs its PVCs their stats until the next run.
        const answer = await client.bytes(
          `get stats of node ${node}`,
          { method: 'GET', path, accept: 'application/json' },
          { budget: client.budget(timeoutMs), stop: signal, attempts: 1 },
        );
        return answer.bytes;
      } catch (error) {
        throw new StatsSourceError(reasonOf(error), describeCall(error, signal));
      }
    },
    failure: (node, description) => `kubelet stats from node ${node} failed: ${description}`,
  };
}
