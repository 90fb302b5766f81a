/**
 * How the on-premises providers read the Kubernetes API: through the pass's own client (which
 * already retries and time-limits each call), each list guarded by the provider's circuit breaker.
 */
import { KubeApiError } from '../kube/errors.js';
import {
  circuitOpenVerdict,
  errorMessage,
  guardedCall,
  type ErrorClassifier,
  type ProviderRuntime,
} from './runtime.js';
import { verdictRefused, type KubeReader, type ProviderVerdict } from './types.js';

/** The client retries transient errors itself; every failure that reaches here counts. */
const kubeReadErrors: ErrorClassifier = {
  isRetryable: () => false,
  countsAgainstProvider: () => true,
};

export interface ListCall {
  /** For logs and details, e.g. "list nodes.longhorn.io". */
  operation: string;
  path: string;
  query: Readonly<Record<string, string>>;
  /** What a 403 needs, e.g. "list on nodes.longhorn.io". */
  grant: string;
  /** What a 404 means for this list, e.g. that the CRD is not installed. */
  notFound?: string;
}

/** A list's items, or the verdict every volume that needed it gets. */
export type ListOutcome = { ok: true; items: unknown[] } | { ok: false; verdict: ProviderVerdict };

function failureDetail(call: ListCall, error: unknown): string {
  const status = error instanceof KubeApiError ? error.status : undefined;
  const message = `${call.operation} failed: ${errorMessage(error)}`;
  if (status === 403) return `${message} (grant ${call.grant})`;
  if (status === 404 && call.notFound !== undefined) return `${message} (${call.notFound})`;
  return message;
}

export async function guardedList(
  rt: ProviderRuntime,
  kube: KubeReader,
  call: ListCall,
): Promise<ListOutcome> {
  const result = await guardedCall(
    rt,
    call.operation,
    () => kube.list(call.operation, call.path, call.query),
    kubeReadErrors,
  );
  switch (result.kind) {
    case 'ok':
      return { ok: true, items: result.value };
    case 'circuit-open':
      return { ok: false, verdict: circuitOpenVerdict(rt) };
    case 'failed':
      return {
        ok: false,
        verdict: verdictRefused(rt.provider, 'provider-error', failureDetail(call, result.error)),
      };
  }
}

/** Splits a list of values into chunks, e.g. for label selectors of bounded length. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
