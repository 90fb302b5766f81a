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
import { KubeApiError, classifyKubeError, messageOf, statusOf } from './errors.js';
import type { CallLimits, RawClient, RawRequest } from './raw-request.js';
import { newEventBody, repeatPatch, seriesEventName, uniqueEventName } from './event-bodies.js';
import { withRetry, type RetryPolicy, type Sleep, type TransientError } from '../retry.js';

export interface KubeClusterOptions {
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

/** The real Kubernetes API, with a deadline and retries on every call. */
export class KubeCluster implements Cluster {
  private readonly options: KubeClusterOptions;
  private readonly limits: CallLimits;

  constructor(options: KubeClusterOptions) {
    this.options = options;
    this.limits = { deadlineMs: options.timeoutMs, stop: options.signal };
  }

  /** One attempt of a request, under its own deadline joined with the run's stop. */
  private attempt(request: RawRequest): Promise<unknown> {
    return this.options.send(request, this.limits);
  }

  /**
   * One request with the deadline, retries and error naming of every call; for the adapters of
   * other kinds (custom-resources.ts) that share this client.
   */
  request(operation: string, request: RawRequest): Promise<unknown> {
    return this.call(operation, () => this.attempt(request));
  }

  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      // Once the run abandons its calls (SIGTERM + grace), a failure is final: no retry.
      const classify = (error: unknown): TransientError =>
        this.options.signal.aborted
          ? { transient: false, retryAfterMs: undefined }
          : classifyKubeError(error);
      return await withRetry(request, classify, {
        policy: this.options.retry,
        sleep: this.options.sleep,
        onRetry: (error, attempt, delayMs) => {
          this.options.log.warn(
            { operation, attempt, delayMs, err: messageOf(error) },
            'retrying kubernetes api call',
          );
        },
      });
    } catch (error) {
      // After the shutdown grace an abort is ours, not a timeout: say so.
      const detail = this.options.signal.aborted
        ? 'abandoned: the run was stopped and its grace period ran out'
        : messageOf(error);
      throw new KubeApiError(operation, statusOf(error), detail, { cause: error });
    }
  }

  /** Pages through a list with limit/continue, each page one retried, time-limited GET. */
  async *pages<T>(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
  ): AsyncIterable<T[]> {
    let cont: string | undefined;
    let restarts = 0;
    for (;;) {
      const pageQuery = cont === undefined ? query : { ...query, continue: cont };
      let page: Page<T>;
      try {
        page = (await this.call(operation, () =>
          this.attempt({ method: 'GET', path, query: pageQuery }),
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

  async getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined> {
    try {
      const pvc = await this.call(`get persistentvolumeclaim ${pvcKey(ref)}`, () =>
        this.attempt({ method: 'GET', path: pvcPath(ref) }),
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
    try {
      const pvc = await this.call(`patch persistentvolumeclaim ${pvcKey(ref)}`, () =>
        this.attempt({
          method: 'PATCH',
          path: pvcPath(ref),
          body,
          contentType: 'application/merge-patch+json',
        }),
      );
      return { kind: 'patched', pvc: toPvcSnapshot(pvc as V1PersistentVolumeClaim) };
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
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

  private async readEvent(operation: string, path: string): Promise<unknown> {
    try {
      return await this.call(operation, () => this.attempt({ method: 'GET', path }));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** 'raced': a concurrent run got there first (409 AlreadyExists or Conflict, or 404 on patch). */
  private async createEvent(
    operation: string,
    namespace: string,
    body: Record<string, unknown>,
  ): Promise<'done' | 'raced'> {
    return this.raceTolerant(() =>
      this.call(operation, () =>
        this.attempt({ method: 'POST', path: eventsPath(namespace), body }),
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
      this.call(operation, () =>
        this.attempt({ method: 'PATCH', path, body, contentType: 'application/merge-patch+json' }),
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
