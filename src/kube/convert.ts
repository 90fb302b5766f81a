/**
 * API objects → the core's typed snapshots. This is the edge where untyped data from the API
 * server is validated once; nothing past it sees a V1PersistentVolumeClaim.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import type { PersistentVolumeInfo, PvcSnapshot, StorageClassInfo } from '../core/pvc.js';
import { parseQuantity } from '../core/quantity.js';

function bytesOf(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const parsed = parseQuantity(text);
  return parsed.ok ? parsed.value : undefined;
}

export function toPvcSnapshot(pvc: V1PersistentVolumeClaim): PvcSnapshot {
  const metadata = pvc.metadata ?? {};
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    uid: metadata.uid ?? '',
    resourceVersion: metadata.resourceVersion ?? '',
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    phase: pvc.status?.phase,
    volumeMode: pvc.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem',
    storageClassName: pvc.spec?.storageClassName,
    volumeName: pvc.spec?.volumeName,
    requestBytes: bytesOf(pvc.spec?.resources?.requests?.['storage']),
    capacityBytes: bytesOf(pvc.status?.capacity?.['storage']),
    conditionTypes: (pvc.status?.conditions ?? []).filter((c) => c.status !== 'False').map((c) => c.type),
    allocatedResourceStatus: pvc.status?.allocatedResourceStatuses?.['storage'],
  };
}

const ZONE_KEYS = [
  'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.ebs.csi.aws.com/zone',
  'topology.gke.io/zone',
];

function zoneOf(pv: V1PersistentVolume): string | undefined {
  for (const key of ZONE_KEYS) {
    const label = pv.metadata?.labels?.[key];
    if (label !== undefined) return label;
  }
  for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    const match = term.matchExpressions?.find((e) => ZONE_KEYS.includes(e.key) && e.operator === 'In');
    if (match?.values?.[0] !== undefined) return match.values[0];
  }
  return undefined;
}

export function toPersistentVolumeInfo(pv: V1PersistentVolume): PersistentVolumeInfo {
  return {
    name: pv.metadata?.name ?? '',
    capacityBytes: bytesOf(pv.spec?.capacity?.['storage']),
    csiDriver: pv.spec?.csi?.driver,
    volumeHandle: pv.spec?.csi?.volumeHandle,
    awsElasticBlockStoreVolumeId: pv.spec?.awsElasticBlockStore?.volumeID,
    gcePersistentDiskName: pv.spec?.gcePersistentDisk?.pdName,
    zone: zoneOf(pv),
  };
}

export function toStorageClassInfo(storageClass: V1StorageClass): StorageClassInfo {
  return {
    name: storageClass.metadata?.name ?? '',
    provisioner: storageClass.provisioner,
    allowVolumeExpansion: storageClass.allowVolumeExpansion === true,
    parameters: storageClass.parameters ?? {},
  };
}
