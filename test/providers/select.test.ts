import { describe, expect, it } from 'vitest';
import type { PersistentVolumeInfo, StorageClassInfo } from '../../src/core/pvc.js';
import {
  awsRegionFromZone,
  chooseProvider,
  detectProvider,
  detectsProvider,
  ebsVolumeRef,
  gceDiskRef,
} from '../../src/providers/select.js';
import { pv, pvc, storageClass } from './builders.js';

describe('detectProvider', () => {
  it.each<[string, PersistentVolumeInfo | undefined, StorageClassInfo | undefined, string]>([
    ['EBS CSI', pv({ csiDriver: 'ebs.csi.aws.com' }), undefined, 'aws'],
    ['PD CSI', pv({ csiDriver: 'pd.csi.storage.gke.io' }), undefined, 'gcp'],
    ['Azure Disk CSI', pv({ csiDriver: 'disk.csi.azure.com' }), undefined, 'azure'],
    ['TopoLVM', pv({ csiDriver: 'topolvm.io' }), undefined, 'topolvm'],
    [
      'TopoLVM before 0.16 (legacy name)',
      pv({ csiDriver: 'topolvm.cybozu.com' }),
      undefined,
      'topolvm',
    ],
    ['Longhorn', pv({ csiDriver: 'driver.longhorn.io' }), undefined, 'longhorn'],
    ['no PV, Longhorn class', undefined, storageClass('driver.longhorn.io'), 'longhorn'],
    [
      'in-tree EBS',
      pv({ awsElasticBlockStoreVolumeId: 'aws://us-east-1a/vol-0abc' }),
      undefined,
      'aws',
    ],
    ['in-tree GCE PD', pv({ gcePersistentDiskName: 'disk-1' }), undefined, 'gcp'],
    ['Ceph RBD', pv({ csiDriver: 'rbd.csi.ceph.com' }), storageClass('ebs.csi.aws.com'), 'generic'],
    ['EFS is not EBS', pv({ csiDriver: 'efs.csi.aws.com' }), undefined, 'generic'],
    ['no PV, EBS class', undefined, storageClass('ebs.csi.aws.com'), 'aws'],
    ['no PV, in-tree GCE class', undefined, storageClass('kubernetes.io/gce-pd'), 'gcp'],
    ['PV without source, Azure class', pv(), storageClass('kubernetes.io/azure-disk'), 'azure'],
    ['nothing known', undefined, undefined, 'generic'],
  ])('%s → %s', (_name, volume, sc, expected) => {
    expect(detectProvider(volume, sc)).toBe(expected);
  });
});

describe('chooseProvider', () => {
  const ebsPv = pv({ csiDriver: 'ebs.csi.aws.com' });
  it.each([
    {
      name: 'auto detects',
      annotations: {},
      option: 'auto' as const,
      expected: { ok: true, provider: 'aws' },
    },
    {
      name: 'the flag beats detection',
      annotations: {},
      option: 'generic' as const,
      expected: { ok: true, provider: 'generic' },
    },
    {
      name: 'the annotation beats the flag',
      annotations: { 'pvc-chonker.io/provider': 'gcp' },
      option: 'generic' as const,
      expected: { ok: true, provider: 'gcp' },
    },
    {
      name: 'annotation auto detects despite the flag',
      annotations: { 'pvc-chonker.io/provider': 'auto' },
      option: 'generic' as const,
      expected: { ok: true, provider: 'aws' },
    },
    {
      name: 'annotation is case-insensitive',
      annotations: { 'pvc-chonker.io/provider': ' AWS ' },
      option: 'auto' as const,
      expected: { ok: true, provider: 'aws' },
    },
    {
      name: 'a bad annotation is reported',
      annotations: { 'pvc-chonker.io/provider': 'oracle' },
      option: 'auto' as const,
      expected: { ok: false, provider: 'aws', invalid: 'oracle' },
    },
  ])('$name', ({ annotations, option, expected }) => {
    expect(chooseProvider(pvc('p', annotations), ebsPv, undefined, option)).toEqual(expected);
  });
});

