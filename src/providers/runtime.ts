/**
 * What each cloud module gets from the gate: options, logger, environment, retry policy and its
 * own circuit breaker, plus `guardedCall`, the one way a module talks to its cloud.
 */
import type { Logger } from 'pino';
import { withRetry, type TransientError } from '../retry.js';
import type { CircuitBreaker, ProviderRetry } from './resilience.js';
import {
  verdictRefused,
  type ProviderName,
  type ProviderOptions,
  type ProviderVerdict,
} from './types.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ProviderRuntime {
  provider: ProviderName;
  options: ProviderOptions;
  log: Logger;
  env: Env;
  retry: ProviderRetry;
  breaker: CircuitBreaker;
}

export interface ErrorClassifier {
  /** Throttling: retried with backoff before it counts as a failure. */
  isRetryable: (error: unknown) => boolean;
  /**
   * Whether the error says the provider is unhealthy (counts towards the breaker), as opposed to a
   * per-volume answer such as "disk not found".
   */
  countsAgainstProvider: (error: unknown) => boolean;
}

export type CallResult<T> =
  { kind: 'ok'; value: T } | { kind: 'circuit-open' } | { kind: 'failed'; error: unknown };

/** The message of anything thrown, for details and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Calls the cloud unless the breaker is open; retries throttling; records the outcome with the
 * breaker. Never throws.
 */
export async function guardedCall<T>(
  rt: ProviderRuntime,
  operation: string,
  fn: () => Promise<T>,
  classify: ErrorClassifier,
): Promise<CallResult<T>> {
  if (rt.breaker.isOpen()) return { kind: 'circuit-open' };
  try {
    const retryable = (error: unknown): TransientError => ({
      transient: classify.isRetryable(error),
      retryAfterMs: undefined,
    });
    const value = await withRetry(fn, retryable, {
      ...rt.retry,
      onRetry: (error, attempt, delayMs) => {
        rt.log.warn(
          { provider: rt.provider, operation, attempt, delayMs, err: errorMessage(error) },
          'provider call throttled, retrying',
        );
      },
    });
    rt.breaker.recordSuccess();
    return { kind: 'ok', value };
  } catch (error: unknown) {
    if (classify.countsAgainstProvider(error)) {
      const opened = rt.breaker.recordFailure();
      if (opened) {
        rt.log.warn(
          { provider: rt.provider, threshold: rt.options.breakerThreshold },
          'provider circuit opened',
        );
      }
    } else {
      rt.breaker.recordSuccess();
    }
    rt.log.warn(
      { provider: rt.provider, operation, err: errorMessage(error) },
      'provider call failed',
    );
    return { kind: 'failed', error };
  }
}

export function circuitOpenVerdict(rt: ProviderRuntime): ProviderVerdict {
  return verdictRefused(
    rt.provider,
    'provider-circuit-open',
    `${rt.provider}: ${rt.options.breakerThreshold} consecutive provider errors this run; not called again until the next run`,
  );
}
