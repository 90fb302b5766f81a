/**
 * The one error of the Kubernetes client, and how a failed attempt is judged: transient (retried
 * within the call's budget), unanswered (a write is re-read, not re-sent), or final.
 */
import { HttpStatusError } from './transport.js';
import { parseRetryAfter, type TransientError } from '../retry.js';
import { isRecord, parseJson } from '../core/json.js';
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

/**
 * A Kubernetes API call that failed after its retries: what was asked, and what came back. Like
 * client-go's apierrors, callers test the HTTP status and the Status reason, never the message.
 */
export class KubeApiError extends Error {
  /** The HTTP status; undefined when no answer came (network, timeout, stop). */
  readonly status: number | undefined;
  /** The answer's metav1.Status reason (NotFound, Conflict, AlreadyExists, Expired, …). */
  readonly reason: string | undefined;
  /** What went wrong, without the operation: the API server's message, or the network's. */
  readonly detail: string;
  /**
   * No answer came although the request may have reached the server (a timeout, a connection
   * lost in flight): a write may or may not have applied.
   */
  readonly unanswered: boolean;
  constructor(
    operation: string,
    failure: { status?: number | undefined; reason?: string | undefined; detail: string },
    options?: { cause: unknown; unanswered?: boolean },
  ) {
    const { status, detail } = failure;
    super(`${operation}: ${status === undefined ? '' : `HTTP ${status} `}${detail}`, options);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = failure.reason;
    this.detail = detail;
    this.unanswered = options?.unanswered ?? false;
  }
}

/** The HTTP status of a failed attempt, or undefined for a network-level failure. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof HttpStatusError ? error.status : undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error; isRecord(current); current = current['cause']) {
    // A per-call timeout aborts the request (the caller's own stop is handled by the client).
    if (current['name'] === 'AbortError' || current['name'] === 'TimeoutError') return 'ETIMEDOUT';
    const code = current['code'];
    if (typeof code === 'string') return code;
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
  if (error instanceof HttpStatusError) return false;
  const code = networkCode(error);
  return code !== undefined && UNANSWERED_CODES.has(code);
}

export function classifyKubeError(error: unknown, nowMs: number = Date.now()): TransientError {
  if (error instanceof HttpStatusError) {
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

/** The answer's metav1.Status, when its body is one. */
function statusBody(error: HttpStatusError): Record<string, unknown> | undefined {
  const body = parseJson(error.body);
  return body.ok && isRecord(body.value) ? body.value : undefined;
}

/** What a failed attempt says: its status and Status reason, and the API server's own words. */
export function failureOf(error: unknown): { status?: number; reason?: string; detail: string } {
  if (!(error instanceof HttpStatusError)) return { detail: messageOf(error) };
  const body = statusBody(error);
  const reason = body?.['reason'];
  const message = body === undefined ? undefined : messageOfBody(body);
  const text = error.body.trim();
  return {
    status: error.status,
    ...(typeof reason === 'string' && reason !== '' ? { reason } : {}),
    detail:
      message !== undefined
        ? message
        : body === undefined && text !== ''
          ? text.slice(0, 300)
          : `HTTP ${error.status}`,
  };
}

/** A Status's message, or a Prometheus API error's (`{"errorType": …, "error": …}`). */
function messageOfBody(body: Record<string, unknown>): string | undefined {
  const { message, error, errorType } = body;
  if (typeof message === 'string') return message;
  if (typeof error !== 'string') return undefined;
  return typeof errorType === 'string' ? `${errorType}: ${error}` : error;
}

export function messageOf(error: unknown): string {
  const deadline = deadlineOf(error);
  if (deadline !== undefined) return deadline.message;
  if (error instanceof HttpStatusError) return failureOf(error).detail;
  if (error instanceof KubeApiError) return error.detail;
  const code = networkCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}
