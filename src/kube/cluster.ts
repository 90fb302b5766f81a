import {
  CoreV1Api,
  Observable,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1Pod,
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
import { withRetry, type RetryPolicy, type Sleep, type TransientError } from './retry.js';

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
}

/**
 * An Event's eventTime must carry microseconds (RFC 3339, six fractional digits); the API server
 * rejects client-node's default three-digit Date serialisation (kubernetes#89156).
 */
export function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** limit/continue for one page; `_continue` absent on the first. */
interface Paging {
  limit: number;
  _continue?: string;
}

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}

/** The real Kubernetes API through @kubernetes/client-node, with a timeout and retries on every call. */
export class KubeCluster implements Cluster {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly options: KubeClusterOptions;

  constructor(config: KubeConfig, options: KubeClusterOptions) {
    this.core = config.makeApiClient(CoreV1Api);
    this.storage = config.makeApiClient(StorageV1Api);
    this.options = options;
  }

  /** A per-call timeout, joined with the run's stop signal. */
  private requestOptions(extra?: ConfigurationOptions): ConfigurationOptions {
    const { timeoutMs, signal } = this.options;
    const timeout: ConfigurationOptions = {
      middleware: [
        {
          pre: (context: RequestContext) => {
            context.setSignal(AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]));
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
      throw new KubeApiError(operation, statusOf(error), messageOf(error), { cause: error });
    }
  }

  private async *pages<T>(
    operation: string,
    pageSize: number,
    fetchPage: (paging: Paging) => Promise<Page<T>>,
  ): AsyncIterable<T[]> {
    let cont: string | undefined;
    do {
      const paging: Paging =
        cont === undefined ? { limit: pageSize } : { limit: pageSize, _continue: cont };
      const page = await this.call(operation, () => fetchPage(paging));
      yield page.items;
      cont = page.metadata?._continue ?? undefined;
      if (cont === '') cont = undefined;
    } while (cont !== undefined);
  }

  async *listPvcs(namespaces: readonly string[], pageSize: number): AsyncIterable<PvcSnapshot[]> {
    const scopes = namespaces.length === 0 ? [undefined] : namespaces;
    for (const namespace of scopes) {
      const pages = this.pages('list persistentvolumeclaims', pageSize, (paging) =>
        namespace === undefined
          ? this.core.listPersistentVolumeClaimForAllNamespaces(paging, this.requestOptions())
          : this.core.listNamespacedPersistentVolumeClaim(
              { namespace, ...paging },
              this.requestOptions(),
            ),
      );
      for await (const items of pages) yield items.map(toPvcSnapshot);
    }
  }

  async listPersistentVolumes(
    names: ReadonlySet<string>,
    pageSize: number,
  ): Promise<Map<string, PersistentVolumeInfo>> {
    const volumes = new Map<string, PersistentVolumeInfo>();
    if (names.size === 0) return volumes;
    const pages = this.pages('list persistentvolumes', pageSize, (paging) =>
      this.core.listPersistentVolume(paging, this.requestOptions()),
    );
    for await (const items of pages) {
      for (const pv of items) {
        if (names.has(pv.metadata?.name ?? ''))
          volumes.set(pv.metadata?.name ?? '', toPersistentVolumeInfo(pv));
      }
    }
    return volumes;
  }

  async listStorageClasses(): Promise<Map<string, StorageClassInfo>> {
    const classes = new Map<string, StorageClassInfo>();
    const pages = this.pages('list storageclasses', 500, (paging) =>
      this.storage.listStorageClass(paging, this.requestOptions()),
    );
    for await (const items of pages) {
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
    const fieldSelector = 'status.phase=Running';
    const scopes = namespaces.length === 0 ? [undefined] : namespaces;
    for (const namespace of scopes) {
      const pages = this.pages('list pods', pageSize, (paging) =>
        namespace === undefined
          ? this.core.listPodForAllNamespaces({ fieldSelector, ...paging }, this.requestOptions())
          : this.core.listNamespacedPod(
              { namespace, fieldSelector, ...paging },
              this.requestOptions(),
            ),
      );
      for await (const pods of pages) recordMounts(pods, nodes);
    }
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
