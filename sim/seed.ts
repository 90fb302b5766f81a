// Seed files: multi-document YAML of ordinary Kubernetes objects plus sim-only SimVolumeUsage
// documents. Static files cannot hold "five minutes ago", so string values may contain
// ${now}, ${now-5m} or ${now+2h} (units s, m, h, d), expanded to RFC 3339 at load time.
import { VAC_PROTECTION_FINALIZER } from './volume-attributes-classes.js';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { isObject, obj, str, type JsonObject } from './json.js';
import { resourceForKind, simKindOf, type SimKind } from './resources.js';
import { kubeTime } from './store.js';

export const SIM_API_VERSION = 'sim.pvc-chonker.io/v1';

/** Sizes accept bytes as number/bigint or a quantity string such as "8Gi". */
export type SizeInput = bigint | number | string;

export interface SimVolumeUsage {
  namespace: string;
  pvc: string;
  /** Bytes in use; constant across a resize, so the used ratio drops once capacity grows. */
  usedBytes: SizeInput;
  /** Inode total at the claim's seeded capacity; scales with the filesystem on growth. */
  inodes?: number;
  inodesUsed?: number;
  /** Filesystem overhead: the kubelet reports capacityBytes = status.capacity - this (default 0). */
  fsOverheadBytes?: SizeInput;
  /** The kubelet on the node running this claim's pod fails its /stats/summary. */
  kubeletFails?: boolean;
}

export interface SimSeed {
  objects: JsonObject[];
  usage: SimVolumeUsage[];
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `${now}`, `${now-5m}`, `${now+2h}`: RFC 3339 seconds; `${unix:now-6h}`: Unix seconds (as the
 * pvc-chonker.io/usage-samples annotation spells its times).
 */
export function expandTimeTokens(text: string, now: Date): string {
  return text.replace(
    // eslint-disable-next-line security/detect-unsafe-regex -- literal delimiters around two optional groups: linear time
    /\$\{(unix:)?now(?:([+-])(\d+)([smhd]))?\}/g,
    (...groups: (string | undefined)[]) => {
      const [, unix, sign, amount, unit] = groups;
      const offset =
        sign === undefined
          ? 0
          : Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000) * (sign === '-' ? -1 : 1);
      const time = new Date(now.getTime() + offset);
      return unix === undefined ? kubeTime(time) : String(Math.floor(time.getTime() / 1000));
    },
  );
}

function expandDeep(value: unknown, now: Date): unknown {
  if (typeof value === 'string') return expandTimeTokens(value, now);
  if (Array.isArray(value)) return value.map((v) => expandDeep(v, now));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v, now)]));
  return value;
}

function toUsage(doc: JsonObject): SimVolumeUsage {
  const usage: SimVolumeUsage = {
    namespace: str(doc['namespace']) ?? 'default',
    pvc: str(doc['pvc']) ?? '',
    usedBytes:
      typeof doc['usedBytes'] === 'number' || typeof doc['usedBytes'] === 'string'
        ? doc['usedBytes']
        : 0,
  };
  if (typeof doc['inodes'] === 'number') usage.inodes = doc['inodes'];
  if (typeof doc['inodesUsed'] === 'number') usage.inodesUsed = doc['inodesUsed'];
  const overhead = doc['fsOverheadBytes'];
  if (typeof overhead === 'number' || typeof overhead === 'string')
    usage.fsOverheadBytes = overhead;
  if (doc['kubeletFails'] === true) usage.kubeletFails = true;
  return usage;
}

