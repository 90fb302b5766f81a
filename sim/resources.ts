// The resources the simulated API server knows, in the shape discovery advertises them.
import { INSTALL_RESOURCES, type InstallKind } from './install-resources.js';

export type SimKind =
  | 'PersistentVolumeClaim'
  | 'PersistentVolume'
  | 'StorageClass'
  | 'VolumeAttributesClass'
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
  // Longhorn's (longhorn.io/v1beta2), read by the Longhorn provider. Its Node is not core's
  // Node: ids differ from the kind on the wire (`kindName`).
  | 'LonghornNode'
  | 'LonghornReplica'
  | 'LonghornVolume'
  | 'LonghornSetting'
  // Other projects' custom resources that pvc-chonker reads (CSI snapshots, Velero).
  | 'VolumeSnapshot'
  | 'Backup';

export interface ResourceInfo {
  /** The sim's id of the kind; also the kind on the wire unless `kindName` says otherwise. */
  kind: SimKind;
  /** The kind on the wire, when two groups have a kind of the same name (Longhorn's Node). */
  kindName?: string;
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
  // GA in storage.k8s.io/v1 since Kubernetes 1.34; served by default.
  {
    kind: 'VolumeAttributesClass',
    resource: 'volumeattributesclasses',
    singular: 'volumeattributesclass',
    group: 'storage.k8s.io',
    version: 'v1',
    namespaced: false,
    shortNames: ['vac'],
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
  ...(
    [
      ['LonghornNode', 'Node', 'nodes', 'lhn'],
      ['LonghornReplica', 'Replica', 'replicas', 'lhr'],
      ['LonghornVolume', 'Volume', 'volumes', 'lhv'],
      ['LonghornSetting', 'Setting', 'settings', 'lhs'],
    ] as const
  ).map(([kind, kindName, resource, shortName]): ResourceInfo => ({
    kind,
    kindName,
    resource,
    singular: kindName.toLowerCase(),
    group: 'longhorn.io',
    version: 'v1beta2',
    namespaced: true,
    shortNames: [shortName],
    verbs: RW,
    subresources: ['status'],
    crd: `${resource}.longhorn.io`,
  })),
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
  'VolumeAttributesClass',
  ...INSTALL_RESOURCES.map((r) => r.kind),
  'Secret',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'CustomResourceDefinition',
  'PVCPolicy',
  'PVCGroup',
  'LonghornNode',
  'LonghornReplica',
  'LonghornVolume',
  'LonghornSetting',
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

/** The kind as objects of this resource carry it on the wire. */
export function wireKind(info: ResourceInfo): string {
  return info.kindName ?? info.kind;
}

/**
 * The sim's kind of an object, from its `kind` and the group of its `apiVersion` (Longhorn's Node
 * is longhorn.io/v1beta2, core's is v1); undefined for kinds the sim does not know.
 */
export function simKindOf(o: { kind?: unknown; apiVersion?: unknown }): SimKind | undefined {
  const { kind, apiVersion } = o;
  if (typeof kind !== 'string') return undefined;
  const group =
    typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const found = RESOURCES.find((r) => wireKind(r) === kind && r.group === group);
  if (found !== undefined) return found.kind;
  // No exact match (apiVersion left out, or an older group version): the name decides, as before
  // kinds of the same name existed.
  return isSimKind(kind) ? kind : undefined;
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}
