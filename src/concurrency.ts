/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** At most `limit` tasks run at once; the rest wait in the order they came. */
export interface Limiter {
  run<R>(task: () => Promise<R>): Promise<R>;
}

export function createLimiter(limit: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active--;
    else next();
  };
  return {
    async run(task) {
      if (active < Math.max(1, limit)) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

/**
 * Items pushed in are handed to `work` in batches, one batch at a time: what arrives while a
 * batch is worked on goes together in the next. Small batches while the work is quick, large
 * ones while it is slow (a cloud provider's check), without a timer.
 */
export interface Batcher<T> {
  push(items: readonly T[]): void;
  /** Resolves once everything pushed so far has been worked on; rejects with work's error. */
  drain(): Promise<void>;
}

export function createBatcher<T>(work: (batch: T[]) => Promise<void>): Batcher<T> {
  let queued: T[] = [];
  let running: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const next = (): void => {
    if (running !== undefined || queued.length === 0 || failure !== undefined) return;
    const batch = queued;
    queued = [];
    running = work(batch).then(
      () => {
        running = undefined;
        next();
      },
      (error: unknown) => {
        running = undefined;
        failure = { error };
      },
    );
  };
  return {
    push(items) {
      if (items.length === 0) return;
      for (const item of items) queued.push(item);
      next();
    },
    async drain() {
      while (running !== undefined) await running;
      if (failure !== undefined) throw failure.error;
    },
  };
}
