/**
 * Retry with backoff for throttled cloud calls, and a per-provider circuit breaker for the run.
 * Timers and randomness are injected so tests run without waiting.
 */

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** [0, 1), for jitter. */
  random: () => number;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^attempt)). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(policy.random() * ceiling);
}

/**
 * Calls `fn`, retrying while `isRetryable(error)` holds, at most `maxRetries` times. The last
 * error is rethrown; `onRetry` sees each retried error (for logs).
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  policy: RetryPolicy,
  onRetry: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error: unknown) {
      if (attempt >= policy.maxRetries || !isRetryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, policy);
      onRetry(error, attempt + 1, delayMs);
      await policy.sleep(delayMs);
    }
  }
}

/**
 * Counts consecutive failed calls to one provider. Once `threshold` is reached the breaker stays
 * open for the rest of the run (a batch CLI has no half-open state: the next run starts closed).
 */
export interface CircuitBreaker {
  readonly isOpen: () => boolean;
  readonly recordSuccess: () => void;
  /** Returns true when this failure opened the breaker. */
  readonly recordFailure: () => boolean;
}

export function createCircuitBreaker(threshold: number): CircuitBreaker {
  let consecutive = 0;
  let open = false;
  return {
    isOpen: () => open,
    recordSuccess: () => {
      if (!open) consecutive = 0;
    },
    recordFailure: () => {
      consecutive++;
      if (open || consecutive < threshold) return false;
      open = true;
      return true;
    },
  };
}
