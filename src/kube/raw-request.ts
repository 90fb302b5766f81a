import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { requestTarget, type ApiConnection, type RequestCredentials } from './api-connection.js';
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

/**
 * Credentials are applied at most every few seconds, not per request: a token file would
 * otherwise be read thousands of times a pass. A 401 sent with cached credentials is tried once
 * more with fresh ones, in case the token had just been rotated.
 */
const CREDENTIALS_TTL_MS = 5_000;

export function createRawClient(connection: ApiConnection, pool: ConnectionPool): RawClient {
  const { protocol, hostname, port, basePath } = requestTarget(connection.server);
  const transport = protocol === 'https:' ? https : http;
  let cached: { at: number; credentials: Promise<RequestCredentials> } | undefined;

  const credentials = (fresh: boolean): Promise<RequestCredentials> => {
    const now = Date.now();
    if (fresh || cached === undefined || now - cached.at > CREDENTIALS_TTL_MS) {
      const applying = connection.credentials();
      cached = { at: now, credentials: applying };
      applying.catch(() => {
        cached = undefined;
      });
    }
    return cached.credentials;
  };

  const send = async (request: RawRequest, fresh: boolean): Promise<unknown> => {
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const applied = await credentials(fresh);
    const headers: OutgoingHttpHeaders = { ...applied.headers, Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const options: https.RequestOptions = {
      ...applied.tls,
      protocol,
      hostname,
      port,
      method: request.method,
      path: pathWithQuery(basePath, request),
      headers,
      timeout: request.deadlineMs + IDLE_MARGIN_MS,
    };
    options.agent = pool.forRequest(options);
    try {
      return await exchange(transport, options, request, payload);
    } catch (error) {
      if (!fresh && error instanceof RawHttpError && error.status === 401)
        return send(request, true);
      throw error;
    }
  };
  return (request) => send(request, false);
}

/** What node:http throws for an aborted request: an AbortError whose cause is the reason. */
function abortError(reason: unknown): Error {
  const error = new Error('The operation was aborted', { cause: reason });
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR' });
}

/**
 * One request and its JSON answer; a non-2xx answer is a RawHttpError. The signal is watched
 * here rather than given to node:http, whose per-request abort wiring (an end-of-stream watcher
 * on top of the listener) was a visible share of a 10,000-PVC pass's CPU.
 */
function exchange(
  transport: typeof http | typeof https,
  options: https.RequestOptions,
  request: RawRequest,
  payload: string | undefined,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const { signal } = request;
    if (signal.aborted) {
      reject(abortError(signal.reason));
      return;
    }
    const outgoing = transport.request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        signal.removeEventListener('abort', onAbort);
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
    const onAbort = (): void => {
      outgoing.destroy(abortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    outgoing.end(payload);
  });
}
