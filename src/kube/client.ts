/**
 * The one Kubernetes client: the pass (cluster.ts, custom-resources.ts), the stats sources and the
 * webhook all call the API server through it. One call = one budget (its retries included), one
 * error (KubeApiError: HTTP status and Status reason), one credential cache and one deadline
 * sweeper (transport.ts). Writes that go unanswered are re-read, not re-sent (write()); lists are
 * paged with `continue` here only (pages()); the webhook's reflector watches through watch().
 */
import type { Logger } from 'pino';
import { withRetry, type RetryPolicy, type Sleep, type TransientError } from '../retry.js';
import { KubeApiError, classifyKubeError, failureOf, messageOf, unanswered } from './errors.js';
import type { Result } from '../core/result.js';
import type { BytesAnswer, CallLimits, KubeRequest, Transport } from './transport.js';
import type { Reread } from './write-check.js';
import { following } from '../deadline.js';

export type { KubeRequest } from './transport.js';

export interface KubeClientOptions {
  transport: Transport;
  /** The budget of one call, its retries included (the pass's --api-timeout). */
  timeoutMs: number;
  retry: RetryPolicy;
  sleep: Sleep;
  log: Logger;
  /**
   * Abandons every call in flight when aborted (the pass: SIGTERM + grace); its reason, an Error,
   * says why in the calls' errors. A call may name its own stop instead (CallOptions).
   */
  stop: AbortSignal;
}

/** A call's time: when it started and its whole budget, its retries and their waits included. */
export interface Budget {
  /** Epoch milliseconds. */
  startedAt: number;
  budgetMs: number;
}

export interface CallOptions {
  /** Default: the client's timeoutMs, starting now. */
  budget?: Budget;
  /** Default: the client's stop. */
  stop?: AbortSignal;
  /** Attempts at most; default the client's retry policy's. 1: never retried. */
  attempts?: number;
}

/** How to learn, by reading the object again, whether a write that went unanswered applied. */
export interface WriteCheck<T> {
  /** The object as it is now (undefined when there is none), within `budget`. */
  read(budget: Budget): Promise<T>;
  applied(object: T): boolean;
}

/** A write's answer, or the re-read object when the write went unanswered but applied. */
export type Written<T> =
  | { kind: 'answered'; body: unknown }
  /** `detail`: why no answer came, and that a re-read shows the write applied. */
  | { kind: 'applied'; object: T; detail: string };

/** One page of a list: its items, the list's resourceVersion, and whether the list started over. */
export interface ListPage<T> {
  items: T[];
  resourceVersion: string | undefined;
  /**
   * The list started again from its first page (its continue token expired, 410): items already
   * seen come again, and items deleted meanwhile do not.
   */
  restarted: boolean;
}

/** A list as its JSON has it: what a page decoder gives. */
export interface ListBody<T> {
  items?: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/**
 * How a list's pages are asked for and read when not as plain JSON: a built-in kind's pages as
 * protobuf (protobuf-lists.ts). The decoder reads either encoding, by the answer's Content-Type.
 */
export interface PageFormat<T> {
  /** The Accept header of each page's request. */
  accept: string;
  /** A page's answer → the list, or why it cannot be read. */
  decode(answer: BytesAnswer): Result<ListBody<T>>;
  /**
   * The page's continue token (undefined on the last page) read without decoding the page, when
   * the encoding lets it be read cheaply; absent, or an error, when not.
   */
  peekContinue?(answer: BytesAnswer): Result<string | undefined>;
}

export interface PageOptions<T> extends CallOptions {
  /** Default: JSON. */
  format?: PageFormat<T> | undefined;
}

/** A list to page through: what every page's call shares. */
interface PagedList<T> {
  operation: string;
  path: string;
  query: Readonly<Record<string, string>>;
  options: PageOptions<T>;
}

/** One list's pages, read one after another (KubeClient.pages). */
interface PageReader<T> {
  /** The page of `cont` (the first without one), decoded. */
  read(cont: string | undefined): Promise<ListBody<T>>;
  /** Gives up the page asked for ahead, if any. */
  abandon(): void;
}

/** A page as it came, before it is decoded. */
type RawPage<T> =
  | { kind: 'json'; body: ListBody<T> }
  | { kind: 'bytes'; answer: BytesAnswer; format: PageFormat<T> };

/** The next page, asked for before the one before it was decoded (KubeClient.pages). */
interface AheadPage<T> {
  /** The continue token it was asked for with. */
  cont: string;
  page: Promise<RawPage<T>>;
  /** It was taken: stop following the caller's stop. */
  done(): void;
  /** It is not wanted: stopped, and its failure ignored. */
  abandon(): void;
}

/** A re-read after an unanswered write is short: at most this, and never more than a call's. */
const REREAD_MS = 5_000;

/** A list whose continue token keeps expiring is started again at most this often. */
const LIST_RESTARTS = 2;

/** 410 Gone: a continue token that outlived etcd's compaction. */
function expired(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError && error.status === 410;
}

const NOT_TRANSIENT: TransientError = { transient: false, retryAfterMs: undefined };

function stopDetail(stop: AbortSignal): string {
  const reason: unknown = stop.reason;
  return `abandoned: ${reason instanceof Error ? reason.message : 'the call was stopped'}`;
}

export class KubeClient {
  private readonly options: KubeClientOptions;

