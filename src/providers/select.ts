/**
 * Which cloud governs a PVC, and where its volume lives in that cloud. Pure: reads only the
 * snapshots the adapters built.
 */
import type { PersistentVolumeInfo, PvcSnapshot, StorageClassInfo } from '../core/pvc.js';
import type { ProviderName, ProviderOptions } from './types.js';

export const PROVIDER_ANNOTATION = 'pvc-chonker.io/provider';
export const AWS_VOLUME_TYPE_ANNOTATION = 'pvc-chonker.io/aws-volume-type';

const PROVIDER_NAMES: readonly ProviderName[] = [
  'aws',
  'gcp',
  'azure',
  'topolvm',
  'longhorn',
  'generic',
];

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/** TopoLVM's CSI driver, and its name before 0.16 (kept with USE_LEGACY); its keys follow the name. */
export const TOPOLVM_DRIVERS: readonly string[] = ['topolvm.io', 'topolvm.cybozu.com'];

/** CSI drivers and in-tree provisioners, by the provider they belong to. */
const DRIVERS: Readonly<Record<string, ProviderName>> = {
  'ebs.csi.aws.com': 'aws',
  'kubernetes.io/aws-ebs': 'aws',
  'pd.csi.storage.gke.io': 'gcp',
  'kubernetes.io/gce-pd': 'gcp',
  'disk.csi.azure.com': 'azure',
  'kubernetes.io/azure-disk': 'azure',
  'topolvm.io': 'topolvm',
  'topolvm.cybozu.com': 'topolvm',
  'driver.longhorn.io': 'longhorn',
};

/**
 * The provider the volume itself points at: the PV's CSI driver or in-tree source first, then the
 * StorageClass provisioner (a PV can be unknown, e.g. not readable), else generic.
 */
export function detectProvider(
  pv: PersistentVolumeInfo | undefined,
  storageClass: StorageClassInfo | undefined,
): ProviderName {
  const byDriver = pv?.csiDriver === undefined ? undefined : DRIVERS[pv.csiDriver];
  if (byDriver !== undefined) return byDriver;
  if (pv?.awsElasticBlockStoreVolumeId !== undefined) return 'aws';
  if (pv?.gcePersistentDiskName !== undefined) return 'gcp';
  // A PV with a CSI driver we do not know is generic even when the class says otherwise.
  if (pv?.csiDriver !== undefined) return 'generic';
  const byClass = storageClass === undefined ? undefined : DRIVERS[storageClass.provisioner];
  return byClass ?? 'generic';
}

/** What a PVC's provider annotation asks for: nothing, detection, a provider, or an unknown name. */
type AnnotatedProvider =
  | { kind: 'none' }
  | { kind: 'auto' }
  | { kind: 'named'; provider: ProviderName }
  | { kind: 'invalid'; text: string };

function annotatedProvider(pvc: PvcSnapshot | undefined): AnnotatedProvider {
  const text = pvc?.annotations[PROVIDER_ANNOTATION]?.trim().toLowerCase();
  if (text === undefined || text === '') return { kind: 'none' };
  if (text === 'auto') return { kind: 'auto' };
  return isProviderName(text) ? { kind: 'named', provider: text } : { kind: 'invalid', text };
}

/**
 * Whether chooseProvider reads the PV for this PVC (detection, not a named provider); `pvc`
 * undefined: a PVC without the provider annotation. An invalid annotation falls back to the
 * option, as in chooseProvider.
 */
export function detectsProvider(
  pvc: PvcSnapshot | undefined,
  option: ProviderOptions['provider'],
): boolean {
  const annotated = annotatedProvider(pvc);
  if (annotated.kind === 'auto') return true;
  return annotated.kind !== 'named' && option === 'auto';
}

export type ProviderChoice =
  { ok: true; provider: ProviderName } | { ok: false; provider: ProviderName; invalid: string };

/** Annotation beats the --provider flag, which beats detection. */
export function chooseProvider(
  pvc: PvcSnapshot,
  pv: PersistentVolumeInfo | undefined,
  storageClass: StorageClassInfo | undefined,
  option: ProviderOptions['provider'],
): ProviderChoice {
  const annotated = annotatedProvider(pvc);
  if (annotated.kind === 'named') return { ok: true, provider: annotated.provider };
  const detect = annotated.kind === 'auto' || option === 'auto';
  const provider = detect ? detectProvider(pv, storageClass) : option;
  return annotated.kind === 'invalid'
    ? { ok: false, provider, invalid: annotated.text }
    : { ok: true, provider };
}

