/**
 * On-premises storage as a cluster shows it, for both test clusters: Nodes with TopoLVM's
 * capacity annotations, and Longhorn's custom resources under minimal structural CRDs (the
 * fields pvc-chonker reads, typed as Longhorn's own CRDs type them: byte counts are int64).
 */
import type { JsonObject } from '../../sim/json.js';

const GI = 1024 ** 3;

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', format: 'int64' };

function object(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties };
}

function mapOf(value: Schema): Schema {
  return { type: 'object', additionalProperties: value };
}

function crd(
  kind: string,
  plural: string,
  properties: Record<string, Schema>,
  status: boolean,
): JsonObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.longhorn.io` },
    spec: {
      group: 'longhorn.io',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1beta2',
          served: true,
          storage: true,
          ...(status ? { subresources: { status: {} } } : {}),
          schema: { openAPIV3Schema: object(properties) },
        },
      ],
    },
  };
}

export const LONGHORN_NAMESPACE = 'longhorn-system';

/** nodes, replicas, volumes and settings.longhorn.io, v1beta2, with the status subresource. */
export const LONGHORN_CRDS: readonly JsonObject[] = [
  crd(
    'Node',
    'nodes',
    {
      spec: object({
        disks: mapOf(
          object({ path: str, storageReserved: int, allowScheduling: { type: 'boolean' } }),
        ),
      }),
      status: object({
        diskStatus: mapOf(
          object({
            diskUUID: str,
            storageAvailable: int,
            storageMaximum: int,
            storageScheduled: int,
          }),
        ),
      }),
    },
    true,
  ),
  crd(
    'Replica',
    'replicas',
    {
      spec: object({ volumeName: str, nodeID: str, diskID: str, dataEngine: str, volumeSize: str }),
      status: object({ currentState: str }),
    },
    true,
  ),
  crd(
    'Volume',
    'volumes',
    {
      spec: object({
        size: str,
        numberOfReplicas: { type: 'integer' },
        dataEngine: str,
        frontend: str,
      }),
      status: object({ state: str }),
    },
    true,
  ),
  // Longhorn's Setting keeps its value at the top level.
  crd('Setting', 'settings', { value: str }, false),
];

function meta(name: string, extra: JsonObject = {}): JsonObject {
  return { name, namespace: LONGHORN_NAMESPACE, ...extra };
}

export function longhornSetting(name: string, value: string): JsonObject {
  return { apiVersion: 'longhorn.io/v1beta2', kind: 'Setting', metadata: meta(name), value };
}

export interface DiskSpec {
  name: string;
  uuid: string;
  maxGi: number;
  availableGi: number;
  scheduledGi: number;
  reservedGi?: number;
}

export function longhornNode(name: string, disks: readonly DiskSpec[]): JsonObject {
  return {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Node',
    metadata: meta(name),
    spec: {
      disks: Object.fromEntries(
        disks.map((d) => [
          d.name,
          {
            path: `/var/lib/longhorn-${d.name}`,
            storageReserved: (d.reservedGi ?? 0) * GI,
            allowScheduling: true,
          },
        ]),
      ),
    },
    status: {
      diskStatus: Object.fromEntries(
        disks.map((d) => [
          d.name,
          {
            diskUUID: d.uuid,
            storageMaximum: d.maxGi * GI,
            storageAvailable: d.availableGi * GI,
            storageScheduled: d.scheduledGi * GI,
          },
        ]),
      ),
    },
  };
}

export function longhornVolume(
  name: string,
  o: { dataEngine?: string; frontend?: string; state?: string; sizeGi?: number } = {},
): JsonObject {
  return {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Volume',
    metadata: meta(name),
    spec: {
      size: String((o.sizeGi ?? 10) * GI),
      numberOfReplicas: 2,
      dataEngine: o.dataEngine ?? 'v1',
      frontend: o.frontend ?? 'blockdev',
    },
    status: { state: o.state ?? 'attached' },
  };
}

/** A replica as Longhorn names and labels them: `<volume>-r-<n>`, label longhornvolume. */
export function longhornReplica(
  volume: string,
  n: number,
  node: string,
  diskUuid: string,
): JsonObject {
  return {
    apiVersion: 'longhorn.io/v1beta2',
    kind: 'Replica',
    metadata: meta(`${volume}-r-${n}`, { labels: { longhornvolume: volume } }),
    spec: { volumeName: volume, nodeID: node, diskID: diskUuid, dataEngine: 'v1' },
    status: { currentState: 'running' },
  };
}

/** A core Node running TopoLVM: its topology label and the free bytes of each device class. */
export function topolvmNode(name: string, free: Record<string, string>): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'topology.topolvm.io/node': name, 'kubernetes.io/hostname': name },
      annotations: Object.fromEntries(
        Object.entries(free).map(([deviceClass, bytes]) => [
          `capacity.topolvm.io/${deviceClass}`,
          bytes,
        ]),
      ),
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function storageClass(
  name: string,
  provisioner: string,
  parameters: Record<string, string> = {},
): JsonObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    parameters,
    allowVolumeExpansion: true,
  };
}

export function namespace(name: string): JsonObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}
