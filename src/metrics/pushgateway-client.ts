/**
 * The two Pushgateway calls a run makes: read the group back (GET /metrics) and replace
 * it (PUT /metrics/job/<job>/cluster/<cluster>). Each attempt has a timeout; network errors,
 * timeouts, 429 and 5xx are retried a bounded number of times with a short backoff.
 */
import { once } from 'node:events';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { withDeadline } from '../deadline.js';
import { NO_JITTER, withRetry } from '../retry.js';
import type { PushAuth, SecretSource } from './config.js';

/** What the client needs of a reply (global fetch's Response has it too, for tests). */
export interface HttpReply {
  ok: boolean;
  status: number;
  text: () => Promise<string>;
  body: AsyncIterable<Uint8Array> | null;
}

export interface HttpCall {
  method: 'GET' | 'PUT';
  headers: Readonly<Record<string, string>>;
  /** The body in chunks, written as the socket takes them (chunked encoding). */
  body?: Iterable<string>;
  /** Ends the call up to the response headers. */
  signal: AbortSignal;
  /** Ends a connection silent for this long, so a reply body that stalls cannot hang the run. */
  idleTimeoutMs: number;
}

export type HttpSend = (url: URL, call: HttpCall) => Promise<HttpReply>;

async function readText(message: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function writeBody(request: ClientRequest, body: Iterable<string> | undefined) {
  for (const chunk of body ?? []) {
    if (!request.write(chunk)) await once(request, 'drain');
  }
  request.end();
}

/**
 * node:http rather than global fetch: the first fetch of a process loads undici and its
 * WebAssembly HTTP parser, about 20 MB of resident memory for two requests.
 */
export const nodeHttpSend: HttpSend = (url, call) =>
  new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const options = { method: call.method, headers: call.headers, signal: call.signal };
    const request = send(url, options, (reply) => {
      const status = reply.statusCode ?? 0;
      resolve({
        ok: status >= 200 && status < 300,
        status,
        body: reply,
        text: () => readText(reply),
      });
    });
    request.setTimeout(call.idleTimeoutMs, () => {
      request.destroy(new Error(`no data for ${call.idleTimeoutMs} ms`));
    });
    request.on('error', reject);
    writeBody(request, call.body).catch((error: unknown) => {
      request.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });

export interface HttpDeps {
  send: HttpSend;
  sleep: (ms: number) => Promise<void>;
  /** Reads a mounted secret file (utf-8). */
  readFile: (path: string) => Promise<string>;
  log: Logger;
}

export interface RequestOptions {
  timeoutMs: number;
  retries: number;
  headers: Readonly<Record<string, string>>;
}

/** A request that failed for good, with a message that names the URL (never a credential). */
export class PushgatewayError extends Error {
  readonly code = 'PUSHGATEWAY_ERROR';
  override readonly name = 'PushgatewayError';
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 2_000;

function withSlash(base: URL): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** The group URL; job and cluster were validated to be plain path segments. */
export function groupUrl(base: URL, job: string, cluster: string): URL {
  return new URL(
    `metrics/job/${encodeURIComponent(job)}/cluster/${encodeURIComponent(cluster)}`,
    withSlash(base),
  );
}

/**
 * The page Prometheus scrapes: every group's series in text format. The Pushgateway has no
 * read of one group (GET on a group URL is 405), and this page streams and parses line by
 * line, where /api/v1/metrics is one JSON document of every group that must be parsed whole.
 */
export function metricsPageUrl(base: URL): URL {
  return new URL('metrics', withSlash(base));
}

async function revealSecret(source: SecretSource, readFile: HttpDeps['readFile']): Promise<string> {
  if (source.kind === 'value') return source.secret.reveal();
  try {
    // Mounted Secrets usually end with a newline that is not part of the credential.
    return (await readFile(source.path)).replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new PushgatewayError(
      `cannot read credential file ${source.path}: ${String(code ?? error)}`,
    );
  }
}

/** The Authorization header for the configured auth, read fresh (files may be rotated). */
export async function authHeaders(
  auth: PushAuth | undefined,
  readFile: HttpDeps['readFile'],
): Promise<Record<string, string>> {
  // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with undefined, not a secret
  if (auth === undefined) return {};
  if (auth.kind === 'bearer')
    return { authorization: `Bearer ${await revealSecret(auth.token, readFile)}` };
  const password = await revealSecret(auth.password, readFile);
  return {
    authorization: `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`,
  };
}

const NEVER_STOPPED = new AbortController().signal;

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'timed out';
  // node:http puts the code on the error; fetch (injected in tests) on its cause.
  const withCode = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof withCode?.code === 'string') return withCode.code;
  if (typeof withCode?.cause?.code === 'string') return withCode.cause.code;
  return error instanceof Error ? error.message : String(error);
}

