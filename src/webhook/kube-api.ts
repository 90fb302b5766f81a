import http from 'node:http';
import https from 'node:https';
import { pathWithQuery, requestTarget, type ApiConnection } from '../kube/api-connection.js';
import type { ConnectionPool } from '../kube/keep-alive.js';

/**
 * The few API calls the webhook makes (list, watch, get, create, update and patch of Secrets,
 * webhook configurations and the custom resources), as raw JSON over the shared keep-alive pool
 * with the kubeconfig's credentials. Raw, as in the pass: the webhook reads plain fields and
 * needs a streamed watch, which client-node's typed API does not give for custom resources.
 */
export interface KubeApi {
  call(method: string, path: string, options?: CallOptions): Promise<ApiReply>;
  /** A watch: calls onEvent for each JSON line until the stream ends (resolves) or fails. */
  watch(
    path: string,
    query: Readonly<Record<string, string>>,
    signal: AbortSignal,
    onEvent: (event: unknown) => void,
  ): Promise<void>;
}

export interface CallOptions {
  query?: Readonly<Record<string, string>>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface ApiReply {
  status: number;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: unknown;
}

export function createKubeApi(connection: ApiConnection, pool: ConnectionPool): KubeApi {
  const { protocol, hostname, port, basePath } = requestTarget(connection.server);
  const transport = protocol === 'https:' ? https : http;

  async function open(
    method: string,
    path: string,
    options: CallOptions,
  ): Promise<{ request: http.ClientRequest; payload: string | undefined }> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    // Credentials are read for each call: the webhook makes a few calls a minute, and a rotated
    // token file is then picked up at once.
    const credentials = await connection.credentials();
    const headers: http.OutgoingHttpHeaders = {
      ...credentials.headers,
      Accept: 'application/json',
    };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const request: https.RequestOptions = {
      ...credentials.tls,
      protocol,
      hostname,
      port,
      method,
      path: pathWithQuery(basePath, path, options.query),
      headers,
    };
    if (options.signal !== undefined) request.signal = options.signal;
    request.agent = pool.forRequest(request);
    return { request: transport.request(request), payload };
  }

  return {
    async call(method, path, options = {}) {
      const { request, payload } = await open(method, path, options);
      return new Promise((resolve, reject) => {
        request.on('response', (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: response.statusCode ?? 0, body });
          });
        });
        request.on('error', reject);
        request.end(payload);
      });
    },
    async watch(path, query, signal, onEvent) {
      const { request } = await open('GET', path, { query: { ...query, watch: 'true' }, signal });
      return new Promise((resolve, reject) => {
        request.on('response', (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            reject(new Error(`watch ${path}: HTTP ${response.statusCode ?? 0}`));
            return;
          }
          let pending = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            pending += chunk;
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) if (line.trim() !== '') onEvent(JSON.parse(line));
          });
          response.on('error', reject);
          response.on('end', () => {
            resolve();
          });
        });
        request.on('error', reject);
        request.end();
      });
    },
  };
}
