/**
 * Retry settings for throttled cloud calls, and a per-provider circuit breaker for the run.
 * Timers and randomness are injected so tests run without waiting.
 */
import type { RetryPolicy, Sleep } from '../retry.js';

/** How a provider retries a throttled call: the shared retry loop (src/retry.ts) and its inputs. */
export interface ProviderRetry {
  policy: RetryPolicy;
  sleep: Sleep;
  /** [0, 1), for jitter. */
  random: () => number;
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