type Attempt = { ok: true; response: HttpReply } | { ok: false; retry: boolean; message: string };

async function attempt(
  url: URL,
  call: Omit<HttpCall, 'signal' | 'idleTimeoutMs'>,
  timeoutMs: number,
  deps: HttpDeps,
): Promise<Attempt> {
  try {
    // The push runs after the pass, stopped or not: only its own deadline ends it.
    const response = await withDeadline(timeoutMs, NEVER_STOPPED, (signal) =>
      deps.send(url, { ...call, signal, idleTimeoutMs: timeoutMs }),
    );
    if (response.ok) return { ok: true, response };
    const body = (await response.text().catch(() => '')).slice(0, 300).trim();
    const message = `HTTP ${response.status}${body === '' ? '' : `: ${body}`}`;
    return { ok: false, retry: retryable(response.status), message };
  } catch (error) {
    return { ok: false, retry: true, message: describeFailure(error) };
  }
}

/** A failed attempt, carried through the shared retry loop. */
class AttemptFailed extends Error {
  readonly retry: boolean;
  constructor(failure: { retry: boolean; message: string }) {
    super(failure.message);
    this.retry = failure.retry;
  }
}

/**
 * One HTTP call with timeout and bounded retry (the shared loop of src/retry.ts, without jitter:
 * one pusher per group, 250 ms, 500 ms, 1 s). Resolves with the successful response, or throws
 * PushgatewayError naming the method, the URL and the last failure.
 */
export async function requestWithRetry(
  request: { method: 'GET' | 'PUT'; url: URL; body?: () => Iterable<string> },
  options: RequestOptions,
  deps: HttpDeps,
): Promise<HttpReply> {
  const { method, url, body } = request;
  let attempts = 0;
  const oneAttempt = async (): Promise<HttpReply> => {
    attempts += 1;
    // A streamed body is sent chunked (no content-length) and made anew for each attempt.
    const call = {
      method,
      headers: options.headers,
      ...(body === undefined ? {} : { body: body() }),
    };
    const result = await attempt(url, call, options.timeoutMs, deps);
    if (result.ok) return result.response;
    throw new AttemptFailed(result);
  };
  try {
    return await withRetry(
      oneAttempt,
      (error) => ({
        transient: error instanceof AttemptFailed && error.retry,
        retryAfterMs: undefined,
      }),
      {
        policy: {
          attempts: options.retries + 1,
          baseDelayMs: BACKOFF_BASE_MS,
          maxDelayMs: BACKOFF_MAX_MS,
        },
        sleep: deps.sleep,
        random: NO_JITTER,
        onRetry: (error, attemptNo, delayMs) => {
          deps.log.warn(
            {
              method,
              url: url.href,
              attempt: attemptNo,
              delayMs,
              err: error instanceof Error ? error.message : String(error),
            },
            'pushgateway request failed, retrying',
          );
        },
      },
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PushgatewayError(
      `${method} ${url.href} failed after ${attempts} attempt(s): ${reason}`,
    );
  }
}
