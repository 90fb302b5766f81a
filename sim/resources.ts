// The resources the simulated API server knows, in the shape discovery advertises them.
import { INSTALL_RESOURCES, type InstallKind } from './install-resources.js';

export type SimKind =
  | 'PersistentVolumeClaim'
  | 'PersistentVolume'
  | 'StorageClass'
  | 'Pod'
  | 'Node'
  | 'Event'
  | 'Namespace'
  | InstallKind
  | 'Secret'
  | 'MutatingWebhookConfiguration'
  | 'ValidatingWebhookConfiguration'
  | 'CustomResourceDefinition'
  // Custom kinds: served only while their CRD is stored (see crds.ts).
  | 'PVCPolicy'
  | 'PVCGroup'
  // Other projects' custom resources that pvc-chonker reads (CSI snapshots, Velero).
  | 'VolumeSnapshot'
  | 'Backup';

export interface ResourceInfo {
  kind: SimKind;
  /** Plural resource name used in URLs. */
  resource: string;
  singular: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** Subresources served besides the main resource (discovery lists them as `resource/sub`). */
  subresources: string[];
  categories?: string[];
  /** For a custom resource: the name of the CRD that must be stored for it to be served. */
  crd?: string;
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceInfo[] = [
  {
    kind: 'Namespace',
    resource: 'namespaces',
    singular: 'namespace',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
  },
  {
    kind: 'Node',
    resource: 'nodes',
    singular: 'node',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['no'],
    verbs: RW,
    subresources: ['proxy', 'status'],
  },
  {
    kind: 'PersistentVolume',
    resource: 'persistentvolumes',
    singular: 'persistentvolume',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['pv'],
    verbs: RW,
    subresources: ['status'],
  },
  {
    kind: 'PersistentVolumeClaim',
    resource: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['pvc'],
    verbs: RW,
    subresources: ['status'],
  },
  {
    kind: 'Pod',
    resource: 'pods',
    singular: 'pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    verbs: RW,
    subresources: ['status'],
    categories: ['all'],
  },
  {
    kind: 'Event',
    resource: 'events',
    singular: 'event',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['ev'],
    verbs: RW,
    subresources: [],
  },
  {
    kind: 'StorageClass',
    resource: 'storageclasses',
    singular: 'storageclass',
    group: 'storage.k8s.io',
    version: 'v1',
    namespaced: false,
    shortNames: ['sc'],
    verbs: RW,
    subresources: [],
  },
  {
    kind: 'Secret',
    resource: 'secrets',
    singular: 'secret',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: [],
    verbs: RW,
    subresources: [],
  },
  {
    kind: 'MutatingWebhookConfiguration',
    resource: 'mutatingwebhookconfigurations',
    singular: 'mutatingwebhookconfiguration',
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    namespaced: false,
    shortNames: [],
    verbs: RW,
    subresources: [],
    categories: ['api-extensions'],
  },
  {
    kind: 'ValidatingWebhookConfiguration',
    resource: 'validatingwebhookconfigurations',
    singular: 'validatingwebhookconfiguration',
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    namespaced: false,
    shortNames: [],
    verbs: RW,
    subresources: [],
    categories: ['api-extensions'],
  },
  {
    kind: 'CustomResourceDefinition',
    resource: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    group: 'apiextensions.k8s.io',
    version: 'v1',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    verbs: RW,
    subresources: ['status'],
  },
  // The project's own custom resources; names, columns and schema come from the stored CRD.
  {
    kind: 'PVCPolicy',
    resource: 'pvcpolicies',
    singular: 'pvcpolicy',
    group: 'pvc-chonker.io',
    version: 'v1alpha1',
    namespaced: true,
    shortNames: ['pvcpol'],
    verbs: RW,
    subresources: ['status'],
    crd: 'pvcpolicies.pvc-chonker.io',
  },
  {
    kind: 'PVCGroup',
    resource: 'pvcgroups',
    singular: 'pvcgroup',
    group: 'pvc-chonker.io',
    version: 'v1alpha1',
    namespaced: false,
    shortNames: ['pvcgrp'],
    verbs: RW,
    subresources: ['status'],
    crd: 'pvcgroups.pvc-chonker.io',
  },
  // Other projects' custom resources pvc-chonker waits for; served, like any custom resource,
  // only while a CRD of that name is stored (the tests write minimal ones).
  {
    kind: 'VolumeSnapshot',
    resource: 'volumesnapshots',
    singular: 'volumesnapshot',
    group: 'snapshot.storage.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['vs'],
    verbs: RW,
    subresources: ['status'],
    crd: 'volumesnapshots.snapshot.storage.k8s.io',
  },
  {
    kind: 'Backup',
    resource: 'backups',
    singular: 'backup',
    group: 'velero.io',
    version: 'v1',
    namespaced: true,
    shortNames: [],
    verbs: RW,
    subresources: ['status'],
    crd: 'backups.velero.io',
  },
  // events.k8s.io/v1 is a second view of the same stored Events (the real server does the same).
  {
    kind: 'Event',
    resource: 'events',
    singular: 'event',
    group: 'events.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['ev'],
    verbs: RW,
    subresources: [],
  },
  ...INSTALL_RESOURCES,
];

export const KINDS: readonly SimKind[] = [
  'Namespace',
  'Node',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Pod',
  'Event',
  'StorageClass',
  ...INSTALL_RESOURCES.map((r) => r.kind),
  'Secret',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'CustomResourceDefinition',
  'PVCPolicy',
  'PVCGroup',
  'VolumeSnapshot',
  'Backup',
];

export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceInfo | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/** The canonical (storage) resource of a kind: the core/v1 or storage.k8s.io/v1 one. */
export function resourceForKind(kind: SimKind): ResourceInfo {
  const found = RESOURCES.find((r) => r.kind === kind && r.group !== 'events.k8s.io');
  if (!found) throw new Error(`unknown kind ${kind}`);
  return found;
}

export function isSimKind(value: unknown): value is SimKind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}
