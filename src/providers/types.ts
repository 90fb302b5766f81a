/**
 * The provider gate's vocabulary. The gate runs between decide and apply: the core has chosen a
 * size, and the cloud behind the volume gets a say before the PVC is patched.
 */
import type { ExpansionRecord } from '../core/history.js';
import type { ExpansionCandidate, KubeReader, ProviderGate, ProviderVerdict } from '../ports.js';

export type ProviderName = 'aws' | 'gcp' | 'azure' | 'topolvm' | 'longhorn' | 'generic';

/** One expansion entry from the `pvc-chonker.io/expansion-history` annotation, parsed by the core. */
export type HistoryEntry = ExpansionRecord;

// The gate's contract lives with the other ports; re-exported here for the provider modules.
export type { ExpansionCandidate, KubeReader, ProviderGate, ProviderVerdict };

export type ProviderRefusal = Extract<ProviderVerdict, { ok: false }>['reason'];

/**
 * Which EBS modification rate rule to enforce. AWS documents two:
 * - legacy: at least 6 hours between modifications of one volume (older ModifyVolume reference);
 * - current: the previous modification completed, and at most 4 per volume in a rolling 24 h;
 * - strict (default): both at once.
 */
export type AwsModificationRule = 'strict' | 'current' | 'legacy';

export interface ProviderOptions {
  provider: 'auto' | ProviderName;
  /** Compute API endpoint override (an emulator or a private endpoint); undefined: googleapis.com. */
  gcpEndpoint: string | undefined;
  awsModificationRule: AwsModificationRule;
  /** Consecutive failed cloud calls after which a provider is not called again this run. */
  breakerThreshold: number;
  /** Retries of a throttled cloud call (RequestLimitExceeded, HTTP 429/503) after the first try. */
  maxRetries: number;
  /** First backoff delay in milliseconds; doubles per retry, full jitter, capped at 20 s. */
  retryBaseDelayMs: number;
  /** Bytes kept free on every TopoLVM node and Longhorn disk (--onprem-reserve); 0: none. */
  onpremReserveBytes: bigint;
  /** Where Longhorn's custom resources live (--longhorn-namespace). */
  longhornNamespace: string;
}

export function verdictOk(provider: string, toBytes: bigint, warnings: string[]): ProviderVerdict {
  return { ok: true, provider, toBytes, warnings };
}

export function verdictRefused(
  provider: string,
  reason: ProviderRefusal,
  detail: string,
  retryAt?: Date,
): ProviderVerdict {
  return { ok: false, provider, reason, detail, retryAt };
}
