/**
 * API objects → the core's typed snapshots. This is the edge where untyped data from the API
 * server is validated once; nothing past it sees a V1PersistentVolumeClaim.
 */
import type {
  V1ObjectMeta,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { PersistentVolumeInfo, PvcSnapshot, StorageClassInfo } from '../core/pvc.js';
import { parseQuantity } from '../core/quantity.js';
import type { VolumeAttributesClassInfo } from '../core/volume-type.js';

/**
 * Parsed quantities by their text. A fleet has few distinct sizes, and each of its PVCs and PVs
 * carries two or three: parsing each text once saves tens of thousands of BigInt parses a pass.
 * Bounded, as a cluster with many odd sizes must not grow it without limit.
 */
const parsedQuantities = new Map<string, bigint | undefined>();
const MAX_PARSED_QUANTITIES = 4096;

function bytesOf(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  if (parsedQuantities.has(text)) return parsedQuantities.get(text);
  const parsed = parseQuantity(text);
  const bytes = parsed.ok ? parsed.value : undefined;
  if (parsedQuantities.size >= MAX_PARSED_QUANTITIES) parsedQuantities.clear();
  parsedQuantities.set(text, bytes);
  return bytes;
}

function identity(
  metadata: V1ObjectMeta | undefined,
): Pick<PvcSnapshot, 'namespace' | 'name' | 'uid' | 'resourceVersion' | 'labels' | 'annotations'> {
  const {
    namespace = '',
    name = '',
    uid = '',
    resourceVersion = '',
    labels = {},
    annotations = {},
  } = metadata ?? {};
  return { namespace, name, uid, resourceVersion, labels, annotations };
}

const NO_CONDITIONS: readonly string[] = [];

function activeConditions(
  conditions: readonly { type: string; status: string }[] | undefined,
): readonly string[] {
  // Most PVCs have none: they share one empty list.
  if (conditions === undefined || conditions.length === 0) return NO_CONDITIONS;
  const types: string[] = [];
  // A condition with status False is history, not a state.
  for (const condition of conditions) if (condition.status !== 'False') types.push(condition.type);
  return types;
}

/**
 * Called for every PVC of the cluster. Built as one literal: an object spread here cost ten times
 * more (about 10 µs a PVC, 0.2 s of a 20,000-PVC pass) than the plain reads.
 */
export function toPvcSnapshot(pvc: V1PersistentVolumeClaim): PvcSnapshot {
  const id = identity(pvc.metadata);
  const spec = pvc.spec ?? {};
  const status = pvc.status ?? {};
  return {
    namespace: id.namespace,
    name: id.name,
    uid: id.uid,
    resourceVersion: id.resourceVersion,
    labels: id.labels,
    annotations: id.annotations,
    phase: status.phase,
    volumeMode: spec.volumeMode === 'Block' ? 'Block' : 'Filesystem',
    storageClassName: spec.storageClassName,
    volumeAttributesClassName: spec.volumeAttributesClassName,
    volumeName: spec.volumeName,
    requestBytes: bytesOf(spec.resources?.requests?.['storage']),
    capacityBytes: bytesOf(status.capacity?.['storage']),
    conditionTypes: activeConditions(status.conditions),
    allocatedResourceStatus: status.allocatedResourceStatuses?.['storage'],
  };
}

const ZONE_KEYS = [
  'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.ebs.csi.aws.com/zone',
  'topology.gke.io/zone',
];

const NO_AFFINITY: Readonly<Record<string, readonly string[]>> = {};

/** The `In` requirements of the PV's required node affinity, values by key (most PVs have none). */
function affinityOf(pv: V1PersistentVolume): Readonly<Record<string, readonly string[]>> {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (terms === undefined || terms.length === 0) return NO_AFFINITY;
  const values: Record<string, string[]> = {};
  for (const term of terms) {
    for (const e of term.matchExpressions ?? []) {
      if (e.operator !== 'In' || e.values === undefined) continue;
      (values[e.key] ??= []).push(...e.values);
    }
  }
  return values;
}

/** The zone from the PV's labels, else from its node affinity. */
function zoneOf(pv: V1PersistentVolume): string | undefined {
  const labels = pv.metadata?.labels ?? {};
  const labelled = ZONE_KEYS.map((key) => labels[key]).find((zone) => zone !== undefined);
  if (labelled !== undefined) return labelled;
  const expressions = (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).flatMap(
    (term) => term.matchExpressions ?? [],
  );
  return expressions.find((e) => ZONE_KEYS.includes(e.key) && e.operator === 'In')?.values?.[0];
}

export function toPersistentVolumeInfo(pv: V1PersistentVolume): PersistentVolumeInfo {
  const spec = pv.spec ?? {};
  return {
    name: pv.metadata?.name ?? '',
    capacityBytes: bytesOf(spec.capacity?.['storage']),
    csiDriver: spec.csi?.driver,
    volumeHandle: spec.csi?.volumeHandle,
    awsElasticBlockStoreVolumeId: spec.awsElasticBlockStore?.volumeID,
    gcePersistentDiskName: spec.gcePersistentDisk?.pdName,
    zone: zoneOf(pv),
    nodeAffinity: affinityOf(pv),
  };
}

export function toStorageClassInfo(storageClass: V1StorageClass): StorageClassInfo {
  return {
    name: storageClass.metadata?.name ?? '',
    provisioner: storageClass.provisioner,
    allowVolumeExpansion: storageClass.allowVolumeExpansion === true,
    parameters: storageClass.parameters ?? {},
    annotations: storageClass.metadata?.annotations ?? {},
  };
}

/** A VolumeAttributesClass as listed (untrusted JSON); undefined when it has no name or driver. */
export function toVolumeAttributesClassInfo(
  object: unknown,
): VolumeAttributesClassInfo | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const o = object as { metadata?: { name?: unknown }; driverName?: unknown; parameters?: unknown };
  const name = o.metadata?.name;
  if (typeof name !== 'string' || typeof o.driverName !== 'string') return undefined;
  const parameters: Record<string, string> = {};
  if (typeof o.parameters === 'object' && o.parameters !== null) {
    for (const [key, value] of Object.entries(o.parameters)) {
      if (typeof value === 'string') parameters[key] = value;
    }
  }
  return { name, driverName: o.driverName, parameters };
}
