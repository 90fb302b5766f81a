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
import { parseQuantity } from '../core/quantity.js';
import type { KubeApiContentType } from '../config.js';
import type { Cluster, KeyFilter, PatchOutcome, PvcEvent, PvcPatch } from '../ports.js';
import type { Budget, KubeClient, PageFormat } from './client.js';
import { toPersistentVolumeInfo, toPvcSnapshot, toStorageClassInfo } from './convert.js';
import { KubeApiError } from './errors.js';
import { newEventBody, repeatPatch, seriesEventName, uniqueEventName } from './event-bodies.js';
import { POD_PAGES, PV_PAGES, PVC_PAGES } from './protobuf-lists.js';
import { expansionApplied, guardedPatchApplied } from './write-check.js';

export interface KubeClusterOptions {
  /** Every call goes through it: budget, retries, errors (client.ts). */
  client: KubeClient;
  log: Logger;
  /** Event source fields: who reports (controller) and which run of it (instance). */
  reportingController: string;
  reportingInstance: string;
  /**
   * How the PVC, PV and Pod lists are asked for (--kube-api-content-type): protobuf, smaller and
   * cheaper to decode, or JSON, for a proxy in front of the API server that mangles protobuf.
   */
  kubeApiContentType: KubeApiContentType;
}

/** The pass's reads and writes of core Kubernetes objects, through the one client. */
export class KubeCluster implements Cluster {
  private readonly options: KubeClusterOptions;
  private readonly client: KubeClient;

  constructor(options: KubeClusterOptions) {
    this.options = options;
    this.client = options.client;
  }

  /** The items of every page (a list restarted after a 410 repeats some: callers key by name). */
  private async *items<T>(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
    format?: PageFormat<T>,
  ): AsyncIterable<T[]> {
    const options = { format: this.options.kubeApiContentType === 'protobuf' ? format : undefined };
    for await (const page of this.client.pages<T>(operation, path, query, options))
      yield page.items;
  }

  /** Cluster-wide, or one page stream per namespace. */
  private async *scoped<T>(
    operation: string,
    resource: string,
    namespaces: readonly string[],
    list: { query: Readonly<Record<string, string>>; format: PageFormat<T> },
  ): AsyncIterable<T[]> {
    const { query, format } = list;
    if (namespaces.length === 0) {
      yield* this.items<T>(operation, `/api/v1/${resource}`, query, format);
      return;
    }
    for (const namespace of namespaces) {
      const path = `/api/v1/namespaces/${namespace}/${resource}`;
      yield* this.items<T>(operation, path, query, format);
    }
  }

  async *listPvcs(namespaces: readonly string[], pageSize: number): AsyncIterable<PvcSnapshot[]> {
    const query = { limit: String(pageSize) };
    const pages = this.scoped<V1PersistentVolumeClaim>(
      'list persistentvolumeclaims',
      'persistentvolumeclaims',
      namespaces,
      { query, format: PVC_PAGES },
    );
    for await (const items of pages) yield items.map(toPvcSnapshot);
  }

  async listPersistentVolumes(
    names: KeyFilter,
    pageSize: number,
  ): Promise<Map<string, PersistentVolumeInfo>> {
    const volumes = new Map<string, PersistentVolumeInfo>();
    const query = { limit: String(pageSize) };
    for await (const items of this.items<V1PersistentVolume>(
      'list persistentvolumes',
      '/api/v1/persistentvolumes',
      query,
      PV_PAGES,
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
    for await (const items of this.items<V1StorageClass>('list storageclasses', path, {
      limit: '500',
    })) {
      for (const storageClass of items)
        classes.set(storageClass.metadata?.name ?? '', toStorageClassInfo(storageClass));
    }
    return classes;
  }

  async listMountingNodes(
    claims: KeyFilter,
    namespaces: readonly string[],
    pageSize: number,
  ): Promise<Map<string, string>> {
    const nodes = new Map<string, string>();
    // Only Running pods have their volumes mounted, so only they can have kubelet stats.
    const query = { fieldSelector: 'status.phase=Running', limit: String(pageSize) };
    const list = { query, format: POD_PAGES };
    for await (const pods of this.scoped<V1Pod>('list pods', 'pods', namespaces, list))
      recordMounts(pods, claims, nodes);
    return nodes;
  }

  getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined> {
    return this.readPvc(ref, this.client.budget());
  }

  private async readPvc(ref: PvcRef, budget: Budget): Promise<PvcSnapshot | undefined> {
    try {
      const pvc = await this.client.request(
        `get persistentvolumeclaim ${pvcKey(ref)}`,
        { method: 'GET', path: pvcPath(ref) },
        { budget },
      );
      return toPvcSnapshot(pvc as V1PersistentVolumeClaim);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async patchPvc(ref: PvcRef, patch: PvcPatch): Promise<PatchOutcome> {
    const { body, written } = patchBody(patch);
    try {
      const outcome = await this.client.write(
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
        return { kind: 'rejected', status: error.status, message: error.detail };
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
    budget = this.client.budget(),
  ): Promise<unknown> {
    try {
      return await this.client.request(operation, { method: 'GET', path }, { budget });
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
      this.client.write(
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
      throw new KubeApiError(operation, { detail: 'the stored event has no resourceVersion' });
    return this.raceTolerant(() =>
      this.client.write(
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

/** The merge patch of a PvcPatch, and what a re-read must hold for it to have applied. */
function patchBody(patch: PvcPatch) {
  const storage = patch.requestStorage;
  const body = {
    metadata: { resourceVersion: patch.resourceVersion, annotations: patch.annotations },
    // Without a size (a usage sample), the patch touches the annotations only.
    ...(storage === undefined ? {} : { spec: { resources: { requests: { storage } } } }),
  };
  const requested = storage === undefined ? undefined : parseQuantity(storage);
  const requestBytes = requested === undefined ? undefined : requested.ok ? requested.value : -1n;
  return { body, written: { ...patch, requestBytes } };
}

function pvcPath(ref: PvcRef): string {
  return `/api/v1/namespaces/${ref.namespace}/persistentvolumeclaims/${ref.name}`;
}

/** Keeps only the claims asked for: a cluster's other pods must not grow the map. */
export function recordMounts(
  pods: readonly V1Pod[],
  claims: KeyFilter,
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