  constructor(options: KubeClientOptions) {
    this.options = options;
  }

  /** A budget starting now: the client's timeout unless a shorter one is asked for. */
  budget(budgetMs = this.options.timeoutMs): Budget {
    return { startedAt: Date.now(), budgetMs };
  }

  /**
   * An answer as it was sent, for a caller that decodes it itself (a list page as protobuf, only
   * the volume lists of a kubelet Summary, Prometheus' range query): `accept` names what it asks
   * for.
   */
  async bytes(
    operation: string,
    request: KubeRequest & { accept: string },
    options: CallOptions = {},
  ): Promise<BytesAnswer> {
    // The transport answers a request that names its Accept with a BytesAnswer.
    return (await this.request(operation, request, options)) as BytesAnswer;
  }

  /**
   * One call: its attempts share one budget (client-go's request timeout covers its retries
   * too), so a call costs at most about its budget, however it fails. A failure is a
   * KubeApiError; a write that may have reached the server is not retried (see write()).
   */
  async request(
    operation: string,
    request: KubeRequest,
    options: CallOptions = {},
  ): Promise<unknown> {
    const { budget = this.budget(), stop = this.options.stop } = options;
    const limits: CallLimits = { deadlineMs: budget.budgetMs, startedAt: budget.startedAt, stop };
    const isWrite = request.method !== 'GET';
    // Once the caller abandons its calls, a failure is final: no retry.
    const classify = (error: unknown): TransientError =>
      stop.aborted || (isWrite && unanswered(error)) ? NOT_TRANSIENT : classifyKubeError(error);
    const policy = this.options.retry;
    try {
      return await withRetry(() => this.options.transport.send(request, limits), classify, {
        policy: options.attempts === undefined ? policy : { ...policy, attempts: options.attempts },
        sleep: this.options.sleep,
        budget: { endsAt: budget.startedAt + budget.budgetMs, now: Date.now },
        onRetry: (error, attempt, delayMs) => {
          this.options.log.warn(
            { operation, attempt, delayMs, err: messageOf(error) },
            'retrying kubernetes api call',
          );
        },
      });
    } catch (error) {
      throw this.failure(operation, error, stop);
    }
  }

  private failure(operation: string, error: unknown, stop: AbortSignal): KubeApiError {
    const failure = failureOf(error);
    // After the caller's stop an abort is theirs, not a timeout: say so.
    if (stop.aborted)
      return new KubeApiError(
        operation,
        { status: failure.status, detail: stopDetail(stop) },
        { cause: error },
      );
    return new KubeApiError(operation, failure, { cause: error, unanswered: unanswered(error) });
  }

  /**
   * A write that goes unanswered (a timeout, a connection lost in flight) is not sent again
   * blindly, as client-go does not retry a timed-out mutation: the object is read again, under a
   * short deadline, to learn whether the write applied. It is sent again only when the re-read
   * shows it did not and the call's budget has time left (a connection lost at once, not a
   * timeout). Not applied, or unknown: a KubeApiError marked unanswered saying which.
   */
  async write<T>(
    operation: string,
    request: KubeRequest,
    check: WriteCheck<T>,
  ): Promise<Written<T>> {
    const budget = this.budget();
    for (let sent = 1; ; sent++) {
      let failure: KubeApiError;
      try {
        return { kind: 'answered', body: await this.request(operation, request, { budget }) };
      } catch (error) {
        if (!(error instanceof KubeApiError && error.unanswered)) throw error;
        failure = error;
      }
      const reread = await this.reread(check);
      this.options.log.warn(
        { operation, err: failure.detail, reread: reread.found },
        'kubernetes write unanswered; read again to learn whether it applied',
      );
      if (reread.found === 'applied')
        return {
          kind: 'applied',
          object: reread.object,
          detail: `${failure.detail}; a re-read shows it applied`,
        };
      const left = budget.startedAt + budget.budgetMs - Date.now();
      if (reread.found === 'not-applied' && sent < this.options.retry.attempts && left > 0)
        continue;
      const detail =
        reread.found === 'not-applied'
          ? `${failure.detail}; a re-read shows it not applied`
          : `${failure.detail}; the re-read failed too (${reread.detail}): whether it applied is unknown`;
      throw new KubeApiError(operation, { detail }, { cause: failure, unanswered: true });
    }
  }

  private async reread<T>(check: WriteCheck<T>): Promise<Reread<T>> {
    if (this.options.stop.aborted)
      return { found: 'unknown', detail: stopDetail(this.options.stop) };
    try {
      const object = await check.read(this.budget(Math.min(REREAD_MS, this.options.timeoutMs)));
      return check.applied(object) ? { found: 'applied', object } : { found: 'not-applied' };
    } catch (error) {
      return { found: 'unknown', detail: messageOf(error) };
    }
  }

