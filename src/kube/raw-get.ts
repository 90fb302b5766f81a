import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import type { ConnectionPool } from './keep-alive.js';

/**
 * A GET with the kubeconfig's credentials, answered as parsed JSON. Used where client-node does
 * not fit: the node proxy (connectGetNodeProxyWithPath encodes the slash of "stats/summary" as
 * %2F, so the request would not reach /api/v1/nodes/NODE/proxy/stats/summary literally) and the
 * large lists (client-node's model deserialiser was the largest CPU cost of a 10,000-PVC pass;
 * the snapshots read only plain fields, which JSON.parse gives as they are).
 */
export type RawGet = (
  path: string,
  query: Readonly<Record<string, string>>,
  signal: AbortSignal,
) => Promise<unknown>;

/** A non-2xx answer: the status, the headers (Retry-After) and the body (a Status object). */
export class RawHttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  constructor(status: number, headers: RawHttpError['headers'], body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
    this.name = 'RawHttpError';
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

export function createRawGet(config: KubeConfig, pool: ConnectionPool): RawGet {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const transport = server.protocol === 'https:' ? https : http;
  const basePath = server.pathname.replace(/\/$/, '');

  return async (path, query, signal) => {
    const search = new URLSearchParams(query).toString();
    const options: https.RequestOptions = {
      protocol: server.protocol,
      hostname: server.hostname,
      port: server.port,
      method: 'GET',
      path: `${basePath}${path}${search === '' ? '' : `?${search}`}`,
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
            reject(new RawHttpError(status, response.headers, text));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`GET ${path}: the response is not JSON`));
          }
        });
      });
      request.on('error', reject);
      request.end();
    });
  };
}
