import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, withRetry, type RetryPolicy } from '../../src/retry.js';

/** The retry loop's inputs with a recording sleep and a fixed jitter of 0.5. */
function policy(maxRetries = 3) {
  const slept: number[] = [];
  const retryPolicy: RetryPolicy = { attempts: maxRetries + 1, baseDelayMs: 100, maxDelayMs: 1000 };
  return {
    policy: retryPolicy,
    sleep: (ms: number) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    slept,
  };
}

const always = () => ({ transient: true, retryAfterMs: undefined });
const never = () => ({ transient: false, retryAfterMs: undefined });

describe('backoffDelay', () => {
  it.each([
    [0, 50],
    [1, 100],
    [2, 200],
    [5, 500],
  ])('attempt %i → %i ms with jitter 0.5', (attempt, expected) => {
    const p = policy();

    expect(backoffDelay(p.policy, attempt, p.random)).toBe(expected);
  });
});

describe('withRetry', () => {
  it('retries retryable errors, then succeeds', async () => {
    const p = policy();
    let calls = 0;

    const value = await withRetry(
      () => (++calls < 3 ? Promise.reject(new Error('throttled')) : Promise.resolve('ok')),
      always,
      p,
    );

    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(p.slept).toEqual([50, 100]);
  });

  it('gives up after maxRetries', async () => {
    const p = policy(2);
    let calls = 0;

    await expect(
      withRetry(() => Promise.reject(new Error(`fail ${++calls}`)), always, p),
    ).rejects.toThrow('fail 3');
  });

  it('does not retry other errors', async () => {
    const p = policy();
    let calls = 0;

    await expect(
      withRetry(() => Promise.reject(new Error(`fail ${++calls}`)), never, p),
    ).rejects.toThrow('fail 1');
    expect(p.slept).toEqual([]);
  });
});

describe('withRetry within a budget', () => {
  it.each([
    // now after the failure, budget end → attempts made
    ['a failure with time left is retried', 0, 1_000, 4],
    ['no retry whose wait would end past the budget', 960, 1_000, 1],
  ])('%s', async (_case, now, endsAt, attempts) => {
    const p = policy();
    let calls = 0;

    await expect(
      withRetry(() => Promise.reject(new Error(`fail ${++calls}`)), always, {
        ...p,
        budget: { endsAt, now: () => now },
      }),
    ).rejects.toThrow(`fail ${attempts}`);
    expect(calls).toBe(attempts);
  });
});

describe('Retry-After', () => {
  it('wins over the backoff', async () => {
    const p = policy();
    let calls = 0;

    await withRetry(
      () => (++calls < 2 ? Promise.reject(new Error('429')) : Promise.resolve('ok')),
      () => ({ transient: true, retryAfterMs: 700 }),
      p,
    );

    expect(p.slept).toEqual([700]);
  });

  it.each([
    ['2', 2000],
    ['0', 0],
    ['Thu, 26 Nov 2026 12:00:03 GMT', 3000],
    ['soon', undefined],
    [undefined, undefined],
  ])('%j is %j ms', (header, ms) => {
    expect(parseRetryAfter(header, Date.parse('2026-11-26T12:00:00Z'))).toBe(ms);
  });
});
