import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  pvcKey,
  type PersistentVolumeInfo,
  type PvcRef,
  type PvcSnapshot,
  type StorageClassInfo,
} from '../core/pvc.js';
import type { Cluster, PatchOutcome, PvcEvent, PvcPatch } from '../ports.js';
import { toPersistentVolumeInfo, toPvcSnapshot, toStorageClassInfo } from './convert.js';
import { KubeApiError, classifyKubeError, messageOf, statusOf, unanswered } from './errors.js';
import type { CallLimits, RawClient, RawRequest } from './raw-request.js';
import { expansionApplied, guardedPatchApplied, type Reread } from './write-check.js';
import { parseQuantity } from '../core/quantity.js';
import { newEventBody, repeatPatch, seriesEventName, uniqueEventName } from './event-bodies.js';
import { withRetry, type RetryPolicy, type Sleep, type TransientError } from '../retry.js';

export interface KubeClusterOptions {
  /** --api-timeout: the budget of one call, its retries included. */
  timeoutMs: number;
  retry: RetryPolicy;
  sleep: Sleep;
  log: Logger;
  /** Event source fields: who reports (controller) and which run of it (instance). */
  reportingController: string;
  reportingInstance: string;
  /** Aborts every in-flight call when the run is told to stop. */
  signal: AbortSignal;
  /** Every request goes out through it (see raw-request.ts). */
  send: RawClient;
}

/** One page of a list as the API server sends it; items are read by the convert functions. */
interface Page<T> {
  items?: T[];
  metadata?: { continue?: string };
}

/** A call's time: when it started and its whole budget, its retries and their waits included. */
export interface Budget {
  /** Epoch milliseconds. */
  startedAt: number;
  budgetMs: number;
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

/** A re-read after an unanswered write is short: at most this, and never more than a call's. */
const REREAD_MS = 5_000;

const ABANDONED = 'abandoned: the run was stopped and its grace period ran out';

const NOT_TRANSIENT: TransientError = { transient: false, retryAfterMs: undefined };

/** The real Kubernetes API, with a deadline and retries on every call. */
export class KubeCluster implements Cluster {
  private readonly options: KubeClusterOptions;

  constructor(options: KubeClusterOptions) {
    this.options = options;
  }

  /** A budget starting now: --api-timeout unless a shorter one is asked for. */
  private budget(budgetMs = this.options.timeoutMs): Budget {
    return { startedAt: Date.now(), budgetMs };
  }

  /** The budget given, else one of --api-timeout starting now. */
  private budgetOf(given: Budget | undefined): Budget {
    return given ?? this.budget();
  }

