import {
  CoreV1Api,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
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
import type { ConnectionPool } from './keep-alive.js';
import type { RawGet } from './raw-get.js';
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
  /** Keep-alive connections shared by every call of the run. */
  pool: ConnectionPool;
  /** Lists are read raw (see raw-get.ts). */
  rawGet: RawGet;
}

/**
 * An Event's eventTime must carry microseconds (RFC 3339, six fractional digits); the API server
 * rejects client-node's default three-digit Date serialisation (kubernetes#89156).
 */
export function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** One page of a list as the API server sends it; items are read by the convert functions. */
interface Page<T> {
  items?: T[];
  metadata?: { continue?: string };
}

/** The real Kubernetes API through @kubernetes/client-node, with a timeout and retries on every call. */
export class KubeCluster implements Cluster {
  private readonly core: CoreV1Api;
  private readonly options: KubeClusterOptions;

  constructor(config: KubeConfig, options: KubeClusterOptions) {
    this.core = config.makeApiClient(CoreV1Api);
    this.options = options;
  }

  /** A per-call timeout, joined with the run's stop signal. */
  private callSignal(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.options.signal]);
  }

  /** client-node options: the call's signal and the shared keep-alive connections. */
  /** @internal shared with custom-resources.ts */
  requestOptions(extra?: ConfigurationOptions): ConfigurationOptions {
    const timeout: ConfigurationOptions = {
      middleware: [
        {
          pre: (context: RequestContext) => {
            context.setSignal(this.callSignal());
            const agent = this.options.pool.adopt(context.getAgent());
            if (agent !== undefined) context.setAgent(agent);
            return new Observable(Promise.resolve(context));
          },
          post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
    if (extra === undefined) return timeout;
    return { ...extra, middleware: [...(extra.middleware ?? []), ...(timeout.middleware ?? [])] };
  }

  /** @internal shared with custom-resources.ts */
  async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
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
  /** @internal shared with custom-resources.ts */
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
          this.options.rawGet(path, pageQuery, this.callSignal()),
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
    namespaces: readonly string[],
    pageSize: number,
  ): Promise<Map<string, string>> {
    const nodes = new Map<string, string>();
    // Only Running pods have their volumes mounted, so only they can have kubelet stats.
    const query = { fieldSelector: 'status.phase=Running', limit: String(pageSize) };
    for await (const pods of this.scoped<V1Pod>('list pods', 'pods', namespaces, query))
      recordMounts(pods, nodes);
    return nodes;
  }

  async getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined> {
    try {
      const pvc = await this.call(`get persistentvolumeclaim ${pvcKey(ref)}`, () =>
        this.core.readNamespacedPersistentVolumeClaim(ref, this.requestOptions()),
      );
      return toPvcSnapshot(pvc);
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
        this.core.patchNamespacedPersistentVolumeClaim(
          { ...ref, body },
          this.requestOptions(setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
        ),
      );
      return { kind: 'patched', pvc: toPvcSnapshot(pvc) };
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

  async recordEvent(event: PvcEvent): Promise<void> {
    const now = new Date();
    const { pvc } = event;
    const body: CoreV1Event = {
      metadata: {
        name: `${pvc.name}.${now.getTime().toString(16)}${randomBytes(4).toString('hex')}`,
        namespace: pvc.namespace,
      },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: pvc.namespace,
        name: pvc.name,
        uid: pvc.uid,
        resourceVersion: pvc.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      action: event.action,
      message: event.message.slice(0, 1024),
      // A string, not a Date: client-node passes it through untouched (see microTime).
      eventTime: microTime(now) as unknown as Date,
      reportingComponent: this.options.reportingController,
      reportingInstance: this.options.reportingInstance,
      source: { component: this.options.reportingController },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.call(`create event for ${pvcKey(pvc)}`, () =>
      this.core.createNamespacedEvent({ namespace: pvc.namespace, body }, this.requestOptions()),
    );
  }
}

function recordMounts(pods: readonly V1Pod[], nodes: Map<string, string>): void {
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    const namespace = pod.metadata?.namespace;
    if (node === undefined || namespace === undefined) continue;
    for (const volume of pod.spec?.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName;
      if (claimName !== undefined) nodes.set(pvcKey({ namespace, name: claimName }), node);
    }
  }
}
