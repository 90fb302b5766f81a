import { describe, expect, it } from 'vitest';
import { createCircuitBreaker } from '../../src/providers/resilience.js';

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