  /**
   * Pages through a list with limit/continue, each page one call. A continue token that outlived
   * etcd's compaction (410 Expired) starts the list again, at most twice; the pages say so.
   *
   * A page whose format can read its continue token without decoding the page (protobuf: the
   * token leads the list) has the next page asked for before it is decoded and handed on, so the
   * next round trip overlaps the decoding and the caller's work on this page. Pages are still
   * asked for one after another, each with the token of the one before; at most one is ahead.
   */
  async *pages<T>(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
    options: PageOptions<T> = {},
  ): AsyncIterable<ListPage<T>> {
    const reader = this.pageReader<T>({ operation, path, query, options });
    try {
      yield* this.pagesOf(operation, reader);
    } finally {
      // The caller stopped reading, or a page failed: the page asked for ahead is not wanted.
      reader.abandon();
    }
  }

  private async *pagesOf<T>(operation: string, reader: PageReader<T>): AsyncIterable<ListPage<T>> {
    let cont: string | undefined;
    let restarts = 0;
    let restarted = false;
    for (;;) {
      let body: ListBody<T>;
      try {
        body = await reader.read(cont);
      } catch (error) {
        if (!(cont !== undefined && restarts < LIST_RESTARTS && expired(error))) throw error;
        this.options.log.warn(
          { operation, err: error.message },
          'list continue token expired, listing again',
        );
        restarts++;
        restarted = true;
        cont = undefined;
        continue;
      }
      const { metadata = {} } = body;
      yield { items: body.items ?? [], resourceVersion: metadata.resourceVersion, restarted };
      restarted = false;
      cont = metadata.continue;
      if (!cont) return;
    }
  }

  /**
   * How one list's pages are asked for and decoded. A page whose format can read its continue
   * token without decoding the page has the next page asked for before it is decoded: `read`
   * takes that page when it is the one asked for next.
   */
  private pageReader<T>(list: PagedList<T>): PageReader<T> {
    const { operation, path, query, options } = list;
    const { format } = options;
    /** A page's answer, not yet decoded. */
    const ask = async (cont: string | undefined, stop?: AbortSignal): Promise<RawPage<T>> => {
      const pageQuery = cont === undefined ? query : { ...query, continue: cont };
      const call = stop === undefined ? options : { ...options, stop };
      if (format === undefined) {
        const body = await this.request(operation, { method: 'GET', path, query: pageQuery }, call);
        return { kind: 'json', body: body as ListBody<T> };
      }
      const answer = await this.bytes(
        operation,
        { method: 'GET', path, query: pageQuery, accept: format.accept },
        call,
      );
      this.options.log.debug({ operation, contentType: answer.contentType }, 'list page read');
      return { kind: 'bytes', answer, format };
    };
    /**
     * The page of `cont`, asked for now: stopped with the caller's calls, or abandoned when it
     * is not wanted after all (its failure then goes unseen).
     */
    const askAhead = (cont: string): AheadPage<T> => {
      const { controller, release } = following(options.stop ?? this.options.stop);
      const page = ask(cont, controller.signal);
      page.catch(release);
      return {
        cont,
        page,
        done: release,
        abandon: () => {
          release();
          controller.abort(new Error(`${operation}: the page asked for ahead was not wanted`));
        },
      };
    };
    const decode = (raw: RawPage<T>): ListBody<T> => {
      if (raw.kind === 'json') return raw.body;
      const page = raw.format.decode(raw.answer);
      if (!page.ok) throw new KubeApiError(operation, { detail: page.error });
      return page.value;
    };
    /** The next page's token, when the page's format reads it without decoding the page. */
    const peek = (raw: RawPage<T>): string | undefined => {
      if (raw.kind === 'json') return undefined;
      const peeked = raw.format.peekContinue?.(raw.answer);
      return peeked?.ok === true ? peeked.value : undefined;
    };
    let ahead: AheadPage<T> | undefined;
    const abandon = (): void => {
      ahead?.abandon();
      ahead = undefined;
    };
    return {
      read: async (cont) => {
        const taken = ahead?.cont === cont ? ahead : undefined;
        if (taken === undefined) abandon();
        ahead = undefined;
        try {
          const raw = await (taken?.page ?? ask(cont));
          taken?.done();
          const next = peek(raw);
          if (next !== undefined) {
            ahead = askAhead(next);
            // node:http sends a request once its socket is assigned, on a later tick: let it go
            // out now, or it would wait for this page to be decoded and read.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          return decode(raw);
        } catch (error) {
          abandon();
          throw error;
        }
      },
      abandon,
    };
  }

  /**
   * A watch, streamed: `onEvent` gets each event as it comes; resolves when the server ends the
   * watch. One attempt, whose deadline covers the whole stream: the caller asks the server for a
   * timeoutSeconds below it, so a half-open connection ends too.
   */
  async watch(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
    options: { deadlineMs: number; stop: AbortSignal; onEvent: (event: unknown) => void },
  ): Promise<void> {
    const { deadlineMs, stop, onEvent } = options;
    try {
      await this.options.transport.stream(
        { method: 'GET', path, query: { ...query, watch: 'true' } },
        { deadlineMs, stop },
        onEvent,
      );
    } catch (error) {
      throw this.failure(operation, error, stop);
    }
  }
}
