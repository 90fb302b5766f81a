/**
 * The kubelet Summary API through the API server's node proxy:
 * GET /api/v1/nodes/NODE/proxy/stats/summary. Needs `get` on `nodes/proxy`, which reaches every
 * kubelet endpoint (docs/security.md); kept for clusters whose pods cannot reach port 10250.
 */
import type { RawClient } from '../kube/raw-request.js';
import type { NodeSummaryReader } from './node-stats-source.js';

export interface ProxyReaderOptions {
  /** Per node: a kubelet that does not answer in time only costs its own PVCs their stats. */
  timeoutMs: number;
  signal: AbortSignal;
}

export function createProxyReader(send: RawClient, options: ProxyReaderOptions): NodeSummaryReader {
  const limits = { deadlineMs: options.timeoutMs, stop: options.signal };
  return {
    source: 'kubelet-proxy',
    read(node) {
      const path = `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`;
      return send({ method: 'GET', path }, limits);
    },
    failure: (node, description) => `kubelet stats from node ${node} failed: ${description}`,
  };
}
