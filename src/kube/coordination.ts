/**
 * The objects of other systems the pass coordinates with, listed through the one client
 * (KubeClient.pages: deadline, retries, continue tokens). A 404 on a list means the kind is not
 * served here (its CRD is not installed), which is normal and answered as `installed: false`.
 */
import type { Coordination, Listed } from '../ports.js';
import type { KubeClient } from './client.js';
import { KubeApiError } from './errors.js';

/** The collection paths of a namespaced kind: one cluster-wide, or one per namespace. */
function paths(base: string, resource: string, namespaces: readonly string[]): string[] {
  return namespaces.length === 0
    ? [`${base}/${resource}`]
    : namespaces.map((namespace) => `${base}/namespaces/${namespace}/${resource}`);
}

function keepAll<T>(page: readonly unknown[], keep: (object: unknown) => T | undefined, into: T[]) {
  for (const object of page) {
    const kept = keep(object);
    if (kept !== undefined) into.push(kept);
  }
}

export class KubeCoordination implements Coordination {
  private readonly client: Pick<KubeClient, 'pages'>;

  constructor(client: Pick<KubeClient, 'pages'>) {
    this.client = client;
  }

  private async collection<T>(
    operation: string,
    path: string,
    query: Readonly<Record<string, string>>,
    keep: (object: unknown) => T | undefined,
  ): Promise<T[]> {
    const kept: T[] = [];
    for await (const page of this.client.pages<unknown>(operation, path, query)) {
      // A list restarted after its continue token expired repeats what it had sent.
      if (page.restarted) kept.length = 0;
      keepAll(page.items, keep, kept);
    }
    return kept;
  }

  private async list<T>(
    operation: string,
    collections: readonly string[],
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>> {
    const items: T[] = [];
    const query = { limit: String(pageSize) };
    try {
      for (const path of collections)
        items.push(...(await this.collection(operation, path, query, keep)));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return { installed: false };
      throw error;
    }
    return { installed: true, items };
  }

  listVolumeSnapshots<T>(
    namespaces: readonly string[],
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>> {
    const collections = paths('/apis/snapshot.storage.k8s.io/v1', 'volumesnapshots', namespaces);
    return this.list('list volumesnapshots', collections, pageSize, keep);
  }

  listVeleroBackups<T>(
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>> {
    return this.list('list backups.velero.io', ['/apis/velero.io/v1/backups'], pageSize, keep);
  }

  listVolumeAttributesClasses<T>(
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>> {
    const path = '/apis/storage.k8s.io/v1/volumeattributesclasses';
    return this.list('list volumeattributesclasses', [path], pageSize, keep);
  }

  listStatefulSets<T>(
    namespaces: readonly string[],
    pageSize: number,
    keep: (object: unknown) => T | undefined,
  ): Promise<Listed<T>> {
    const collections = paths('/apis/apps/v1', 'statefulsets', namespaces);
    return this.list('list statefulsets', collections, pageSize, keep);
  }
}
