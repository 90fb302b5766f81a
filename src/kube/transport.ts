import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  pathWithQuery,
  requestTarget,
  type ApiConnection,
  type RequestCredentials,
} from './api-connection.js';
import type { ConnectionPool } from './keep-alive.js';
import { DeadlineError } from '../deadline.js';
import { parseJson } from '../core/json.js';
import { decodeStatus, isProtobuf } from './protobuf.js';

/**
 * The wire under the one Kubernetes client (client.ts): every request of the pass, the webhook
 * and the stats sources goes out here, with the kubeconfig's credentials and one keep-alive pool,
 * and is answered as parsed JSON, as bytes for the caller to decode (a list page asked for as
 * protobuf), or streamed line by line for a watch. A kubelet read directly and Prometheus are
 * other servers of the same transport (a connection of their own: address, TLS trust, headers),
 * so their calls share its deadline and error model. client-node's generated API is not used for
 * them: its model (de)serialiser and node-fetch layers were the largest CPU cost of a 10,000-PVC
 * pass, and the core reads only plain fields, which JSON.parse gives as they are. The node proxy
 * needs it too: connectGetNodeProxyWithPath encodes the slash of "stats/summary" as %2F.
 */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is instead of `body` (a Prometheus query's form), with `contentType`. */
  text?: string;
  /** Of the body; application/json unless a patch type is named. */
  contentType?: string;
  /**
   * The Accept header (application/json when not given). With it the answer is a BytesAnswer,
   * whose Content-Type tells the caller how to decode it (a list read as protobuf).
   */
  accept?: string;
}

/** A 2xx answer to a request that named its Accept: the body as sent, and its Content-Type. */
export interface BytesAnswer {
  contentType: string;
  bytes: Buffer;
}

/** How long one attempt may take and what abandons it. */
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
  /** The caller's stop: when it aborts, the call is destroyed with an AbortError caused by its reason. */
  stop: AbortSignal;
}

export interface Transport {
  /**
   * One attempt, answered as parsed JSON (a BytesAnswer when the request names its Accept); a
   * non-2xx answer rejects with an HttpStatusError.
   */
  send(request: KubeRequest, limits: CallLimits): Promise<unknown>;
  /**
   * One attempt of a streamed GET (a watch): `onEvent` gets each JSON line as it comes; resolves
   * when the server ends the stream. The deadline covers the whole stream.
   */
  stream(
    request: KubeRequest,
    limits: CallLimits,
    onEvent: (event: unknown) => void,
  ): Promise<void>;
}

/**
 * A non-2xx answer: the status, the headers (Retry-After) and the body (a Status object). The
 * client (client.ts) turns it into a KubeApiError; nothing past src/kube sees it.
 */
