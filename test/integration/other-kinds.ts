/**
 * Other projects' kinds the pass reads, for both test clusters: minimal structural CRDs for CSI
 * VolumeSnapshot (external-snapshotter) and Velero Backup, written here (only the fields
 * pvc-chonker reads, the rest preserved), and builders for their objects and for StatefulSets
 * (built in on the real API server, an install kind in the simulator).
 */

function crd(spec: {
  /** metadata.annotations: a CRD in a *.k8s.io group needs api-approved.kubernetes.io. */
  annotations?: Record<string, string>;
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  columns: { name: string; type: string; jsonPath: string }[];
  schema: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${spec.plural}.${spec.group}`,
      ...(spec.annotations === undefined ? {} : { annotations: spec.annotations }),
    },
    spec: {
      group: spec.group,
      scope: 'Namespaced',
      names: {
        kind: spec.kind,
        listKind: `${spec.kind}List`,
        plural: spec.plural,
        singular: spec.kind.toLowerCase(),
        ...(spec.shortNames === undefined ? {} : { shortNames: spec.shortNames }),
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: spec.columns,
          schema: { openAPIV3Schema: spec.schema },
        },
      ],
    },
  };
}

/** Keeps the fields a schema does not name (a minimal schema must not prune the real ones). */
const OPEN = { 'x-kubernetes-preserve-unknown-fields': true } as const;

export const VOLUME_SNAPSHOT_CRD = crd({
  // A protected community group: the API server refuses the CRD without it (as the real
  // external-snapshotter CRDs carry it).
  annotations: {
    'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter',
  },
  group: 'snapshot.storage.k8s.io',
  kind: 'VolumeSnapshot',
  plural: 'volumesnapshots',
  shortNames: ['vs'],
  columns: [
    { name: 'ReadyToUse', type: 'boolean', jsonPath: '.status.readyToUse' },
    { name: 'SourcePVC', type: 'string', jsonPath: '.spec.source.persistentVolumeClaimName' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  schema: {
    type: 'object',
    required: ['spec'],
    properties: {
      spec: {
        type: 'object',
        required: ['source'],
        ...OPEN,
        properties: {
          source: {
            type: 'object',
            properties: {
              persistentVolumeClaimName: { type: 'string' },
              volumeSnapshotContentName: { type: 'string' },
            },
          },
          volumeSnapshotClassName: { type: 'string' },
        },
      },
      status: {
        type: 'object',
        ...OPEN,
        properties: {
          readyToUse: { type: 'boolean' },
          creationTime: { type: 'string', format: 'date-time' },
          restoreSize: { type: 'string' },
        },
      },
    },
  },
});

export const VELERO_BACKUP_CRD = crd({
  group: 'velero.io',
  kind: 'Backup',
  plural: 'backups',
  columns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  schema: {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        ...OPEN,
        properties: {
          includedNamespaces: { type: 'array', items: { type: 'string' } },
          excludedNamespaces: { type: 'array', items: { type: 'string' } },
          storageLocation: { type: 'string' },
        },
      },
      status: {
        type: 'object',
        ...OPEN,
        properties: {
          phase: { type: 'string' },
          startTimestamp: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
});

/** A VolumeSnapshot of `pvc`; `ready` undefined: no status yet. */
export function volumeSnapshot(
  name: string,
  pvc: string,
  options: { namespace?: string; ready?: boolean; created?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name,
      namespace: options.namespace ?? 'db',
      ...(options.created === undefined ? {} : { creationTimestamp: options.created }),
    },
    spec: { source: { persistentVolumeClaimName: pvc }, volumeSnapshotClassName: 'csi-snapclass' },
    ...(options.ready === undefined ? {} : { status: { readyToUse: options.ready } }),
  };
}

/** A Velero Backup in Velero's namespace. */
export function veleroBackup(
  name: string,
  options: { phase: string; included?: string[]; excluded?: string[]; started?: string },
): Record<string, unknown> {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'velero' },
    spec: {
      storageLocation: 'default',
      ...(options.included === undefined ? {} : { includedNamespaces: options.included }),
      ...(options.excluded === undefined ? {} : { excludedNamespaces: options.excluded }),
    },
    status: {
      phase: options.phase,
      ...(options.started === undefined ? {} : { startTimestamp: options.started }),
    },
  };
}

/** A StatefulSet with volumeClaimTemplates, valid for the real API server. */
export function statefulSet(
  name: string,
  templates: Record<string, string>,
  namespace = 'db',
): Record<string, unknown> {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      serviceName: name,
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
      },
      volumeClaimTemplates: Object.entries(templates).map(([template, size]) => ({
        metadata: { name: template },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'standard',
          resources: { requests: { storage: size } },
        },
      })),
    },
  };
}
