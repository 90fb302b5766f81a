// meta.k8s.io/v1 Table responses for `kubectl get`, with the columns of the real printers
// (pkg/printers/internalversion/printers.go) for the kinds pvc-chonker deals with.
import { arr, meta, obj, readPath, str, type JsonObject } from './json.js';
import type { SimKind } from './resources.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description: string;
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
};
const AGE: Column = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

function col(name: string, description: string, priority = 0): Column {
  return priority === 0
    ? { name, type: 'string', description }
    : { name, type: 'string', priority, description };
}

/** apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  return humanHours(Math.floor(minutes / 60), minutes % 60);
}

function humanHours(hours: number, restMinutes: number): string {
  if (hours < 8) return restMinutes === 0 ? `${hours}h` : `${hours}h${restMinutes}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192)
    return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function age(o: JsonObject, now: Date): string {
  const ts = str(meta(o)['creationTimestamp']);
  return ts === undefined ? '<unknown>' : humanDuration(now.getTime() - Date.parse(ts));
}

const MODES: [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

function accessModes(value: unknown): string {
  const modes = arr(value);
  return MODES.filter(([m]) => modes.includes(m))
    .map(([, s]) => s)
    .join(',');
}

function storageClassOf(o: JsonObject): string {
  return (
    str(readPath(o, 'spec.storageClassName')) ??
    str(obj(meta(o)['annotations'])['volume.beta.kubernetes.io/storage-class']) ??
    ''
  );
}

function pvcRow(o: JsonObject, now: Date): unknown[] {
  const phase =
    meta(o)['deletionTimestamp'] !== undefined
      ? 'Terminating'
      : (str(readPath(o, 'status.phase')) ?? '');
  const volumeName = str(readPath(o, 'spec.volumeName')) ?? '';
  // The printer shows status.capacity and status.accessModes only once a volume is bound.
  const capacity = volumeName === '' ? '' : (str(readPath(o, 'status.capacity.storage')) ?? '0');
  const modes = volumeName === '' ? '' : accessModes(readPath(o, 'status.accessModes'));
  const vac = str(readPath(o, 'spec.volumeAttributesClassName')) ?? '';
  return [
    meta(o)['name'],
    phase,
    volumeName,
    capacity,
    modes,
    storageClassOf(o),
    vac === '' ? '<unset>' : vac,
    age(o, now),
    str(readPath(o, 'spec.volumeMode')) ?? '<unset>',
  ];
}

function pvRow(o: JsonObject, now: Date): unknown[] {
  const ref = obj(readPath(o, 'spec.claimRef'));
  const claim =
    str(ref['name']) === undefined
      ? ''
      : `${str(ref['namespace']) ?? ''}/${str(ref['name']) ?? ''}`;
  return [
    meta(o)['name'],
    str(readPath(o, 'spec.capacity.storage')) ?? '',
    accessModes(readPath(o, 'spec.accessModes')),
    str(readPath(o, 'spec.persistentVolumeReclaimPolicy')) ?? '',
    str(readPath(o, 'status.phase')) ?? '',
    claim,
    storageClassOf(o),
    '<unset>',
    str(readPath(o, 'status.reason')) ?? '',
    age(o, now),
    str(readPath(o, 'spec.volumeMode')) ?? '<unset>',
  ];
}

function vacRow(o: JsonObject, now: Date): unknown[] {
  return [meta(o)['name'], str(o['driverName']) ?? '', age(o, now)];
}

function scRow(o: JsonObject, now: Date): unknown[] {
  const isDefault =
    obj(meta(o)['annotations'])['storageclass.kubernetes.io/is-default-class'] === 'true';
  return [
    isDefault ? `${String(meta(o)['name'])} (default)` : meta(o)['name'],
    str(o['provisioner']) ?? '',
    str(o['reclaimPolicy']) ?? 'Delete',
    str(o['volumeBindingMode']) ?? 'Immediate',
    o['allowVolumeExpansion'] === true,
    age(o, now),
  ];
}

function podRow(o: JsonObject, now: Date): unknown[] {
  const statuses = arr(readPath(o, 'status.containerStatuses')).map(obj);
  const total = arr(readPath(o, 'spec.containers')).length;
  const ready = statuses.filter((s) => s['ready'] === true).length;
  return [
    meta(o)['name'],
    `${ready}/${total}`,
    str(readPath(o, 'status.phase')) ?? '',
    0,
    age(o, now),
    str(readPath(o, 'status.podIP')) ?? '<none>',
    str(readPath(o, 'spec.nodeName')) ?? '<none>',
  ];
}

function nodeRow(o: JsonObject, now: Date): unknown[] {
  const ready = arr(readPath(o, 'status.conditions'))
    .map(obj)
    .find((c) => c['type'] === 'Ready');
  const labels = obj(meta(o)['labels']);
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.split('/')[1])
    .join(',');
  return [
    meta(o)['name'],
    ready?.['status'] === 'True' ? 'Ready' : 'NotReady',
    roles === '' ? '<none>' : roles,
    age(o, now),
    str(readPath(o, 'status.nodeInfo.kubeletVersion')) ?? '',
  ];
}

function eventRow(o: JsonObject, now: Date): unknown[] {
  // printEvent: a series' lastObservedTime wins over lastTimestamp.
  const last =
    str(readPath(o, 'series.lastObservedTime')) ??
    str(o['lastTimestamp']) ??
    str(o['firstTimestamp']) ??
    str(o['eventTime']) ??
    str(meta(o)['creationTimestamp']);
  const lastSeen =
    last === undefined ? '<unknown>' : humanDuration(now.getTime() - Date.parse(last));
  const io = obj(o['involvedObject']);
  return [
    lastSeen,
    str(o['type']) ?? '',
    str(o['reason']) ?? '',
    `${(str(io['kind']) ?? '').toLowerCase()}/${str(io['name']) ?? ''}`,
    str(o['message']) ?? '',
  ];
}

interface Printer {
  columns: Column[];
  row: (o: JsonObject, now: Date) => unknown[];
}

/** Both admission configuration kinds print the same columns, as kubectl shows them. */
const WEBHOOK_CONFIGURATION: Printer = {
  columns: [
    NAME,
    {
      name: 'Webhooks',
      type: 'integer',
      description: 'Webhooks indicates the number of webhooks in the configuration.',
    },
    AGE,
  ],
  row: (o, now) => [meta(o)['name'], arr(o['webhooks']).length, age(o, now)],
};

