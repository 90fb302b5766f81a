/**
 * The pass's side of StatefulSet template drift: one list of StatefulSets, then each reported
 * PVC created from a volumeClaimTemplate carries its template's size beside its own; and the
 * `pvc-chonker drift` view, which lists per StatefulSet the size to put in the manifests. The
 * matching and the sums are core/drift.ts.
 */
import type { Logger } from 'pino';
import {
  driftBytes,
  indexStatefulSets,
  parseStatefulSet,
  summarizeDrift,
  templateDriftOf,
  type DriftRow,
  type OwnerIndex,
  type TemplateDrift,
} from './core/drift.js';
import type { RunSummary } from './core/outcome.js';
import { formatQuantity } from './core/quantity.js';
import { KubeApiError } from './kube/errors.js';
import type { Cluster, Coordination } from './ports.js';

export interface DriftScope {
  namespaces: readonly string[];
  pageSize: number;
}

/** The StatefulSets of the scope, indexed by the claim names they give. */
export async function loadOwners(
  coordination: Coordination,
  scope: DriftScope,
): Promise<OwnerIndex> {
  const listed = await coordination.listStatefulSets(
    scope.namespaces,
    scope.pageSize,
    parseStatefulSet,
  );
  return indexStatefulSets(listed.installed ? listed.items : []);
}

/**
 * The summary with templateDrift on every outcome of a PVC owned through a StatefulSet. A failed
 * list leaves the report without drift (a Warning line says why): the pass already happened.
 */
export async function withTemplateDrift(
  deps: { coordination?: Coordination | undefined; log: Logger },
  scope: DriftScope,
  summary: RunSummary,
): Promise<RunSummary> {
  if (deps.coordination === undefined || summary.pvcs.length === 0) return summary;
  let owners: OwnerIndex;
  try {
    owners = await loadOwners(deps.coordination, scope);
  } catch (error) {
    const forbidden = error instanceof KubeApiError && error.status === 403;
    deps.log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      forbidden
        ? 'no list permission on statefulsets: no templateDrift in the report (update the ClusterRole, cronjob/rbac.yaml)'
        : 'listing statefulsets failed: no templateDrift in the report',
    );
    return summary;
  }
  if (owners.size === 0) return summary;
  const pvcs = summary.pvcs.map((outcome) => {
    const templateDrift = templateDriftOf(owners, {
      namespace: outcome.namespace,
      name: outcome.name,
      requestBytes: outcome.requestBytes,
    });
    return templateDrift === undefined ? outcome : { ...outcome, templateDrift };
  });
  return { ...summary, pvcs };
}

/** `pvc-chonker drift`: every PVC is read (managed or not), in pages; only owned ones are kept. */
export async function driftReport(
  deps: { cluster: Cluster; coordination: Coordination },
  scope: DriftScope,
): Promise<DriftRow[]> {
  const owners = await loadOwners(deps.coordination, scope);
  const claims: { namespace: string; drift: TemplateDrift }[] = [];
  if (owners.size === 0) return [];
  for await (const page of deps.cluster.listPvcs(scope.namespaces, scope.pageSize)) {
    for (const pvc of page) {
      const drift = templateDriftOf(owners, pvc);
      if (drift !== undefined) claims.push({ namespace: pvc.namespace, drift });
    }
  }
  return summarizeDrift(claims);
}

/** The size to write into the manifests: the largest claim when it outgrew the template. */
export function manifestBytes(row: DriftRow): bigint | undefined {
  const bytes = driftBytes(row);
  return bytes !== undefined && bytes > 0n ? row.largestBytes : row.templateBytes;
}

function size(bytes: bigint | undefined): string | null {
  return bytes === undefined ? null : formatQuantity(bytes);
}

/** One row of `drift --output json`. */
export function driftJson(row: DriftRow, cluster: string | undefined): Record<string, unknown> {
  return {
    ...(cluster === undefined ? {} : { cluster }),
    namespace: row.namespace,
    statefulSet: row.statefulSet,
    template: row.template,
    claims: row.claims,
    driftedClaims: row.driftedClaims,
    templateSize: size(row.templateBytes),
    largestClaimSize: size(row.largestBytes),
    manifestSize: size(manifestBytes(row)),
    inSync: row.driftedClaims === 0,
  };
}

/** The table of `pvc-chonker drift`: one line per StatefulSet template, and what to do. */
export function formatDriftTable(rows: readonly { cluster?: string; row: DriftRow }[]): string {
  const withCluster = rows.some((entry) => entry.cluster !== undefined);
  const header = [
    ...(withCluster ? ['CLUSTER'] : []),
    'NAMESPACE',
    'STATEFULSET',
    'TEMPLATE',
    'CLAIMS',
    'TEMPLATE-SIZE',
    'LARGEST-CLAIM',
    'SET-IN-MANIFESTS',
  ];
  const lines = rows.map(({ cluster, row }) => [
    ...(withCluster ? [cluster ?? '-'] : []),
    row.namespace,
    row.statefulSet,
    row.template,
    `${row.claims}${row.driftedClaims > 0 ? ` (${row.driftedClaims} drifted)` : ''}`,
    size(row.templateBytes) ?? '-',
    size(row.largestBytes) ?? '-',
    row.driftedClaims === 0 ? 'in sync' : (size(manifestBytes(row)) ?? '-'),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ');
  const drifted = rows.filter(({ row }) => row.driftedClaims > 0).length;
  const footer =
    rows.length === 0
      ? 'no PVC created from a StatefulSet volumeClaimTemplate'
      : `${rows.length} templates, ${drifted} drifted: set volumeClaimTemplates[].spec.resources.requests.storage to SET-IN-MANIFESTS (docs/operations.md, "StatefulSets and GitOps")`;
  return [render(header), ...lines.map(render), '', footer].join('\n') + '\n';
}
