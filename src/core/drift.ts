/**
 * PVCs created from a StatefulSet's volumeClaimTemplates, and how far pvc-chonker has grown them
 * past the template. Kubernetes does not let a template be resized (KEP-4650 has not shipped), so
 * after an expansion the manifests say one size and the PVCs another: GitOps tools show the
 * StatefulSet out of sync, and a new replica starts at the old size. Pure: parsed once from the
 * API server's JSON, then matched by name.
 */
import { isRecord } from './json.js';
import { readObjectMeta } from './pvc-policy.js';
import { parseQuantity } from './quantity.js';

/** One volumeClaimTemplate: its name and spec.resources.requests.storage. */
export interface ClaimTemplate {
  name: string;
  /** Undefined when the template has no (valid) storage request. */
  requestBytes: bigint | undefined;
}

export interface StatefulSetInfo {
  namespace: string;
  name: string;
  templates: readonly ClaimTemplate[];
}

/** A PVC owned through a StatefulSet: its template's size against its own request. */
export interface TemplateDrift {
  statefulSet: string;
  template: string;
  templateBytes: bigint | undefined;
  /** The PVC's spec.resources.requests.storage (after the pass, when it expanded the PVC). */
  pvcBytes: bigint | undefined;
}

function readTemplate(entry: unknown): ClaimTemplate | undefined {
  if (!isRecord(entry) || !isRecord(entry['metadata'])) return undefined;
  const name = entry['metadata']['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const spec = isRecord(entry['spec']) ? entry['spec'] : {};
  const resources = isRecord(spec['resources']) ? spec['resources'] : {};
  const requests = isRecord(resources['requests']) ? resources['requests'] : {};
  const storage = requests['storage'];
  const parsed = typeof storage === 'string' ? parseQuantity(storage) : undefined;
  return { name, requestBytes: parsed?.ok === true ? parsed.value : undefined };
}

/** A StatefulSet from the API server's JSON; undefined without a name or claim templates. */
export function parseStatefulSet(object: unknown): StatefulSetInfo | undefined {
  const metadata = readObjectMeta(object);
  if (metadata === undefined || !isRecord(object) || !isRecord(object['spec'])) return undefined;
  const raw = object['spec']['volumeClaimTemplates'];
  const templates = (Array.isArray(raw) ? raw : []).flatMap((entry) => readTemplate(entry) ?? []);
  if (templates.length === 0) return undefined;
  return { namespace: metadata.namespace, name: metadata.name, templates };
}

interface Owner {
  statefulSet: StatefulSetInfo;
  template: ClaimTemplate;
}

/** StatefulSets by the claim-name prefix each template gives: `namespace/template-set`. */
export type OwnerIndex = ReadonlyMap<string, Owner>;

/**
 * The StatefulSet controller names a replica's claim `<template>-<set>-<ordinal>` and finds it
 * by that name alone (a PVC made beforehand with that name is adopted), so the name is the rule
 * here too. Two pairs giving the same prefix ("a-b" + "c", "a" + "b-c") keep the first by name.
 */
export function indexStatefulSets(sets: readonly StatefulSetInfo[]): OwnerIndex {
  const index = new Map<string, Owner>();
  const sorted = [...sets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const statefulSet of sorted) {
    for (const template of statefulSet.templates) {
      const key = `${statefulSet.namespace}/${template.name}-${statefulSet.name}`;
      if (!index.has(key)) index.set(key, { statefulSet, template });
    }
  }
  return index;
}

const ORDINAL = /-(\d+)$/;

/** The StatefulSet and template whose replica would mount this claim, if any. */
export function claimOwner(
  index: OwnerIndex,
  pvc: { namespace: string; name: string },
): Owner | undefined {
  const ordinal = ORDINAL.exec(pvc.name);
  if (ordinal === null) return undefined;
  return index.get(`${pvc.namespace}/${pvc.name.slice(0, ordinal.index)}`);
}

/** The drift of one PVC, or undefined when no StatefulSet owns it. */
export function templateDriftOf(
  index: OwnerIndex,
  pvc: { namespace: string; name: string; requestBytes: bigint | undefined },
): TemplateDrift | undefined {
  const owner = claimOwner(index, pvc);
  if (owner === undefined) return undefined;
  return {
    statefulSet: owner.statefulSet.name,
    template: owner.template.name,
    templateBytes: owner.template.requestBytes,
    pvcBytes: pvc.requestBytes,
  };
}

/** Whether the template and the PVC disagree (both known). */
export function drifted(drift: TemplateDrift): boolean {
  return (
    drift.templateBytes !== undefined &&
    drift.pvcBytes !== undefined &&
    drift.templateBytes !== drift.pvcBytes
  );
}

/** One template of one StatefulSet, over the claims it owns: what `pvc-chonker drift` prints. */
export interface DriftRow {
  namespace: string;
  statefulSet: string;
  template: string;
  templateBytes: bigint | undefined;
  claims: number;
  /** The largest request among the claims: a new replica needs at least this. */
  largestBytes: bigint | undefined;
  /** Claims whose request differs from the template. */
  driftedClaims: number;
}

function rowKey(namespace: string, statefulSet: string, template: string): string {
  return `${namespace}/${statefulSet}/${template}`;
}

/**
 * Per StatefulSet and template, the claims it owns and the largest of their requests: the size
 * to write into the manifests. Templates without a claim are left out. Sorted by namespace, set
 * and template.
 */
export function summarizeDrift(
  claims: Iterable<{ namespace: string; drift: TemplateDrift }>,
): DriftRow[] {
  const rows = new Map<string, DriftRow>();
  for (const { namespace, drift } of claims) {
    const key = rowKey(namespace, drift.statefulSet, drift.template);
    const row = rows.get(key) ?? {
      namespace,
      statefulSet: drift.statefulSet,
      template: drift.template,
      templateBytes: drift.templateBytes,
      claims: 0,
      largestBytes: undefined,
      driftedClaims: 0,
    };
    row.claims += 1;
    if (drifted(drift)) row.driftedClaims += 1;
    if (drift.pvcBytes !== undefined && (row.largestBytes ?? -1n) < drift.pvcBytes)
      row.largestBytes = drift.pvcBytes;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => {
    const left = rowKey(a.namespace, a.statefulSet, a.template);
    const right = rowKey(b.namespace, b.statefulSet, b.template);
    return left < right ? -1 : left > right ? 1 : 0;
  });
}

/** driftRows over every listed PVC (managed or not): what `pvc-chonker drift` prints. */
export function driftRows(
  sets: readonly StatefulSetInfo[],
  pvcs: Iterable<{ namespace: string; name: string; requestBytes: bigint | undefined }>,
): DriftRow[] {
  const index = indexStatefulSets(sets);
  const claims: { namespace: string; drift: TemplateDrift }[] = [];
  for (const pvc of pvcs) {
    const drift = templateDriftOf(index, pvc);
    if (drift !== undefined) claims.push({ namespace: pvc.namespace, drift });
  }
  return summarizeDrift(claims);
}

/**
 * largest − template in bytes, the value of pvc_chonker_template_drift_bytes: above 0 when the
 * PVCs outgrew the template; undefined when either size is unknown.
 */
export function driftBytes(
  row: Pick<DriftRow, 'templateBytes' | 'largestBytes'>,
): bigint | undefined {
  if (row.templateBytes === undefined || row.largestBytes === undefined) return undefined;
  return row.largestBytes - row.templateBytes;
}