export interface EbsVolumeRef {
  volumeId: string;
  zone: string | undefined;
}

const EBS_ID = /(?:^|\/)(vol-[0-9a-f]+)$/;

/**
 * The EBS volume behind a PV. The CSI handle is the bare ID; the in-tree source is either the bare
 * ID or `aws://<zone>/<id>`.
 */
export function ebsVolumeRef(pv: PersistentVolumeInfo | undefined): EbsVolumeRef | undefined {
  if (pv === undefined) return undefined;
  for (const source of [pv.awsElasticBlockStoreVolumeId, pv.volumeHandle]) {
    const id = source === undefined ? undefined : EBS_ID.exec(source)?.[1];
    if (source === undefined || id === undefined) continue;
    const zone = /^aws:\/\/([^/]+)\//.exec(source)?.[1];
    return { volumeId: id, zone: zone ?? pv.zone };
  }
  return undefined;
}

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
const REGION_OF_ZONE = /^([a-z]{2}(?:-[a-z]+)+-\d+)/;

/** us-east-1a → us-east-1; us-east-1-bos-1a (Local Zone) → us-east-1; zone IDs → undefined. */
export function awsRegionFromZone(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  return REGION_OF_ZONE.exec(zone)?.[1];
}

export type GceDiskRef =
  | { kind: 'zonal'; project: string; zone: string; disk: string }
  | { kind: 'regional'; project: string; region: string; disk: string };

const ZONAL_HANDLE = /^projects\/([^/]+)\/zones\/([^/]+)\/disks\/([^/]+)$/;
const REGIONAL_HANDLE = /^projects\/([^/]+)\/regions\/([^/]+)\/disks\/([^/]+)$/;

/** The project for in-tree GCE PDs, whose PV names only the disk. */
function gcpProjectFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? env.CLOUDSDK_CORE_PROJECT;
}

/**
 * The Compute Engine disk behind a PV: from the PD CSI handle (`projects/P/zones/Z/disks/D` or
 * `projects/P/regions/R/disks/D`), or for in-tree PDs from the disk name, the zone label (regional
 * disks carry `zoneA__zoneB`) and the project in the environment.
 */
export function gceDiskRef(
  pv: PersistentVolumeInfo | undefined,
  env: Readonly<Record<string, string | undefined>>,
): GceDiskRef | undefined {
  const handle = pv?.volumeHandle;
  const zonal = handle === undefined ? null : ZONAL_HANDLE.exec(handle);
  if (zonal?.[1] !== undefined && zonal[2] !== undefined && zonal[3] !== undefined) {
    return { kind: 'zonal', project: zonal[1], zone: zonal[2], disk: zonal[3] };
  }
  const regional = handle === undefined ? null : REGIONAL_HANDLE.exec(handle);
  if (regional?.[1] !== undefined && regional[2] !== undefined && regional[3] !== undefined) {
    return { kind: 'regional', project: regional[1], region: regional[2], disk: regional[3] };
  }
  return inTreeGceDiskRef(pv, gcpProjectFromEnv(env));
}

function inTreeGceDiskRef(
  pv: PersistentVolumeInfo | undefined,
  project: string | undefined,
): GceDiskRef | undefined {
  const disk = pv?.gcePersistentDiskName;
  const zone = pv?.zone;
  if (disk === undefined || zone === undefined || project === undefined) return undefined;
  const zones = zone.split('__');
  const first = zones[0];
  if (zones.length > 1 && first !== undefined) {
    return { kind: 'regional', project, region: first.replace(/-[a-z]$/, ''), disk };
  }
  return { kind: 'zonal', project, zone, disk };
}

/** Case-insensitive StorageClass parameter lookup (Azure accepts skuName and skuname). */
export function storageClassParameter(
  storageClass: StorageClassInfo | undefined,
  ...names: string[]
): string | undefined {
  if (storageClass === undefined) return undefined;
  const wanted = names.map((n) => n.toLowerCase());
  for (const [key, value] of Object.entries(storageClass.parameters)) {
    if (wanted.includes(key.toLowerCase())) return value;
  }
  return undefined;
}
