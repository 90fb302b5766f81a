import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import {
  pathWithQuery,
  requestTarget,
  type ApiConnection,
  type RequestCredentials,
} from './api-connection.js';
import type { ConnectionPool } from './keep-alive.js';
import { DeadlineError } from '../deadline.js';

/**
 * Every Kubernetes request of a pass is sent here, with the kubeconfig's credentials and the run's
 * keep-alive pool, and answered as parsed JSON. client-node's generated API is not used for them:
 * its model (de)serialiser and node-fetch layers were the largest CPU cost of a 10,000-PVC pass,
 * and the core reads only plain fields, which JSON.parse gives as they are. The node proxy needs
 * it too: connectGetNodeProxyWithPath encodes the slash of "stats/summary" as %2F.
 */
export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  query?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  /** Of the body; application/json unless a patch type is named. */
  contentType?: string;
}

/** How long a call may take and what abandons it: the same for every call of one user. */
export interface CallLimits {
  /**
   * The call's deadline, credentials included: once it has passed, the call is destroyed with an
   * AbortError whose cause is a DeadlineError. The request itself is destroyed, not only
   * signalled, so a half-open connection (which never errors by itself) ends with it too.
   */
  deadlineMs: number;
  /**
   * When the deadline started (epoch ms), if before this attempt: a retry spends what is left of
   * its call's budget, and a timeout names the whole budget.
   */
  startedAt?: number;
  /** The run's stop: when it aborts, the call is destroyed with an AbortError caused by its reason. */
  stop: AbortSignal;
}

export type RawClient = (request: RawRequest, limits: CallLimits) => Promise<unknown>;