  /**
   * One call: its attempts share one budget (client-go's request timeout covers its retries
   * too), so a call costs at most about --api-timeout, however it fails.
   */
  private async call(
    operation: string,
    request: RawRequest,
    budget: Budget = this.budget(),
  ): Promise<unknown> {
    const { signal } = this.options;
    const limits: CallLimits = {
      deadlineMs: budget.budgetMs,
      startedAt: budget.startedAt,
      stop: signal,
    };
    // A write that may have reached the server is not sent again blindly: write() re-reads.
    const isWrite = request.method !== 'GET';
    // Once the run abandons its calls (SIGTERM + grace), a failure is final: no retry.
    const classify = (error: unknown): TransientError =>
      signal.aborted || (isWrite && unanswered(error)) ? NOT_TRANSIENT : classifyKubeError(error);
    try {
      return await withRetry(() => this.options.send(request, limits), classify, {
        policy: this.options.retry,
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
      // After the shutdown grace an abort is ours, not a timeout: say so.
      if (signal.aborted)
        throw new KubeApiError(operation, statusOf(error), ABANDONED, { cause: error });
      throw new KubeApiError(operation, statusOf(error), messageOf(error), {
        cause: error,
        unanswered: unanswered(error),
      });
    }
  }

  /**
   * A write that goes unanswered (a timeout, a connection lost in flight) is not sent again
   * blindly, as client-go does not retry a timed-out mutation: the object is read again, under a
   * short deadline, to learn whether the write applied. It is sent again only when the re-read
   * shows it did not and the call's budget has time left (a connection lost at once, not a
   * timeout). Not applied, or unknown: a KubeApiError marked unanswered saying which. Public for
   * the adapters of other kinds (custom-resources.ts).
   */
  async write<T>(
    operation: string,
    request: RawRequest,
    check: WriteCheck<T>,
  ): Promise<Written<T>> {
    const budget = this.budget();
    for (let sent = 1; ; sent++) {
      let failure: KubeApiError;
      try {
        return { kind: 'answered', body: await this.call(operation, request, budget) };
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
      throw new KubeApiError(operation, undefined, detail, { cause: failure, unanswered: true });
    }
  }

  private async reread<T>(check: WriteCheck<T>): Promise<Reread<T>> {
    if (this.options.signal.aborted) return { found: 'unknown', detail: ABANDONED };
    try {
      const object = await check.read(this.budget(Math.min(REREAD_MS, this.options.timeoutMs)));
      return check.applied(object) ? { found: 'applied', object } : { found: 'not-applied' };
    } catch (error) {
      const detail = error instanceof KubeApiError ? error.detail : String(error);
      return { found: 'unknown', detail };
    }
  }

  /** Pages through a list with limit/continue, each page one retried, time-limited GET. */
  async *pages<T>(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
    budget?: Budget,
  ): AsyncIterable<T[]> {
    let cont: string | undefined;
    let restarts = 0;
    for (;;) {
      const pageQuery = cont === undefined ? query : { ...query, continue: cont };
      let page: Page<T>;
      try {
        page = (await this.call(
          operation,
          { method: 'GET', path, query: pageQuery },
          this.budgetOf(budget),
        )) as Page<T>;
      } catch (error) {
        // 410 Gone: the continue token outlived etcd's compaction. Start the list again; the
        // caller keys items by name, so items seen twice count once.
        if (!(
          error instanceof KubeApiError &&
          error.status === 410 &&
          cont !== undefined &&
          restarts < 2
        ))
          throw error;
        this.options.log.warn(
          { operation, err: error.message },
          'list continue token expired, listing again',
        );
        restarts++;
        cont = undefined;
        continue;
      }
      yield page.items ?? [];
      cont = page.metadata?.continue;
      if (cont === undefined || cont === '') return;
    }
  }

  /** Cluster-wide, or one page stream per namespace. */
  private async *scoped<T>(
    operation: string,
    resource: string,
    namespaces: readonly string[],
    query: Readonly<Record<string, string>>,
  ): AsyncIterable<T[]> {
    if (namespaces.length === 0) {
      yield* this.pages<T>(operation, `/api/v1/${resource}`, query);
      return;
    }
    for (const namespace of namespaces) {
      yield* this.pages<T>(operation, `/api/v1/namespaces/${namespace}/${resource}`, query);
    }
  }

  async *listPvcs(namespaces: readonly string[], pageSize: number): AsyncIterable<PvcSnapshot[]> {
    const query = { limit: String(pageSize) };
    const pages = this.scoped<V1PersistentVolumeClaim>(
      'list persistentvolumeclaims',
      'persistentvolumeclaims',
      namespaces,
      query,
    );
    for await (const items of pages) yield items.map(toPvcSnapshot);
  }

  async listPersistentVolumes(
    names: ReadonlySet<string>,
    pageSize: number,
  ): Promise<Map<string, PersistentVolumeInfo>> {
    const volumes = new Map<string, PersistentVolumeInfo>();
    if (names.size === 0) return volumes;
    const query = { limit: String(pageSize) };
    for await (const items of this.pages<V1PersistentVolume>(
      'list persistentvolumes',
      '/api/v1/persistentvolumes',
      query,
    )) {
      for (const pv of items) {
        const name = pv.metadata?.name ?? '';
        if (names.has(name)) volumes.set(name, toPersistentVolumeInfo(pv));
      }
    }
    return volumes;
  }

  async listStorageClasses(): Promise<Map<string, StorageClassInfo>> {
    const classes = new Map<string, StorageClassInfo>();
    const path = '/apis/storage.k8s.io/v1/storageclasses';
    for await (const items of this.pages<V1StorageClass>('list storageclasses', path, {
      limit: '500',
    })) {
      for (const storageClass of items)
        classes.set(storageClass.metadata?.name ?? '', toStorageClassInfo(storageClass));
    }
    return classes;
  }

  async listMountingNodes(
    claims: ReadonlySet<string>,
    namespaces: readonly string[],
    pageSize: number,
  ): Promise<Map<string, string>> {
    const nodes = new Map<string, string>();
    // Only Running pods have their volumes mounted, so only they can have kubelet stats.
    const query = { fieldSelector: 'status.phase=Running', limit: String(pageSize) };
    for await (const pods of this.scoped<V1Pod>('list pods', 'pods', namespaces, query))
      recordMounts(pods, claims, nodes);
    return nodes;
  }

  getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined> {
    return this.readPvc(ref, this.budget());
  }

  private async readPvc(ref: PvcRef, budget: Budget): Promise<PvcSnapshot | undefined> {
    try {
      const pvc = await this.call(
        `get persistentvolumeclaim ${pvcKey(ref)}`,
        { method: 'GET', path: pvcPath(ref) },
        budget,
      );
      return toPvcSnapshot(pvc as V1PersistentVolumeClaim);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async patchPvc(ref: PvcRef, patch: PvcPatch): Promise<PatchOutcome> {
    const body = {
      metadata: { resourceVersion: patch.resourceVersion, annotations: patch.annotations },
      spec: { resources: { requests: { storage: patch.requestStorage } } },
    };
    const requested = parseQuantity(patch.requestStorage);
    const written = { ...patch, requestBytes: requested.ok ? requested.value : -1n };
    try {
      const outcome = await this.write(
        `patch persistentvolumeclaim ${pvcKey(ref)}`,
        { method: 'PATCH', path: pvcPath(ref), body, contentType: 'application/merge-patch+json' },
        {
          read: (budget) => this.readPvc(ref, budget),
          applied: (pvc) => expansionApplied(written, pvc),
        },
      );
      return outcome.kind === 'answered'
        ? { kind: 'patched', pvc: toPvcSnapshot(outcome.body as V1PersistentVolumeClaim) }
        : { kind: 'unanswered', pvc: outcome.object, detail: outcome.detail };
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      if (error.unanswered) return { kind: 'unanswered', pvc: undefined, detail: error.detail };
      if (error.status === 409) return { kind: 'conflict' };
      if (error.status === 404) return { kind: 'not-found' };
      if (error.status === 422 || error.status === 403 || error.status === 400) {
        return { kind: 'rejected', status: error.status, message: messageOf(error.cause) };
      }
      throw error;
    }
  }

  /**
   * Normal Events (expansions) are each new: every one is a different change, made a cooldown
   * apart, as client-go's recorders record them too. A Warning that repeats is aggregated into one
   * Event per PVC, reason and action (see event-bodies.ts).
   */
  async recordEvent(event: PvcEvent): Promise<void> {
    const now = new Date();
    const operation = `record event for ${pvcKey(event.pvc)}`;
    if (event.type === 'Normal') {
      await this.createEvent(
        operation,
        event.pvc.namespace,
        newEventBody(event, uniqueEventName(event, now), this.options, now),
      );
      return;
    }
    try {
      await this.recordRepeating(event, operation, now);
    } catch (error) {
      // A ClusterRole from before Events aggregated grants only create: still record the Warning.
      if (!(error instanceof KubeApiError && error.status === 403)) throw error;
      this.options.log.warn(
        { namespace: event.pvc.namespace, name: event.pvc.name, err: error.message },
        'no get/patch on events: recording a new event (update the ClusterRole, cronjob/rbac.yaml)',
      );
      await this.createEvent(
        operation,
        event.pvc.namespace,
        newEventBody(event, uniqueEventName(event, now), this.options, now),
      );
    }
  }

  /** One Event per PVC, type, reason and action: created once, then counted. */
  private async recordRepeating(event: PvcEvent, operation: string, now: Date): Promise<void> {
    const name = seriesEventName(event);
    const path = `${eventsPath(event.pvc.namespace)}/${name}`;
    // Twice at most: a 409 means another run recorded the same occurrence meanwhile.
    for (let attempt = 0; attempt < 2; attempt++) {
      const stored = await this.readEvent(operation, path);
      const outcome =
        stored === undefined
          ? await this.createEvent(
              operation,
              event.pvc.namespace,
              newEventBody(event, name, this.options, now),
            )
          : await this.patchEvent(operation, path, repeatPatch(stored, event, now));
      if (outcome !== 'raced') return;
    }
    this.options.log.info(
      { namespace: event.pvc.namespace, name: event.pvc.name, event: name },
      'event updated concurrently by another run; its count stands',
    );
  }

  private async readEvent(
    operation: string,
    path: string,
    budget = this.budget(),
  ): Promise<unknown> {
    try {
      return await this.call(operation, { method: 'GET', path }, budget);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * 'raced': a concurrent run got there first (409 AlreadyExists or Conflict, or 404 on patch).
   * An Event's name is chosen before it is sent, so an unanswered create is learned by reading
   * that name.
   */
  private async createEvent(
    operation: string,
    namespace: string,
    body: Record<string, unknown> & { metadata: { name: string } },
  ): Promise<'done' | 'raced'> {
    const path = eventsPath(namespace);
    return this.raceTolerant(() =>
      this.write(
        operation,
        { method: 'POST', path, body },
        {
          read: (budget) => this.readEvent(operation, `${path}/${body.metadata.name}`, budget),
          applied: (stored) => stored !== undefined,
        },
      ),
    );
  }

  private async patchEvent(
    operation: string,
    path: string,
    body: Record<string, unknown> | undefined,
  ): Promise<'done' | 'raced'> {
    if (body === undefined)
      throw new KubeApiError(operation, undefined, 'the stored event has no resourceVersion');
    return this.raceTolerant(() =>
      this.write(
        operation,
        { method: 'PATCH', path, body, contentType: 'application/merge-patch+json' },
        {
          read: (budget) => this.readEvent(operation, path, budget),
          applied: (stored) => guardedPatchApplied(body, stored),
        },
      ),
    );
  }

  private async raceTolerant(write: () => Promise<unknown>): Promise<'done' | 'raced'> {
    try {
      await write();
      return 'done';
    } catch (error) {
      if (error instanceof KubeApiError && (error.status === 409 || error.status === 404))
        return 'raced';
      throw error;
    }
  }
}

function eventsPath(namespace: string): string {
  return `/api/v1/namespaces/${namespace}/events`;
}

function pvcPath(ref: PvcRef): string {
  return `/api/v1/namespaces/${ref.namespace}/persistentvolumeclaims/${ref.name}`;
}

/** Keeps only the claims asked for: a cluster's other pods must not grow the map. */
function recordMounts(
  pods: readonly V1Pod[],
  claims: ReadonlySet<string>,
  nodes: Map<string, string>,
): void {
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    const namespace = pod.metadata?.namespace;
    if (node === undefined || namespace === undefined) continue;
    for (const volume of pod.spec?.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName;
      if (claimName === undefined) continue;
      const key = pvcKey({ namespace, name: claimName });
      if (claims.has(key)) nodes.set(key, node);
    }
  }
}
