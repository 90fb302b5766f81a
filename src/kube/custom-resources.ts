/**
 * PVCPolicy and PVCGroup through the API server: paged raw lists (like the PVC list), reads
 * after a conflict, and status writes as merge patches of the status subresource, guarded by
 * resourceVersion. A 404 on a list means the CRD is not installed, which is normal.
 */
import { CRD_GROUP, CRD_VERSION } from '../core/pvc-policy.js';
import type {
  CustomResourceList,
  CustomResourceRef,
  CustomResources,
  StatusWriteOutcome,
} from '../ports.js';
import type { Budget, KubeClient } from './client.js';
import { KubeApiError } from './errors.js';
import { guardedPatchApplied } from './write-check.js';

function describe(ref: CustomResourceRef): string {
  return ref.namespace === undefined
    ? `${ref.kind} ${ref.name}`
    : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

export class KubeCustomResources implements CustomResources {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  private async list(
    operation: string,
    paths: readonly string[],
    pageSize: number,
  ): Promise<CustomResourceList> {
    const items: unknown[] = [];
    try {
      for (const path of paths) items.push(...(await this.listPath(operation, path, pageSize)));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return { installed: false };
      throw error;
    }
    return { installed: true, items };
  }

  private async listPath(operation: string, path: string, pageSize: number): Promise<unknown[]> {
    const items: unknown[] = [];
    for await (const page of this.client.pages<unknown>(operation, path, {
      limit: String(pageSize),
    })) {
      // Listed again from the start (410): what came before would count twice.
      if (page.restarted) items.length = 0;
      items.push(...page.items);
    }
    return items;
  }

  listPvcPolicies(namespaces: readonly string[], pageSize: number): Promise<CustomResourceList> {
    const base = `/apis/${CRD_GROUP}/${CRD_VERSION}`;
    const paths =
      namespaces.length === 0
        ? [`${base}/pvcpolicies`]
        : namespaces.map((namespace) => `${base}/namespaces/${namespace}/pvcpolicies`);
    return this.list('list pvcpolicies', paths, pageSize);
  }

  listPvcGroups(pageSize: number): Promise<CustomResourceList> {
    return this.list('list pvcgroups', [`/apis/${CRD_GROUP}/${CRD_VERSION}/pvcgroups`], pageSize);
  }

  /**
   * Re-reads one object with a list and a metadata.name field selector, so the RBAC stays at
   * list (no get) on the custom resources.
   */
  async get(ref: CustomResourceRef, budget?: Budget): Promise<unknown> {
    const base = `/apis/${CRD_GROUP}/${CRD_VERSION}`;
    const path =
      ref.namespace === undefined
        ? `${base}/${ref.kind}`
        : `${base}/namespaces/${ref.namespace}/${ref.kind}`;
    const query = { fieldSelector: `metadata.name=${ref.name}` };
    const options = budget === undefined ? {} : { budget };
    for await (const page of this.client.pages<unknown>(
      `get ${describe(ref)}`,
      path,
      query,
      options,
    )) {
      if (page.items[0] !== undefined) return page.items[0];
    }
    return undefined;
  }

  async writeStatus(
    ref: CustomResourceRef,
    resourceVersion: string,
    status: Readonly<Record<string, unknown>>,
  ): Promise<StatusWriteOutcome> {
    const body = { metadata: { resourceVersion }, status };
    const base = `/apis/${CRD_GROUP}/${CRD_VERSION}`;
    const path =
      ref.namespace === undefined
        ? `${base}/${ref.kind}/${ref.name}/status`
        : `${base}/namespaces/${ref.namespace}/${ref.kind}/${ref.name}/status`;
    try {
      // Unanswered: written if a re-read shows it applied; else a KubeApiError saying so.
      await this.client.write(
        `patch ${describe(ref)}/status`,
        { method: 'PATCH', path, body, contentType: 'application/merge-patch+json' },
        {
          read: (budget) => this.get(ref, budget),
          applied: (object) => guardedPatchApplied(body, object),
        },
      );
      return 'written';
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return 'conflict';
      if (error instanceof KubeApiError && error.status === 404) return 'not-found';
      throw error;
    }
  }
}
