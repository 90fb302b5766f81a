/**
 * The two Pushgateway calls a run makes: read the group back (GET /api/v1/metrics) and replace
 * it (PUT /metrics/job/<job>/cluster/<cluster>). Each attempt has a timeout; network errors,
 * timeouts, 429 and 5xx are retried a bounded number of times with a short backoff.
 */
import type { Logger } from 'pino';
import { NO_JITTER, withRetry } from '../retry.js';
import type { PushAuth, SecretSource } from './config.js';

export interface HttpDeps {
  fetch: typeof fetch;
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

export function apiMetricsUrl(base: URL): URL {
  return new URL('api/v1/metrics', withSlash(base));
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

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'timed out';
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}

type Attempt = { ok: true; response: Response } | { ok: false; retry: boolean; message: string };

async function attempt(
  url: URL,
  init: RequestInit,
  timeoutMs: number,
  deps: HttpDeps,
): Promise<Attempt> {
  try {
    const response = await deps.fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
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
  request: { method: 'GET' | 'PUT'; url: URL; body?: string },
  options: RequestOptions,
  deps: HttpDeps,
): Promise<Response> {
  const { method, url, body } = request;
  const init: RequestInit = {
    method,
    headers: options.headers,
    ...(body === undefined ? {} : { body }),
  };
  let attempts = 0;
  const once = async (): Promise<Response> => {
    attempts += 1;
    const result = await attempt(url, init, options.timeoutMs, deps);
    if (result.ok) return result.response;
    throw new AttemptFailed(result);
  };
  try {
    return await withRetry(
      once,
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
