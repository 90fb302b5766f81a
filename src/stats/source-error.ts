/**
 * Why a stats request failed, as one reason word (core/outcome.ts, StatsErrorReason) and a
 * sentence for the PVC's detail. One classifier for the three sources, so the metric's reason
 * label means the same whichever source failed.
 */
import type { StatsErrorReason } from '../core/outcome.js';
import { isRecord } from '../core/json.js';
import { deadlineOf } from '../deadline.js';
import { KubeApiError, messageOf } from '../kube/errors.js';
import { RawHttpError } from '../kube/raw-request.js';
import { BodyTooLargeError, ConnectTimeoutError } from './http-request.js';

/** A failure of a source that is already classified (an HTTP status, a bad body, no address). */
export class StatsSourceError extends Error {
  readonly reason: StatsErrorReason;
  constructor(reason: StatsErrorReason, message: string) {
    super(message);
    this.name = 'StatsSourceError';
    this.reason = reason;
  }
}

/** The reason word of an HTTP status that is not a success. */
export function reasonOfStatus(status: number): StatsErrorReason {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  return 'http-error';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

/** OpenSSL's verification failures, and Node's own (a certificate for another name). */
function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code.includes('SELF_SIGNED') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'EPROTO'
  );
}

/** The first `code` in the error or its causes (an aborted request wraps the reason). */
function codeOf(error: unknown): string | undefined {
  for (let current: unknown = error; isRecord(current); current = current['cause']) {
    const code = current['code'];
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
  }
  return undefined;
}

function reasonOfCode(code: string | undefined): StatsErrorReason {
  if (code === undefined) return 'unreachable';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  return isTlsCode(code) ? 'tls' : 'unreachable';
}

/** A failed request's reason word; the run's own stop is the caller's to tell apart. */
export function reasonOf(error: unknown): StatsErrorReason {
  if (error instanceof StatsSourceError) return error.reason;
  if (deadlineOf(error) !== undefined) return 'timeout';
  if (error instanceof RawHttpError) return reasonOfStatus(error.status);
  if (error instanceof KubeApiError)
    return error.status === undefined ? reasonOf(error.cause) : reasonOfStatus(error.status);
  if (error instanceof BodyTooLargeError) return 'bad-response';
  return reasonOfCode(codeOf(error));
}

/** The failure in words, for a PVC's detail and the log. */
export function describeFailure(error: unknown, stop: AbortSignal): string {
  if (deadlineOf(error) !== undefined) return 'timed out';
  if (stop.aborted) return 'aborted: the run was stopped';
  if (error instanceof StatsSourceError || error instanceof KubeApiError) return error.message;
  if (error instanceof ConnectTimeoutError) return error.message;
  if (error instanceof RawHttpError) return `HTTP ${error.status}: ${messageOf(error)}`;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}
