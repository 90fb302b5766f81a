/**
 * Longhorn through the Kubernetes API (longhorn.io/v1beta2 in --longhorn-namespace): its settings
 * and nodes once per pass, the replicas of the candidates' volumes (by the `longhornvolume`
 * label, as Longhorn lists them), each candidate's volume, then a pure verdict per volume
 * (longhorn-rule.ts).
 */
import { mapWithConcurrency } from '../concurrency.js';
import { isRecord } from '../core/json.js';
import { pvcKey } from '../core/pvc.js';
import { err, ok, type Result } from '../core/result.js';
import {
  diskKey,
  LONGHORN_DEFAULT_SETTINGS,
  longhornVerdicts,
  type LonghornDisk,
  type LonghornFacts,
  type LonghornItem,
  type LonghornReplica,
  type LonghornSettings,
  type LonghornVolume,
} from './longhorn-rule.js';
import { chunks, guardedList, type ListCall } from './onprem-kube.js';
import type { ProviderRuntime } from './runtime.js';
import {
  verdictRefused,
  type ExpansionCandidate,
  type KubeReader,
  type ProviderVerdict,
} from './types.js';

const API = '/apis/longhorn.io/v1beta2';
/** Volume names per `in (...)` selector. */
const VOLUMES_PER_LIST = 50;
/** Volume reads in flight at once. */
const VOLUME_CONCURRENCY = 4;

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Longhorn's int64 byte counts arrive as JSON numbers. */
function bytes(value: unknown): bigint | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
}

function call(namespace: string, resource: string, query: Record<string, string>): ListCall {
  return {
    operation: `list ${resource}.longhorn.io`,
    path: `${API}/namespaces/${namespace}/${resource}`,
    query: { limit: '500', ...query },
    grant: `list on ${resource}.longhorn.io`,
    notFound: `are Longhorn's longhorn.io/v1beta2 CRDs installed?`,
  };
}

/** One setting's whole-number value, Longhorn's default when it is missing. */
function percentSetting(
  values: ReadonlyMap<string, string>,
  name: keyof typeof LONGHORN_DEFAULT_SETTINGS,
): Result<bigint> {
  const value = values.get(name);
  if (value === undefined) return ok(LONGHORN_DEFAULT_SETTINGS[name]);
  if (/^\d{1,6}$/.test(value.trim())) return ok(BigInt(value.trim()));
  return err(`setting ${name} is '${value}', not a whole number`);
}

export function parseSettings(items: readonly unknown[]): Result<LonghornSettings> {
  const values = new Map<string, string>();
  for (const item of items) {
    const name = field(item, 'metadata', 'name');
    const value = field(item, 'value');
    if (typeof name === 'string' && typeof value === 'string') values.set(name, value);
  }
  const over = percentSetting(values, 'storage-over-provisioning-percentage');
  if (!over.ok) return over;
  const minimal = percentSetting(values, 'storage-minimal-available-percentage');
  if (!minimal.ok) return minimal;
  return ok({
    overProvisioningPercent: over.value,
    minimalAvailablePercent: minimal.value,
    version: values.get('current-longhorn-version'),
  });
}

function parseDisk(
  node: string,
  name: string,
  status: unknown,
  spec: unknown,
): [string, Result<LonghornDisk>] | undefined {
  const uuid = field(status, 'diskUUID');
  if (typeof uuid !== 'string' || uuid === '') return undefined;
  const maximumBytes = bytes(field(status, 'storageMaximum'));
  const availableBytes = bytes(field(status, 'storageAvailable'));
  const scheduledBytes = bytes(field(status, 'storageScheduled') ?? 0);
  const reservedBytes = bytes(field(spec, 'storageReserved') ?? 0);
  const key = diskKey(node, uuid);
  if (
    maximumBytes === undefined ||
    availableBytes === undefined ||
    scheduledBytes === undefined ||
    reservedBytes === undefined
  ) {
    return [
      key,
      err(
        `disk ${name} of Longhorn node ${node} has no integer storageMaximum, storageAvailable, storageScheduled or storageReserved`,
      ),
    ];
  }
  return [
    key,
    ok({ node, name, uuid, maximumBytes, availableBytes, scheduledBytes, reservedBytes }),
  ];
}

export function parseNodes(items: readonly unknown[]): {
  nodes: Set<string>;
  disks: Map<string, Result<LonghornDisk>>;
} {
  const nodes = new Set<string>();
  const disks = new Map<string, Result<LonghornDisk>>();
  for (const item of items) {
    const node = field(item, 'metadata', 'name');
    if (typeof node !== 'string') continue;
    nodes.add(node);
    const statuses = field(item, 'status', 'diskStatus');
    if (!isRecord(statuses)) continue;
    for (const [name, status] of Object.entries(statuses)) {
      const disk = parseDisk(node, name, status, field(item, 'spec', 'disks', name));
      if (disk !== undefined) disks.set(...disk);
    }
  }
  return { nodes, disks };
}

