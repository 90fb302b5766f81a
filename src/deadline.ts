/**
 * One call's deadline joined with the run's stop signal. Node 20's
 * `AbortSignal.any([AbortSignal.timeout(ms), stop])` holds the timeout signal only weakly, so a
 * garbage collection during a hung request can drop it and the call never ends
 * (nodejs/node#57736). Here the timer is a plain `setTimeout` handle held until the call ends,
 * then cleared, so neither a hung call nor a finished one leaves anything behind.
 */

/** The reason a deadline aborts with: named like the DOM's TimeoutError, which callers test for. */
export class DeadlineError extends Error {
  readonly ms: number;
  /**
   * The deadline passed before the connection (TCP and TLS) was made: the address is out of
   * reach (a firewall or network policy that drops packets), not a server slow to answer.
   */
  readonly connecting: boolean;
  constructor(ms: number, connecting = false) {
    super(`timed out after ${ms} ms`);
    this.name = 'TimeoutError';
    this.ms = ms;
    this.connecting = connecting;
  }
}

/**
 * Runs `call` with a signal that aborts after `timeoutMs` (reason: a DeadlineError) or when `stop`
 * aborts (reason: stop's), whichever comes first.
 */
export async function withDeadline<T>(
  timeoutMs: number,
  stop: AbortSignal,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { controller, release } = following(stop);
  const timer = setTimeout(() => {
    controller.abort(new DeadlineError(timeoutMs));
  }, timeoutMs);
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
    release();
  }
}

/**
 * A controller that aborts when `stop` does (with stop's reason) until it is released; its owner
 * may abort it for reasons of its own. Release it once its call has ended, so `stop` (the run's,
 * alive for the whole pass) does not keep a listener per call.
 */
export function following(stop: AbortSignal): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  if (stop.aborted) controller.abort(stop.reason);
  const onStop = (): void => {
    controller.abort(stop.reason);
  };
  stop.addEventListener('abort', onStop, { once: true });
  return {
    controller,
    release: () => {
      stop.removeEventListener('abort', onStop);
    },
  };
}

/** The deadline that ended a call, found in `error` or its causes (an aborted request wraps it). */
export function deadlineOf(error: unknown): DeadlineError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof DeadlineError) return current;
  }
  return undefined;
}

export function timedOut(error: unknown): boolean {
  return deadlineOf(error) !== undefined;
}
