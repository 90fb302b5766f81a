import { RawHttpError } from './raw-request.js';
import { parseRetryAfter, type TransientError } from '../retry.js';
import { isRecord } from '../core/json.js';
import { deadlineOf } from '../deadline.js';

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** A Kubernetes API call that failed after its retries: what was asked, and what came back. */
export class KubeApiError extends Error {
  readonly status: number | undefined;
  /** What went wrong, without the operation: the API server's message, or the network's. */
  readonly detail: string;
  /**
   * No answer came although the request may have reached the server (a timeout, a connection
   * lost in flight): a write may or may not have applied.
   */
  readonly unanswered: boolean;
  constructor(
    operation: string,
    status: number | undefined,
    detail: string,
    options?: { cause: unknown; unanswered?: boolean },
  ) {
    super(`${operation}: ${status === undefined ? '' : `HTTP ${status} `}${detail}`, options);
    this.name = 'KubeApiError';
    this.status = status;
    this.detail = detail;
    this.unanswered = options?.unanswered ?? false;
  }
}

/** The HTTP status of a failed call, or undefined for a network-level failure. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof RawHttpError ? error.status : undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error; isRecord(current); current = current['cause']) {
    // A per-call timeout aborts the request (the run's own stop is handled by the caller).
    if (current['name'] === 'AbortError' || current['name'] === 'TimeoutError') return 'ETIMEDOUT';
    const code = current['code'];
    if (typeof code === 'string') return code;
    if (current['type'] === 'aborted' || current['type'] === 'request-timeout') return 'ETIMEDOUT';
  }
  return undefined;
}

/** Failures in flight, after which a request may have reached the server and been applied. */
const UNANSWERED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);

/**
 * Whether a failed attempt ended without an answer although the server may have acted on it: a
 * deadline, or a connection lost in flight. Not a refused connection: nothing was sent then.
 */
export function unanswered(error: unknown): boolean {
  if (error instanceof RawHttpError) return false;
  const code = networkCode(error);
  return code !== undefined && UNANSWERED_CODES.has(code);
}

export function classifyKubeError(error: unknown, nowMs: number = Date.now()): TransientError {
  if (error instanceof RawHttpError) {
    return {
      transient: TRANSIENT_STATUS.has(error.status),
      retryAfterMs: parseRetryAfter(header(error.headers['retry-after']), nowMs),
    };
  }
  const code = networkCode(error);
  return {
    transient: code !== undefined && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR')),
    retryAfterMs: undefined,
  };
}

/** The API server's own words: the message of a Status body, else the error's message. */
function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string')
    return isRecord(body) && typeof body['message'] === 'string' ? body['message'] : undefined;
  try {
    return statusMessage(JSON.parse(body));
  } catch {
    return body.slice(0, 300);
  }
}

export function messageOf(error: unknown): string {
  const deadline = deadlineOf(error);
  if (deadline !== undefined) return deadline.message;
  if (error instanceof RawHttpError) return statusMessage(error.body) ?? `HTTP ${error.status}`;
  const code = networkCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}