export class HttpStatusError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  constructor(status: number, headers: HttpStatusError['headers'], body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * Credentials are applied at most every few seconds, not per request: a token file would
 * otherwise be read thousands of times a pass. A 401 sent with cached credentials is tried once
 * more with fresh ones, in case the token had just been rotated; not when the fresh ones are the
 * same (a kubelet or Prometheus that refuses the token would be asked twice for each call).
 */
const CREDENTIALS_TTL_MS = 5_000;

/** Where a client's requests go, and how a call refused with cached credentials starts again. */
interface Target {
  transport: typeof http | typeof https;
  basePath: string;
  maxAnswerBytes: number;
  /** After a 401 sent with `used`: again with fresh credentials, or `refused` if they are the same. */
  reauthenticate: (call: Call, used: Prepared, refused: HttpStatusError) => void;
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

/**
 * TLS contexts by the keys they were made from, shared by every transport of the process: without
 * one, node:https builds a context per connection (OpenSSL 3 parses the CA and sets up a store each
 * time), and the direct kubelet reader makes a client per node. Built for 200 kubelets, they were
 * 0.1 s of a 2,000-PVC pass. The last few are kept: credentials change only on rotation.
 */
const secureContexts: { tls: RequestCredentials['tls']; secure: SecureContext }[] = [];
const SECURE_CONTEXTS_KEPT = 4;

export function secureContextFor(tls: RequestCredentials['tls']): SecureContext {
  const found = secureContexts.find(
    (entry) => entry.tls.ca === tls.ca && entry.tls.cert === tls.cert && entry.tls.key === tls.key,
  );
  if (found !== undefined) return found.secure;
  const { ca, cert, key } = tls;
  const secure = createSecureContext({ ca, cert, key });
  secureContexts.unshift({ tls, secure });
  secureContexts.length = Math.min(secureContexts.length, SECURE_CONTEXTS_KEPT);
  return secure;
}

export function createTransport(connection: ApiConnection, pool: ConnectionPool): Transport {
  const { protocol, hostname, port, basePath } = requestTarget(connection.server);
  let cached: { at: number; applying: Promise<Prepared>; ready?: Prepared } | undefined;

  const prepare = (applied: RequestCredentials): Prepared => {
    // tls.connect takes secureContext; node:https passes its options on, whatever its types say.
    const options: https.RequestOptions & { secureContext?: SecureContext } = {
      ...applied.tls,
      protocol,
      hostname,
      port,
    };
    if (protocol === 'https:') options.secureContext = secureContextFor(applied.tls);
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
    maxAnswerBytes: connection.maxAnswerBytes ?? MAX_ANSWER_BYTES,
    reauthenticate: (call, used, refused) => {
      withCredentials(call, true, (ready) => {
        if (sameIdentity(ready, used)) call.end(refused);
        else exchange(target, ready, call, true);
      });
    },
  };
  /** `go` with the credentials (cached, or `fresh` ones), unless the call ended meanwhile. */
  const withCredentials = (call: Call, fresh: boolean, go: (ready: Prepared) => void): void => {
    const prepared = credentials(fresh);
    if (!(prepared instanceof Promise)) {
      go(prepared);
      return;
    }
    prepared.then(
      (ready) => {
        if (!call.done) go(ready);
      },
      (error: unknown) => {
        call.end(error);
      },
    );
  };

  const begin = (call: Call): void => {
    if (call.limits.stop.aborted) {
      call.end(abortError(call.limits.stop.reason));
      return;
    }
    calls.add(call);
    withCredentials(call, false, (ready) => {
      exchange(target, ready, call, false);
    });
  };
  return {
    send: (request, limits) =>
      new Promise((resolve, reject) => {
        begin(new Call(request, limits, calls, { resolve, reject }));
      }),
    stream: (request, limits, onEvent) =>
      new Promise((resolve, reject) => {
        const call = new Call(request, limits, calls, {
          resolve: () => {
            resolve();
          },
          reject,
        });
        call.onEvent = onEvent;
        begin(call);
      }),
  };
}

interface Settle {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One call from its start to its answer, its deadline or the run's stop, whichever is first. */
class Call {
  readonly request: KubeRequest;
  readonly limits: CallLimits;
  readonly expiresAt: number;
  outgoing: http.ClientRequest | undefined;
  /** Whether the request's connection (TCP and TLS) was made: a deadline before is no connection. */
  connected = false;
  /** Set for a streamed call: each JSON line of a 2xx answer, as it comes. */
  onEvent: ((event: unknown) => void) | undefined;
  done = false;
  private readonly calls: InFlight;
  /**
   * Let go once the call is settled: a keep-alive socket's parser holds its last response, whose
   * listeners hold this call until the socket's next response. Through the resolve function the
   * call would hold the promise and so its parsed answer (a list page, a kubelet summary) per
   * socket, kept alive for nothing, long enough to be promoted to the old generation.
   */
  private settle: Settle | undefined;

  constructor(request: KubeRequest, limits: CallLimits, calls: InFlight, settle: Settle) {
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
    const settle = this.settle;
    this.settle = undefined;
    settle?.resolve(value);
  }

  /** Ends the call with `error`, destroying its request if one is out. */
  end(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.calls.delete(this);
    this.outgoing?.destroy(error instanceof Error ? error : undefined);
    const settle = this.settle;
    this.settle = undefined;
    settle?.reject(error);
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
      if (now >= call.expiresAt) {
        const connecting = call.outgoing !== undefined && !call.connected;
        call.end(abortError(new DeadlineError(call.limits.deadlineMs, connecting)));
      }
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
 * One request of a call and its answer: parsed JSON, or JSON lines for a streamed call; a non-2xx
 * answer is an HttpStatusError. A 401 sent with cached credentials starts the call again with
 * fresh ones.
 */
function exchange(target: Target, prepared: Prepared, call: Call, fresh: boolean): void {
  const { request } = call;
  const payload =
    request.text ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  let headers = prepared.headers;
  if (request.accept !== undefined) headers = { ...headers, Accept: request.accept };
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
    const status = response.statusCode ?? 0;
    if (call.onEvent !== undefined && status >= 200 && status < 300) {
      streamLines(response, call, call.onEvent, target.maxAnswerBytes);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > target.maxAnswerBytes) {
        chunks.length = 0;
        // The socket goes with the rest of the answer; the error is the call's, not the stream's.
        call.outgoing = undefined;
        response.destroy();
        call.end(tooLarge(call.request, target.maxAnswerBytes));
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', (error) => {
      call.end(error);
    });
    response.on('end', () => {
      answered(target, call, fresh ? undefined : prepared, {
        status,
        headers: response.headers,
        chunks,
      });
    });
  });
  call.outgoing = outgoing;
  outgoing.on('socket', (socket) => {
    const connected = (): void => {
      call.connected = true;
    };
    // A kept-alive socket is connected already; a new one is once its TLS handshake is done.
    if (!socket.connecting) connected();
    else socket.once(target.transport === https ? 'secureConnect' : 'connect', connected);
  });
  outgoing.on('error', (error) => {
    call.end(error);
  });
  outgoing.end(payload);
}

/** The code of a 2xx answer that is not JSON (a kubelet or gateway that answered something else). */
export const NOT_JSON = 'ERR_NOT_JSON';

/** The code of an answer longer than its server's maxAnswerBytes. */
export const TOO_LARGE = 'ERR_ANSWER_TOO_LARGE';

/** 256 MiB: far above a list page, a node's summary or a fleet's Prometheus answer. */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

function tooLarge(request: KubeRequest, limit: number): Error {
  const error = new Error(
    `${request.method} ${request.path}: the answer is longer than ${String(limit)} bytes`,
  );
  return Object.assign(error, { code: TOO_LARGE });
}

/**
 * A whole answer: the JSON of a 2xx, else an HttpStatusError. A 401 to `cached` credentials (not
 * fresh ones) first tries fresh ones.
 */
function answered(
  target: Target,
  call: Call,
  cached: Prepared | undefined,
  response: { status: number; headers: HttpStatusError['headers']; chunks: Buffer[] },
): void {
  if (call.done) return;
  // Answered: nothing to destroy from here on (the socket goes back to the pool).
  call.outgoing = undefined;
  const bytes = Buffer.concat(response.chunks);
  // The body's buffers too are held by the socket's listeners until its next response.
  response.chunks.length = 0;
  const { status } = response;
  const contentType = header(response.headers['content-type']) ?? '';
  if (status < 200 || status >= 300) {
    const error = new HttpStatusError(status, response.headers, errorText(bytes, contentType));
    if (status === 401 && cached !== undefined) target.reauthenticate(call, cached, error);
    else call.end(error);
    return;
  }
  if (call.request.accept !== undefined) {
    const answer: BytesAnswer = { contentType, bytes };
    call.succeed(answer);
    return;
  }
  const json = parseJson(bytes.toString('utf8'));
  if (!json.ok) {
    const error = new Error(
      `${call.request.method} ${call.request.path}: the response is not JSON: ${json.error}`,
    );
    call.end(Object.assign(error, { code: NOT_JSON }));
    return;
  }
  call.succeed(json.value);
}

/** Whether two sets of credentials are the same: the same Authorization and client certificate. */
function sameIdentity(a: Prepared, b: Prepared): boolean {
  return (
    a.headers['Authorization'] === b.headers['Authorization'] &&
    a.options.cert === b.options.cert &&
    a.options.key === b.options.key
  );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * An error answer's text. A server asked for protobuf answers errors as a protobuf Status: it is
 * given as its JSON, so the error model (errors.ts) reads status, reason and message either way.
 */
function errorText(bytes: Buffer, contentType: string): string {
  if (!isProtobuf(contentType)) return bytes.toString('utf8');
  const status = decodeStatus(bytes);
  return status.ok ? JSON.stringify(status.value) : status.error;
}

/** A watch's answer: one JSON object per line, handed on as each line completes. */
function streamLines(
  response: http.IncomingMessage,
  call: Call,
  onEvent: (event: unknown) => void,
  maxAnswerBytes: number,
): void {
  let pending = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    // A watch is as long as it lasts; one event is bounded like a whole answer.
    const abandon = (): void => {
      call.outgoing = undefined;
      response.destroy();
      call.end(tooLarge(call.request, maxAnswerBytes));
    };
    try {
      for (const line of lines) {
        if (line.length > maxAnswerBytes) {
          abandon();
          return;
        }
        if (line.trim() !== '') onEvent(JSON.parse(line));
      }
    } catch (error) {
      call.end(error);
      return;
    }
    if (pending.length > maxAnswerBytes) abandon();
  });
  response.on('error', (error) => {
    call.end(error);
  });
  response.on('end', () => {
    call.outgoing = undefined;
    call.succeed(undefined);
  });
}
