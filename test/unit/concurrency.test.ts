import { describe, expect, it } from 'vitest';
import { createBatcher, createLimiter } from '../../src/concurrency.js';

/** A promise and its resolve, to finish a task when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('createLimiter', () => {
  it('runs at most `limit` tasks at once, the rest in the order they came', async () => {
    const limiter = createLimiter(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const done = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await turns();
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await turns();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = createLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await limiter.run(() => Promise.resolve('next'))).toBe('next');
  });
});

describe('createBatcher', () => {
  it('works one batch at a time; what arrives meanwhile goes in the next, together', async () => {
    const batches: number[][] = [];
    const first = gate();
    const batcher = createBatcher<number>(async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await first.promise;
    });
    batcher.push([1]);
    batcher.push([2, 3]);
    batcher.push([]);
    batcher.push([4]);
    await turns();
    expect(batches).toEqual([[1]]);
    first.open();
    await batcher.drain();
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('drain rejects with the error of a batch, and nothing more is worked on', async () => {
    const batches: number[][] = [];
    const batcher = createBatcher<number>((batch) => {
      batches.push(batch);
      return Promise.reject(new Error('cloud down'));
    });
    batcher.push([1]);
    await expect(batcher.drain()).rejects.toThrow('cloud down');
    batcher.push([2]);
    await expect(batcher.drain()).rejects.toThrow('cloud down');
    expect(batches).toEqual([[1]]);
  });
});
