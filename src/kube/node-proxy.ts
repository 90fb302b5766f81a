import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import type { ConnectionPool } from './keep-alive.js';

/**
 * GET /api/v1/nodes/{node}/proxy/{path} through the API server. client-node's
 * connectGetNodeProxyWithPath encodes the slash of "stats/summary" as %2F, which the real API
 * server does not route, so the request is made here with the same credentials.
 */
export type NodeProxyGet = (node: string, path: string, signal: AbortSignal) => Promise<unknown>;

export class NodeProxyError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = 'NodeProxyError';
    this.status = status;
  }
}

export function createNodeProxyGet(config: KubeConfig, pool: ConnectionPool): NodeProxyGet {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const transport = server.protocol === 'https:' ? https : http;
  const basePath = server.pathname.replace(/\/$/, '');

  return async (node, path, signal) => {
    const options: https.RequestOptions = {
      protocol: server.protocol,
      hostname: server.hostname,
      port: server.port,
      method: 'GET',
      path: `${basePath}/api/v1/nodes/${encodeURIComponent(node)}/proxy/${path}`,
      headers: { Accept: 'application/json' },
      signal,
    };
    await config.applyToHTTPSOptions(options);
    options.agent = pool.forRequest(options);
    return new Promise((resolve, reject) => {
      const request = transport.request(options, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new NodeProxyError(`HTTP ${status}: ${text.slice(0, 200)}`, status));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new NodeProxyError('the response is not JSON', status));
          }
        });
      });
      request.on('error', reject);
      request.end();
    });
  };
}
