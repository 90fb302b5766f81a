/**
 * Why a stats request failed, as one reason word (core/outcome.ts, StatsErrorReason) and a
 * sentence for the PVC's detail. One classifier for the three sources, so the metric's reason
 * label means the same whichever source failed.
 */
import type { StatsErrorReason } from '../core/outcome.js';
import { isRecord } from '../core/json.js';
import { deadlineOf } from '../deadline.js';
import { KubeApiError } from '../kube/errors.js';
import { NOT_JSON, TOO_LARGE } from '../kube/transport.js';

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
  if (code === NOT_JSON || code === TOO_LARGE) return 'bad-response';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  return isTlsCode(code) ? 'tls' : 'unreachable';
}

/** A failed request's reason word; the run's own stop is the caller's to tell apart. */
export function reasonOf(error: unknown): StatsErrorReason {
  if (error instanceof StatsSourceError) return error.reason;
  const deadline = deadlineOf(error);
  // No connection by the deadline: out of reach (the proxy may do better), not a slow answer.
  if (deadline !== undefined) return deadline.connecting ? 'unreachable' : 'timeout';
  if (error instanceof KubeApiError)
    return error.status === undefined ? reasonOf(error.cause) : reasonOfStatus(error.status);
  return reasonOfCode(codeOf(error));
}

/**
 * A failed call to a kubelet or Prometheus in words: its status and the answer's own words, or
 * what happened on the way (no connection, a timeout, a TLS failure).
 */
export function describeCall(error: unknown, stop: AbortSignal): string {
  if (error instanceof KubeApiError && error.status !== undefined)
    return `HTTP ${error.status}: ${error.detail}`;
  if (error instanceof KubeApiError && deadlineOf(error) === undefined && !stop.aborted)
    return error.detail;
  return describeFailure(error, stop);
}

/** The failure in words, for a PVC's detail and the log. */
export function describeFailure(error: unknown, stop: AbortSignal): string {
  const deadline = deadlineOf(error);
  if (deadline !== undefined)
    return deadline.connecting ? `no connection within ${deadline.ms} ms` : 'timed out';
  if (stop.aborted) return 'aborted: the run was stopped';
  if (error instanceof StatsSourceError || error instanceof KubeApiError) return error.message;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}
