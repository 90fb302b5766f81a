import type { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';
import type { ConnectionPool } from './keep-alive.js';

/**
 * Every Kubernetes request of a pass is sent here, with the kubeconfig's credentials and the run's
 * keep-alive pool, and answered as parsed JSON. client-node's generated API is not used for them:
 * its model (de)serialiser and node-fetch layers were the largest CPU cost of a 10,000-PVC pass,
 * and the core reads only plain fields, which JSON.parse gives as they are. The node proxy needs
 * it too: connectGetNodeProxyWithPath encodes the slash of "stats/summary" as %2F.
 */
export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  query?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  /** Of the body; application/json unless a patch type is named. */
  contentType?: string;
  /** The call's deadline joined with the run's stop (see deadline.ts). */
  signal: AbortSignal;
  /**
   * The signal's deadline. The socket's inactivity limit is set a second beyond it: a half-open
   * connection, which never errors by itself, then ends even without the signal. Normally the
   * deadline fires first and names the failure.
   */
  deadlineMs: number;
}

const IDLE_MARGIN_MS = 1_000;

export type RawClient = (request: RawRequest) => Promise<unknown>;

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

/** The socket went quiet for longer than the call may take: a network failure, retried as one. */
class SocketIdleError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no data on the connection for ${ms} ms`);
    this.name = 'SocketIdleError';
  }
}

function pathWithQuery(basePath: string, request: RawRequest): string {
  const search = request.query === undefined ? '' : new URLSearchParams(request.query).toString();
  return `${basePath}${request.path}${search === '' ? '' : `?${search}`}`;
}

export function createRawClient(config: KubeConfig, pool: ConnectionPool): RawClient {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const transport = server.protocol === 'https:' ? https : http;
  const basePath = server.pathname.replace(/\/$/, '');

  return async (request) => {
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const options: https.RequestOptions = {
      protocol: server.protocol,
      hostname: server.hostname,
      port: server.port,
      method: request.method,
      path: pathWithQuery(basePath, request),
      headers,
      signal: request.signal,
      timeout: request.deadlineMs + IDLE_MARGIN_MS,
    };
    await config.applyToHTTPSOptions(options);
    options.agent = pool.forRequest(options);
    return new Promise((resolve, reject) => {
      const outgoing = transport.request(options, (response) => {
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
            reject(new Error(`${request.method} ${request.path}: the response is not JSON`));
          }
        });
      });
      outgoing.on('timeout', () => {
        outgoing.destroy(new SocketIdleError(request.deadlineMs + IDLE_MARGIN_MS));
      });
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  };
}
