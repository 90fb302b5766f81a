import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  createCircuitBreaker,
  withRetry,
  type RetryPolicy,
} from '../../src/providers/resilience.js';

function policy(over: Partial<RetryPolicy> = {}): RetryPolicy & { slept: number[] } {
  const slept: number[] = [];
  return {
    maxRetries: 3,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    slept,
    ...over,
  };
}

describe('backoffDelayMs', () => {
  it.each([
    [0, 50],
    [1, 100],
    [2, 200],
    [5, 500],
  ])('attempt %i → %i ms with jitter 0.5', (attempt, expected) => {
    expect(backoffDelayMs(attempt, policy())).toBe(expected);
  });
});

describe('withRetry', () => {
  it('retries retryable errors, then succeeds', async () => {
    const p = policy();
    let calls = 0;

    const value = await withRetry(
      () => (++calls < 3 ? Promise.reject(new Error('throttled')) : Promise.resolve('ok')),
      () => true,
      p,
      () => undefined,
    );

    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(p.slept).toEqual([50, 100]);
  });

  it('gives up after maxRetries', async () => {
    const p = policy({ maxRetries: 2 });
    let calls = 0;

    await expect(
      withRetry(
        () => Promise.reject(new Error(`fail ${++calls}`)),
        () => true,
        p,
        () => undefined,
      ),
    ).rejects.toThrow('fail 3');
  });

  it('does not retry other errors', async () => {
    const p = policy();
    let calls = 0;

    await expect(
      withRetry(
        () => Promise.reject(new Error(`fail ${++calls}`)),
        () => false,
        p,
        () => undefined,
      ),
    ).rejects.toThrow('fail 1');
    expect(p.slept).toEqual([]);
  });
});

describe('createCircuitBreaker', () => {
  it('opens after N consecutive failures and stays open', () => {
    const breaker = createCircuitBreaker(2);

    expect(breaker.recordFailure()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.recordFailure()).toBe(false);
    expect(breaker.recordFailure()).toBe(true);
    breaker.recordSuccess();

    expect(breaker.isOpen()).toBe(true);
    expect(breaker.recordFailure()).toBe(false);
  });
});