/** A non-2xx answer: the status, the headers (Retry-After) and the body (a Status object). */
export class RawHttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  constructor(status: number, headers: RawHttpError['headers'], body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
    this.name = 'RawHttpError';
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * Credentials are applied at most every few seconds, not per request: a token file would
 * otherwise be read thousands of times a pass. A 401 sent with cached credentials is tried once
 * more with fresh ones, in case the token had just been rotated.
 */
const CREDENTIALS_TTL_MS = 5_000;

/** Where a client's requests go, and how a call starts again (with fresh credentials). */
interface Target {
  transport: typeof http | typeof https;
  basePath: string;
  start: (call: Call, fresh: boolean) => void;
}

/** What every request sent with one set of credentials shares, built once per set. */
interface Prepared {
  /** The GET headers; a request with a body adds its own to a copy. */
  headers: OutgoingHttpHeaders;
  options: https.RequestOptions;
}

/**
 * How often the deadlines of the calls in flight are checked: a deadline ends its call up to this
 * late. One held interval per client, running only while calls are in flight, replaces a timer,
 * an AbortController and two abort listeners per call (a visible share of a 10,000-PVC pass's
 * CPU). It is a plain interval held here, so no garbage collection can drop it (unlike Node 20's
 * AbortSignal.timeout inside AbortSignal.any, nodejs/node#57736).
 */
const SWEEP_MS = 100;

export function createRawClient(connection: ApiConnection, pool: ConnectionPool): RawClient {
  const { protocol, hostname, port, basePath } = requestTarget(connection.server);
  let cached: { at: number; applying: Promise<Prepared>; ready?: Prepared } | undefined;

  const prepare = (applied: RequestCredentials): Prepared => {
    const options: https.RequestOptions = { ...applied.tls, protocol, hostname, port };
    options.agent = pool.forRequest(options);
    return { headers: { ...applied.headers, Accept: 'application/json' }, options };
  };

  /** The current credentials, without waiting when they are cached and applied. */
  const credentials = (fresh: boolean): Prepared | Promise<Prepared> => {
    const now = Date.now();
    if (!fresh && cached !== undefined && now - cached.at <= CREDENTIALS_TTL_MS)
      return cached.ready ?? cached.applying;
    const entry: NonNullable<typeof cached> = {
      at: now,
      applying: connection.credentials().then(prepare),
    };
    cached = entry;
    entry.applying.then(
      (ready) => {
        entry.ready = ready;
      },
      () => {
        if (cached === entry) cached = undefined;
      },
    );
    return entry.applying;
  };

  const calls = new InFlight();

  const target: Target = {
    transport: protocol === 'https:' ? https : http,
    basePath,
    start: (call, fresh) => {
      start(call, fresh);
    },
  };
  const start = (call: Call, fresh: boolean): void => {
    const prepared = credentials(fresh);
    if (prepared instanceof Promise) {
      prepared.then(
        (ready) => {
          if (!call.done) exchange(target, ready, call, fresh);
        },
        (error: unknown) => {
          call.end(error);
        },
      );
    } else {
      exchange(target, prepared, call, fresh);
    }
  };

  return (request, limits) =>
    new Promise((resolve, reject) => {
      const call = new Call(request, limits, calls, { resolve, reject });
      if (limits.stop.aborted) {
        call.end(abortError(limits.stop.reason));
        return;
      }
      calls.add(call);
      start(call, false);
    });
}

interface Settle {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One call from its start to its answer, its deadline or the run's stop, whichever is first. */
class Call {
  readonly request: RawRequest;
  readonly limits: CallLimits;
  readonly expiresAt: number;
  outgoing: http.ClientRequest | undefined;
  done = false;
  private readonly calls: InFlight;
  private readonly settle: Settle;

  constructor(request: RawRequest, limits: CallLimits, calls: InFlight, settle: Settle) {
    this.request = request;
    this.limits = limits;
    this.calls = calls;
    this.settle = settle;
    this.expiresAt = (limits.startedAt ?? Date.now()) + limits.deadlineMs;
  }

  succeed(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.calls.delete(this);
    this.settle.resolve(value);
  }

  /** Ends the call with `error`, destroying its request if one is out. */
  end(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.calls.delete(this);
    this.outgoing?.destroy(error instanceof Error ? error : undefined);
    this.settle.reject(error);
  }
}

/** The calls in flight of one client, their deadline sweeper and the stop signals they watch. */
class InFlight {
  private readonly calls = new Set<Call>();
  private sweeper: NodeJS.Timeout | undefined;
  /** One listener per stop signal for the client's life, not one per call. */
  private readonly watched = new WeakSet<AbortSignal>();

  add(call: Call): void {
    const { stop } = call.limits;
    if (!this.watched.has(stop)) {
      this.watched.add(stop);
      stop.addEventListener(
        'abort',
        () => {
          for (const each of this.calls)
            if (each.limits.stop === stop) each.end(abortError(stop.reason));
        },
        { once: true },
      );
    }
    this.calls.add(call);
    this.sweeper ??= setInterval(() => {
      this.sweep();
    }, SWEEP_MS);
  }

  delete(call: Call): void {
    this.calls.delete(call);
    // Nothing in flight: nothing to watch, and nothing to keep the process up.
    if (this.calls.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const call of this.calls) {
      if (now >= call.expiresAt) call.end(abortError(new DeadlineError(call.limits.deadlineMs)));
    }
  }
}

/** What node:http throws for an aborted request: an AbortError whose cause is the reason. */
function abortError(reason: unknown): Error {
  const error = new Error('The operation was aborted', { cause: reason });
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR' });
}

/**
 * One request of a call and its JSON answer; a non-2xx answer is a RawHttpError. A 401 sent with
 * cached credentials starts the call again with fresh ones.
 */
function exchange(target: Target, prepared: Prepared, call: Call, fresh: boolean): void {
  const { request } = call;
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  let headers = prepared.headers;
  if (payload !== undefined) {
    headers = {
      ...headers,
      'Content-Type': request.contentType ?? 'application/json',
      'Content-Length': Buffer.byteLength(payload),
    };
  }
  const options: https.RequestOptions = {
    ...prepared.options,
    method: request.method,
    path: pathWithQuery(target.basePath, request.path, request.query),
    headers,
  };
  const outgoing = target.transport.request(options, (response) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('error', (error) => {
      call.end(error);
    });
    response.on('end', () => {
      if (call.done) return;
      // Answered: nothing to destroy from here on (the socket goes back to the pool).
      call.outgoing = undefined;
      const text = Buffer.concat(chunks).toString('utf8');
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        if (status === 401 && !fresh) {
          target.start(call, true);
          return;
        }
        call.end(new RawHttpError(status, response.headers, text));
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        call.end(new Error(`${request.method} ${request.path}: the response is not JSON`));
        return;
      }
      call.succeed(value);
    });
  });
  call.outgoing = outgoing;
  outgoing.on('error', (error) => {
    call.end(error);
  });
  outgoing.end(payload);
}