export function parseReplica(item: unknown): LonghornReplica | undefined {
  const volumeName = field(item, 'spec', 'volumeName');
  if (typeof volumeName !== 'string') return undefined;
  return {
    volumeName,
    nodeId: text(field(item, 'spec', 'nodeID')),
    diskId: text(field(item, 'spec', 'diskID')),
  };
}

export function parseVolume(item: unknown): LonghornVolume | undefined {
  const name = field(item, 'metadata', 'name');
  if (typeof name !== 'string') return undefined;
  const state = field(item, 'status', 'state');
  return {
    name,
    dataEngine: text(field(item, 'spec', 'dataEngine')),
    frontend: text(field(item, 'spec', 'frontend')),
    state: typeof state === 'string' ? state : undefined,
  };
}

type Read<T> = Result<T, ProviderVerdict>;

async function list(rt: ProviderRuntime, kube: KubeReader, c: ListCall): Promise<Read<unknown[]>> {
  const listed = await guardedList(rt, kube, c);
  return listed.ok ? ok(listed.items) : err(listed.verdict);
}

async function readReplicas(
  rt: ProviderRuntime,
  kube: KubeReader,
  volumes: readonly string[],
): Promise<Read<Map<string, LonghornReplica[]>>> {
  const byVolume = new Map<string, LonghornReplica[]>();
  const ns = rt.options.longhornNamespace;
  for (const chunk of chunks(volumes, VOLUMES_PER_LIST)) {
    const selector = { labelSelector: `longhornvolume in (${chunk.join(',')})` };
    const listed = await list(rt, kube, call(ns, 'replicas', selector));
    if (!listed.ok) return listed;
    for (const item of listed.value) {
      const replica = parseReplica(item);
      // The label is Longhorn's index; spec.volumeName is what the replica belongs to.
      if (replica === undefined || !chunk.includes(replica.volumeName)) continue;
      byVolume.set(replica.volumeName, [...(byVolume.get(replica.volumeName) ?? []), replica]);
    }
  }
  return ok(byVolume);
}

async function readVolumes(
  rt: ProviderRuntime,
  kube: KubeReader,
  names: readonly string[],
): Promise<Read<Map<string, LonghornVolume>>> {
  const ns = rt.options.longhornNamespace;
  // A list with a name field selector per volume: list is the only verb granted.
  const reads = await mapWithConcurrency(names, VOLUME_CONCURRENCY, (name) =>
    list(rt, kube, call(ns, 'volumes', { fieldSelector: `metadata.name=${name}` })),
  );
  const volumes = new Map<string, LonghornVolume>();
  for (const read of reads) {
    if (!read.ok) return read;
    for (const volume of read.value.map(parseVolume))
      if (volume !== undefined) volumes.set(volume.name, volume);
  }
  return ok(volumes);
}

/** Settings and nodes once, then the candidates' replicas and volumes; the first failure ends it. */
async function readFacts(
  rt: ProviderRuntime,
  kube: KubeReader,
  volumes: readonly string[],
): Promise<Read<LonghornFacts>> {
  const namespace = rt.options.longhornNamespace;
  const settingItems = await list(rt, kube, call(namespace, 'settings', {}));
  if (!settingItems.ok) return settingItems;
  const settings = parseSettings(settingItems.value);
  if (!settings.ok) return err(verdictRefused('longhorn', 'provider-error', settings.error));
  const nodeItems = await list(rt, kube, call(namespace, 'nodes', {}));
  if (!nodeItems.ok) return nodeItems;
  const replicas = await readReplicas(rt, kube, volumes);
  if (!replicas.ok) return replicas;
  const read = await readVolumes(rt, kube, volumes);
  if (!read.ok) return read;
  return ok({
    settings: settings.value,
    ...parseNodes(nodeItems.value),
    replicas: replicas.value,
    volumes: read.value,
    namespace,
  });
}

export async function checkLonghorn(
  candidates: readonly ExpansionCandidate[],
  rt: ProviderRuntime,
  kube: KubeReader,
): Promise<Map<string, ProviderVerdict>> {
  const verdicts = new Map<string, ProviderVerdict>();
  const items: LonghornItem[] = [];
  for (const candidate of candidates) {
    const key = pvcKey(candidate.pvc);
    const volume = candidate.pv?.volumeHandle;
    if (volume === undefined || volume === '') {
      verdicts.set(
        key,
        verdictRefused(
          'longhorn',
          'provider-error',
          'no Longhorn volume (spec.csi.volumeHandle) in the PersistentVolume',
        ),
      );
    } else items.push({ key, candidate, volume });
  }
  if (items.length === 0) return verdicts;
  const facts = await readFacts(rt, kube, [...new Set(items.map((i) => i.volume))].sort());
  if (!facts.ok) {
    for (const item of items) verdicts.set(item.key, facts.error);
    return verdicts;
  }
  for (const [key, verdict] of longhornVerdicts(items, facts.value, rt.options.onpremReserveBytes))
    verdicts.set(key, verdict);
  return verdicts;
}
