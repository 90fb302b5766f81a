// The EBS volumes behind a seed's PersistentVolumes, so the EC2 fake answers for the same disks
// the simulated cluster binds (the demo runs the AWS checks against it).
import type { JsonObject } from '../json.js';
import type { SimSeed } from '../seed.js';
import type { Ec2FakeVolume } from './ec2.js';

const ZONE_KEYS = ['topology.kubernetes.io/zone', 'topology.ebs.csi.aws.com/zone'];

function record(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function zoneOf(pv: JsonObject): string | undefined {
  const labels = record(record(pv['metadata'])['labels']);
  for (const key of ZONE_KEYS) if (text(labels[key]) !== undefined) return text(labels[key]);
  const terms = record(record(record(pv['spec'])['nodeAffinity'])['required'])['nodeSelectorTerms'];
  for (const term of Array.isArray(terms) ? terms : []) {
    const expressions = record(term)['matchExpressions'];
    for (const e of Array.isArray(expressions) ? expressions : []) {
      const values = record(e)['values'];
      if (ZONE_KEYS.includes(text(record(e)['key']) ?? '') && Array.isArray(values))
        return text(values[0]);
    }
  }
  return undefined;
}

/** Whole GiB from a quantity like "100Gi" (the only form the seeds use for EBS volumes). */
function gib(quantity: string | undefined): number {
  const match = /^(\d+)(Gi|Ti)$/.exec(quantity ?? '');
  if (!match) return 1;
  return Number(match[1]) * (match[2] === 'Ti' ? 1024 : 1);
}

export function ebsVolumesFromSeed(seed: SimSeed): Ec2FakeVolume[] {
  const classTypes = new Map<string, string>();
  for (const object of seed.objects) {
    if (object['kind'] !== 'StorageClass') continue;
    const type = text(record(object['parameters'])['type']);
    if (type !== undefined) classTypes.set(text(record(object['metadata'])['name']) ?? '', type);
  }
  const volumes: Ec2FakeVolume[] = [];
  for (const pv of seed.objects) {
    if (pv['kind'] !== 'PersistentVolume') continue;
    const spec = record(pv['spec']);
    const csi = record(spec['csi']);
    const volumeId = text(csi['volumeHandle']);
    if (text(csi['driver']) !== 'ebs.csi.aws.com' || volumeId === undefined) continue;
    volumes.push({
      volumeId,
      sizeGib: Math.max(1, Math.round(gib(text(record(spec['capacity'])['storage'])))),
      volumeType: classTypes.get(text(spec['storageClassName']) ?? '') ?? 'gp3',
      availabilityZone: zoneOf(pv) ?? 'us-east-1a',
      state: 'in-use',
    });
  }
  return volumes;
}