describe('detectsProvider', () => {
  // Whether chooseProvider reads the PV: the pass lists PVs only when some PVC needs it.
  it.each([
    { annotation: undefined, option: 'auto' as const, detects: true },
    { annotation: undefined, option: 'generic' as const, detects: false },
    { annotation: '', option: 'aws' as const, detects: false },
    { annotation: ' Auto ', option: 'generic' as const, detects: true },
    { annotation: 'gcp', option: 'auto' as const, detects: false },
    { annotation: 'nonsense', option: 'auto' as const, detects: true },
    { annotation: 'nonsense', option: 'azure' as const, detects: false },
  ])(
    'annotation $annotation with --provider $option: $detects',
    ({ annotation, option, detects }) => {
      const annotations: Record<string, string> =
        annotation === undefined ? {} : { 'pvc-chonker.io/provider': annotation };
      const claim = pvc('data', annotations);

      expect(detectsProvider(claim, option)).toBe(detects);
      // Consistent with chooseProvider: detecting means the PV can change the answer.
      const withPv = chooseProvider(
        claim,
        pv({ csiDriver: 'pd.csi.storage.gke.io' }),
        undefined,
        option,
      );
      const withoutPv = chooseProvider(claim, undefined, undefined, option);
      if (!detects) expect(withPv.provider).toBe(withoutPv.provider);
      else expect(withPv.provider).toBe('gcp');
    },
  );

  it('with no PVC: as one without the annotation', () => {
    expect(detectsProvider(undefined, 'auto')).toBe(true);
    expect(detectsProvider(undefined, 'topolvm')).toBe(false);
  });
});

describe('ebsVolumeRef', () => {
  it.each([
    [
      pv({ volumeHandle: 'vol-0123abcd', zone: 'eu-west-1b' }),
      { volumeId: 'vol-0123abcd', zone: 'eu-west-1b' },
    ],
    [
      pv({ awsElasticBlockStoreVolumeId: 'aws://us-east-1a/vol-0abc' }),
      { volumeId: 'vol-0abc', zone: 'us-east-1a' },
    ],
    [
      pv({ awsElasticBlockStoreVolumeId: 'vol-0abc', zone: 'us-west-2c' }),
      { volumeId: 'vol-0abc', zone: 'us-west-2c' },
    ],
    [pv({ volumeHandle: 'projects/p/zones/z/disks/d' }), undefined],
    [undefined, undefined],
  ])('%o → %o', (volume, expected) => {
    expect(ebsVolumeRef(volume)).toEqual(expected);
  });
});

describe('awsRegionFromZone', () => {
  it.each([
    ['us-east-1a', 'us-east-1'],
    ['eu-central-2b', 'eu-central-2'],
    ['us-gov-west-1a', 'us-gov-west-1'],
    ['ap-southeast-4c', 'ap-southeast-4'],
    ['us-east-1-bos-1a', 'us-east-1'],
    ['use1-az1', undefined],
    [undefined, undefined],
  ])('%s → %s', (zone, region) => {
    expect(awsRegionFromZone(zone)).toBe(region);
  });
});

describe('gceDiskRef', () => {
  const env = { GOOGLE_CLOUD_PROJECT: 'proj-env' };
  it.each([
    [
      pv({ volumeHandle: 'projects/p1/zones/us-central1-a/disks/pvc-1' }),
      { kind: 'zonal', project: 'p1', zone: 'us-central1-a', disk: 'pvc-1' },
    ],
    [
      pv({ volumeHandle: 'projects/p1/regions/us-central1/disks/pvc-2' }),
      { kind: 'regional', project: 'p1', region: 'us-central1', disk: 'pvc-2' },
    ],
    [
      pv({ gcePersistentDiskName: 'old-disk', zone: 'europe-west1-b' }),
      { kind: 'zonal', project: 'proj-env', zone: 'europe-west1-b', disk: 'old-disk' },
    ],
    [
      pv({ gcePersistentDiskName: 'old-ha', zone: 'europe-west1-b__europe-west1-c' }),
      { kind: 'regional', project: 'proj-env', region: 'europe-west1', disk: 'old-ha' },
    ],
    [pv({ gcePersistentDiskName: 'no-zone' }), undefined],
    [pv({ volumeHandle: 'vol-0abc' }), undefined],
  ])('%o → %o', (volume, expected) => {
    expect(gceDiskRef(volume, env)).toEqual(expected);
  });

  it('needs a project for in-tree disks', () => {
    expect(gceDiskRef(pv({ gcePersistentDiskName: 'd', zone: 'us-east1-b' }), {})).toBeUndefined();
  });
});