/** Parses seed YAML text (exported for tests that inline their seed). */
export function parseSeed(text: string, now: Date = new Date()): SimSeed {
  const seed: SimSeed = { objects: [], usage: [] };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`seed YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = expandDeep(doc.toJS(), now);
    if (!isObject(value)) continue;
    if (value['kind'] === 'SimVolumeUsage') seed.usage.push(toUsage(value));
    else if (simKindOf(value) !== undefined) seed.objects.push(value);
    else throw new Error(`seed: unsupported kind ${JSON.stringify(value['kind'])}`);
  }
  return seed;
}

export async function loadSeed(path: string): Promise<SimSeed> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the seed file named by the caller
  return parseSeed(await readFile(path, 'utf8'));
}

export function kindOf(o: JsonObject): SimKind | undefined {
  return simKindOf(o);
}

/** Kinds whose objects have no spec/status pair to default. */
const KINDS_WITHOUT_SPEC = new Set([
  'StorageClass',
  'VolumeAttributesClass',
  'Event',
  'Secret',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'PVCPolicy',
  'PVCGroup',
  'VolumeSnapshot',
  'Backup',
]);

type Defaults = (o: JsonObject, spec: JsonObject, status: JsonObject) => void;

/** Per kind: what the API server's defaults, strategy and admission, and the controllers, set. */
const KIND_DEFAULTS: Partial<Record<SimKind, Defaults>> = {
  PersistentVolumeClaim(o, spec, status) {
    pvcDefaults(spec, status);
    protect(o, PVC_PROTECTION_FINALIZER);
  },
  PersistentVolume(o, spec, status) {
    pvDefaults(spec, status);
    protect(o, PV_PROTECTION_FINALIZER);
  },
  Pod(_o, spec, status) {
    if (str(spec['nodeName']) !== undefined) status['phase'] ??= 'Running';
  },
  Namespace(o, spec, status) {
    status['phase'] ??= 'Active';
    // The namespace controller's finalizer: the namespace strategy sets it on create.
    spec['finalizers'] ??= ['kubernetes'];
    labelNamespace(o);
  },
};

/** Fills what the apiserver and controllers would have set on a live object. */
export function applySeedDefaults(o: JsonObject): JsonObject {
  if (o['kind'] === 'StorageClass') {
    o['reclaimPolicy'] ??= 'Delete';
    o['volumeBindingMode'] ??= 'Immediate';
  }
  if (o['kind'] === 'VolumeAttributesClass') protect(o, VAC_PROTECTION_FINALIZER);
  // Custom resources have no controller here: what was written is what is stored.
  const kind = simKindOf(o);
  if (kind === undefined || KINDS_WITHOUT_SPEC.has(kind) || resourceForKind(kind).crd !== undefined)
    return o;
  const spec = obj(o['spec']);
  const status = obj(o['status']);
  o['spec'] = spec;
  o['status'] = status;
  KIND_DEFAULTS[kind]?.(o, spec, status);
  return o;
}

/** Held until the pvc-protection controller sees no pod using the claim (deletion.ts). */
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
/** Held until the pv-protection controller sees the volume no longer Bound (deletion.ts). */
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

/** The StorageObjectInUseProtection admission plugin adds its finalizer on create. */
function protect(o: JsonObject, finalizer: string): void {
  const md = obj(o['metadata']);
  o['metadata'] = md;
  const finalizers = Array.isArray(md['finalizers']) ? (md['finalizers'] as unknown[]) : [];
  if (!finalizers.includes(finalizer)) md['finalizers'] = [...finalizers, finalizer];
}

/** The API server labels every namespace with its name (webhook namespaceSelectors use it). */
export function labelNamespace(o: JsonObject): void {
  const md = obj(o['metadata']);
  o['metadata'] = md;
  md['labels'] = { ...obj(md['labels']), 'kubernetes.io/metadata.name': str(md['name']) ?? '' };
}

function pvDefaults(spec: JsonObject, status: JsonObject): void {
  spec['volumeMode'] ??= 'Filesystem';
  spec['persistentVolumeReclaimPolicy'] ??= 'Delete';
  status['phase'] ??= spec['claimRef'] === undefined ? 'Available' : 'Bound';
}

function pvcDefaults(spec: JsonObject, status: JsonObject): void {
  spec['volumeMode'] ??= 'Filesystem';
  if (str(spec['volumeName']) === undefined) {
    status['phase'] ??= 'Pending';
    return;
  }
  status['phase'] ??= 'Bound';
  status['accessModes'] ??= spec['accessModes'];
  status['capacity'] ??= { storage: obj(obj(spec['resources'])['requests'])['storage'] };
}
