import { describe, expect, it } from 'vitest';
import { DeadlineError, timedOut, withDeadline } from '../../src/deadline.js';

function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => {
      reject(new Error('aborted', { cause: signal.reason }));
    });
  });
}

describe('withDeadline', () => {
  it('aborts a hung call with a DeadlineError once the time is up', async () => {
    const stop = new AbortController();

    const error: unknown = await withDeadline(20, stop.signal, hang).catch((e: unknown) => e);

    expect(timedOut(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(DeadlineError);
    expect(String((error as Error).cause)).toBe('TimeoutError: timed out after 20 ms');
  });

  it("aborts with the stop's reason when the run stops first, and that is not a timeout", async () => {
    const stop = new AbortController();
    const reason = new Error('stopped');
    setTimeout(() => {
      stop.abort(reason);
    }, 5);

    const error: unknown = await withDeadline(10_000, stop.signal, hang).catch((e: unknown) => e);

    expect((error as Error).cause).toBe(reason);
    expect(timedOut(error)).toBe(false);
  });

  it('starts aborted when the run has already stopped', async () => {
    const stop = new AbortController();
    stop.abort();
    let seen: boolean | undefined;

    await withDeadline(10_000, stop.signal, (signal) => {
      seen = signal.aborted;
      return Promise.resolve();
    });

    expect(seen).toBe(true);
  });

  it('clears its timer and its stop listener when the call ends', async () => {
    const stop = new AbortController();
    let inner: AbortSignal | undefined;

    const value = await withDeadline(30, stop.signal, (signal) => {
      inner = signal;
      return Promise.resolve(42);
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    stop.abort();

    expect(value).toBe(42);
    expect(inner?.aborted).toBe(false);
  });
});
