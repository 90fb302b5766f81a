/**
 * One HTTP(S) request to a kubelet or to Prometheus, read whole, under the pass's deadline helper:
 * the per-node (or per-query) timeout joined with the run's stop. These calls do not go to the
 * API server, so they do not use its client: no kubeconfig credentials, no API retries.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { DeadlineError, withDeadline } from '../deadline.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: OutgoingHttpHeaders;
  body?: string;
  /** TLS options (ca, cert, key, rejectUnauthorized) and the agent, for https: URLs. */
  tls?: https.RequestOptions;
  agent?: http.Agent;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpLimits {
  timeoutMs: number;
  stop: AbortSignal;
}

/**
 * A body larger than this is refused: a kubelet Summary of a full node is a few MB and a
 * Prometheus vector of 10,000 PVCs about 2 MB, so this only stops a runaway answer.
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** An answer that is too large to be one of ours. */
export class BodyTooLargeError extends Error {
  constructor() {
    super(`the response is larger than ${MAX_BODY_BYTES} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The deadline passed before the connection (TCP and TLS) was made: the address is out of reach
 * (a firewall or network policy that drops packets), not a server that is slow to answer.
 */
export class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no connection within ${ms} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

function send(request: HttpRequest, signal: AbortSignal, timeoutMs: number): Promise<HttpAnswer> {
  const transport = request.url.protocol === 'https:' ? https : http;
  let connected = false;
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(
      request.url,
      {
        ...request.tls,
        method: request.method,
        headers: request.headers,
        signal,
        ...(request.agent === undefined ? {} : { agent: request.agent }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            outgoing.destroy(new BodyTooLargeError());
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', reject);
        // A connection that closes mid-body: the promise is settled by 'end' or 'error' first
        // when there was one, so this only catches a silent close.
        response.on('close', () => {
          if (!response.complete) reject(new Error('the connection closed mid-response'));
        });
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    outgoing.on('socket', (socket) => {
      const done = (): void => {
        connected = true;
      };
      if (!socket.connecting) done();
      else socket.once(request.url.protocol === 'https:' ? 'secureConnect' : 'connect', done);
    });
    // An abort (deadline or stop) destroys the request with an AbortError caused by the reason.
    outgoing.on('error', (error) => {
      const deadline = signal.reason instanceof DeadlineError;
      reject(deadline && !connected ? new ConnectTimeoutError(timeoutMs) : error);
    });
    outgoing.end(request.body);
  });
}

/**
 * The answer, whatever its status; rejects on network errors, the deadline (a
 * ConnectTimeoutError when no connection was made by then) and the stop.
 */
export function httpRequest(request: HttpRequest, limits: HttpLimits): Promise<HttpAnswer> {
  return withDeadline(limits.timeoutMs, limits.stop, (signal) =>
    send(request, signal, limits.timeoutMs),
  );
}
