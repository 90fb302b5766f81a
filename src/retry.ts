/**
 * Bounded retries with exponential backoff and full jitter for calls that may fail transiently:
 * Kubernetes API calls (HTTP 429/5xx, a reset connection, a timeout) and throttled cloud calls.
 * Retry-After from the server wins when present.
 */

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
};

export interface TransientError {
  transient: boolean;
  /** Server-requested wait, from Retry-After. */
  retryAfterMs: number | undefined;
}

export type Sleep = (ms: number) => Promise<void>;

export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A `random` that always takes the whole backoff window: deterministic delays. */
export const NO_JITTER = (): number => 1;

/** Delay before attempt `attempt + 1`: uniform in [0, min(max, base * 2^attempt)) (full jitter). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(window * random());
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * A call's total time, retries and their waits included: once the next attempt could not start
 * before `endsAt`, the last failure stands (client-go's request timeout covers its retries too).
 */
export interface RetryBudget {
  /** Epoch milliseconds. */
  endsAt: number;
  now: () => number;
}

export async function withRetry<T>(
  call: () => Promise<T>,
  classify: (error: unknown) => TransientError,
  options: {
    policy: RetryPolicy;
    sleep: Sleep;
    /** [0, 1], for the jitter; Math.random by default, NO_JITTER for the full window. */
    random?: () => number;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    budget?: RetryBudget;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const { transient, retryAfterMs } = classify(error);
      if (!transient || attempt + 1 >= options.policy.attempts) throw error;
      const delayMs = Math.min(
        options.policy.maxDelayMs * 2,
        retryAfterMs ?? backoffDelay(options.policy, attempt, options.random),
      );
      const { budget } = options;
      if (budget !== undefined && budget.now() + delayMs >= budget.endsAt) throw error;
      options.onRetry?.(error, attempt + 1, delayMs);
      await options.sleep(delayMs);
    }
  }
}