const PRINTERS: Partial<Record<SimKind, Printer>> = {
  PersistentVolumeClaim: {
    columns: [
      NAME,
      col('Status', 'Status of the PersistentVolumeClaim'),
      col(
        'Volume',
        'volumeName is the binding reference to the PersistentVolume backing this claim.',
      ),
      col('Capacity', 'Requests describes the minimum amount of compute resources required.'),
      col('Access Modes', 'accessModes contains the desired access modes the volume should have.'),
      col('StorageClass', 'StorageClass of the pvc'),
      col('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
      AGE,
      col('VolumeMode', 'volumeMode defines what type of volume is required by the claim.', 1),
    ],
    row: pvcRow,
  },
  PersistentVolume: {
    columns: [
      NAME,
      col(
        'Capacity',
        "capacity is the description of the persistent volume's resources and capacity.",
      ),
      col('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
      col('Reclaim Policy', 'What happens to a persistent volume when released from its claim.'),
      col(
        'Status',
        'Phase indicates if a volume is available, bound to a claim, or released by a claim.',
      ),
      col(
        'Claim',
        'ClaimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
      ),
      col('StorageClass', 'StorageClass of the pv'),
      col('VolumeAttributesClass', 'VolumeAttributesClass of the pv'),
      col('Reason', 'Reason is a brief CamelCase string that describes any failure'),
      AGE,
      col(
        'VolumeMode',
        'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
        1,
      ),
    ],
    row: pvRow,
  },
  StorageClass: {
    columns: [
      NAME,
      col('Provisioner', 'Indicates the type of the provisioner.'),
      col(
        'ReclaimPolicy',
        'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.',
      ),
      col(
        'VolumeBindingMode',
        'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
      ),
      {
        name: 'AllowVolumeExpansion',
        type: 'boolean',
        description: 'AllowVolumeExpansion shows whether the storage class allow volume expand.',
      },
      AGE,
    ],
    row: scRow,
  },
  VolumeAttributesClass: {
    columns: [NAME, col('DriverName', 'Name of the CSI driver This field is immutable.'), AGE],
    row: vacRow,
  },
  Pod: {
    columns: [
      NAME,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      {
        name: 'Restarts',
        type: 'string',
        description:
          'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      },
      AGE,
      col('IP', 'podIP address allocated to the pod.', 1),
      col('Node', 'Name of the Node this pod is assigned to.', 1),
    ],
    row: podRow,
  },
  Node: {
    columns: [
      NAME,
      col('Status', 'The status of the node'),
      col('Roles', 'The roles of the node'),
      AGE,
      col('Version', 'Kubelet Version reported by the node.'),
    ],
    row: nodeRow,
  },
  Secret: {
    columns: [
      NAME,
      col('Type', 'The type of the secret'),
      { name: 'Data', type: 'string', description: 'The number of entries in the secret' },
      AGE,
    ],
    row: (o, now) => [
      meta(o)['name'],
      str(o['type']) ?? '',
      Object.keys(obj(o['data'])).length,
      age(o, now),
    ],
  },
  MutatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
  ValidatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
  Namespace: {
    columns: [NAME, col('Status', 'The status of the namespace'), AGE],
    row: (o, now) => [meta(o)['name'], str(readPath(o, 'status.phase')) ?? '', age(o, now)],
  },
  Event: {
    columns: [
      col('Last Seen', 'Time when this Event was last seen'),
      col('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
      col(
        'Reason',
        'This should be a short, machine understandable string that gives the reason for this event being generated.',
      ),
      col('Object', 'The object that this event is about.'),
      col('Message', 'A human-readable description of the status of this operation.'),
    ],
    row: eventRow,
  },
};

function partialMetadata(o: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) };
}

export function toTable(
  kind: SimKind,
  items: JsonObject[],
  listMeta: JsonObject,
  now: Date,
): JsonObject {
  const printer: Printer = PRINTERS[kind] ?? {
    columns: [
      NAME,
      {
        name: 'Created At',
        type: 'date',
        description:
          'CreationTimestamp is a timestamp representing the server time when this object was created.',
      },
    ],
    row: (o) => [meta(o)['name'], meta(o)['creationTimestamp']],
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: printer.columns.map((c) => ({ priority: 0, format: '', ...c })),
    rows: items.map((o) => ({ cells: printer.row(o, now), object: partialMetadata(o) })),
  };
}

/** True when the Accept header asks for a Table (kubectl get does, with JSON as fallback). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}
