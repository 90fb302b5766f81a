import { describe, expect, it } from 'vitest';
import { formatUsd } from '../../src/core/cost.js';
import { applyPriceFile, SHIPPED_PRICES, type PriceTable } from '../../src/core/prices.js';
import type { StorageClassInfo } from '../../src/core/pvc.js';
import { GiB } from '../../src/core/quantity.js';
import { recommend } from '../../src/core/recommend.js';
import { costAddedNote, volumeCost } from '../../src/core/volume-cost.js';
import {
  volumeTypeOf,
  type VolumeAttributesClassInfo,
  type VolumeType,
} from '../../src/core/volume-type.js';

function storageClass(
  provisioner: string,
  parameters: Record<string, string> = {},
  name = 'sc',
): StorageClassInfo {
  return { name, provisioner, allowVolumeExpansion: true, parameters, annotations: {} };
}

function vac(name: string, driverName: string, parameters: Record<string, string>) {
  return { name, driverName, parameters };
}

const EBS = 'ebs.csi.aws.com';

/** `provider type (source)`, or undefined. */
function named(type: VolumeType | undefined): string | undefined {
  return type === undefined ? undefined : `${type.provider} ${type.type} (${type.source})`;
}

describe('volumeTypeOf', () => {
  const classes = new Map<string, VolumeAttributesClassInfo>([
    ['fast', vac('fast', EBS, { type: 'io2', iops: '8000' })],
    ['iops-only', vac('iops-only', EBS, { iops: '6000' })],
    ['pd-fast', vac('pd-fast', 'pd.csi.storage.gke.io', { type: 'pd-ssd' })],
  ]);

  it.each([
    ['EBS CSI type', EBS, { type: 'gp3' }, 'aws gp3'],
    ['EBS type in capitals', EBS, { Type: 'GP2' }, 'aws gp2'],
    ['in-tree EBS', 'kubernetes.io/aws-ebs', { type: 'io1' }, 'aws io1'],
    ['PD CSI', 'pd.csi.storage.gke.io', { type: 'pd-balanced' }, 'gcp pd-balanced'],
    ['in-tree PD', 'kubernetes.io/gce-pd', { type: 'pd-ssd' }, 'gcp pd-ssd'],
    ['Azure skuName', 'disk.csi.azure.com', { skuName: 'Premium_LRS' }, 'azure Premium_LRS'],
    ['Azure skuname', 'disk.csi.azure.com', { skuname: 'PremiumV2_LRS' }, 'azure PremiumV2_LRS'],
    [
      'Azure storageaccounttype (in-tree)',
      'kubernetes.io/azure-disk',
      { storageaccounttype: 'Standard_LRS' },
      'azure Standard_LRS',
    ],
  ])('%s: %s %o', (_, provisioner, parameters, expected) => {
    const type = volumeTypeOf({}, storageClass(provisioner, parameters), classes);

    expect(named(type)).toBe(`${expected} (StorageClass sc)`);
  });

  it.each([
    [
      'a VolumeAttributesClass type overrides the class',
      'fast',
      'aws io2 (VolumeAttributesClass fast)',
    ],
    [
      'a VolumeAttributesClass without a type keeps the class type',
      'iops-only',
      'aws gp3 (StorageClass sc)',
    ],
  ])('%s: %s', (_, vacName, expected) => {
    const type = volumeTypeOf(
      { volumeAttributesClassName: vacName },
      storageClass(EBS, { type: 'gp3' }),
      classes,
    );

    expect(named(type)).toBe(expected);
  });

  it.each([
    ['no class', undefined, undefined],
    ['a class without a type: the driver default is not assumed', storageClass(EBS), undefined],
    ['an empty type', storageClass(EBS, { type: ' ' }), undefined],
    ['a driver without prices', storageClass('topolvm.io', { type: 'ssd' }), undefined],
    ['an unknown VolumeAttributesClass', storageClass(EBS, { type: 'gp3' }), 'missing'],
    ['a VolumeAttributesClass of another driver', storageClass(EBS, { type: 'gp3' }), 'pd-fast'],
  ])('%s: unknown', (_, sc, vacName) => {
    expect(volumeTypeOf({ volumeAttributesClassName: vacName }, sc, classes)).toBeUndefined();
  });
});

function ebs(type: string): VolumeType {
  return { provider: 'aws', type, source: 'test' };
}

interface Case {
  volume: VolumeType;
  gib: bigint;
  driver?: string;
  currentClass?: string;
  classes?: VolumeAttributesClassInfo[];
  prices?: PriceTable;
}

function run(c: Case): string[] {
  return recommend({
    volume: c.volume,
    bytes: c.gib * GiB,
    driver: c.driver ?? EBS,
    currentClass: c.currentClass,
    volumeClasses: c.classes ?? [],
    prices: c.prices ?? SHIPPED_PRICES,
  }).map((r) => `${r.kind} ${formatUsd(r.monthlySaving)}: ${r.detail}`);
}

function pricesWith(yaml: Record<string, unknown>): PriceTable {
  const result = applyPriceFile(SHIPPED_PRICES, yaml, 'test');
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

/** What the gp2-to-gp3 recommendation says of gp3, at the shipped prices. */
const GP3_OFFER =
  'gp3 is $0.08 per GiB-month instead of $0.10 and includes 3,000 IOPS and 125 MiB/s';

describe('recommend', () => {
  it.each<[string, Case, string[]]>([
    [
      'gp2 to gp3: $0.02 a GiB',
      { volume: ebs('gp2'), gib: 100n },
      [`gp2-to-gp3 2.00: ${GP3_OFFER}`],
    ],
    [
      'a gp2 over 1,000 GiB had more than 3,000 IOPS: said so',
      { volume: ebs('gp2'), gib: 2000n },
      [
        `gp2-to-gp3 40.00: ${GP3_OFFER}; gp2 gives this 2000Gi volume a 6,000 IOPS baseline: provision the IOPS above 3,000 on gp3 (priced apart)`,
      ],
    ],
    [
      'a gp2 at 6 TiB: its baseline stops at 16,000',
      { volume: ebs('gp2'), gib: 6144n },
      [
        `gp2-to-gp3 122.88: ${GP3_OFFER}; gp2 gives this 6Ti volume a 16,000 IOPS baseline: provision the IOPS above 3,000 on gp3 (priced apart)`,
      ],
    ],
    [
      'io1 to io2 at the same price per GiB: saving 0.00, durability',
      { volume: ebs('io1'), gib: 500n },
      [
        'io1-to-io2 0.00: io2 is $0.125 per GiB-month (io1 $0.125), its provisioned IOPS cost the same up to 32,000 and less above, and it is designed for 99.999 % durability instead of 99.8-99.9 %',
      ],
    ],
    ['gp3: nothing to say', { volume: ebs('gp3'), gib: 100n }, []],
    [
      'gp2 when a price file makes gp3 dearer: nothing',
      { volume: ebs('gp2'), gib: 100n, prices: pricesWith({ aws: { gp3: '0.11' } }) },
      [],
    ],
    [
      'io1 when a price file makes io2 dearer: nothing',
      { volume: ebs('io1'), gib: 100n, prices: pricesWith({ aws: { io2: '0.2' } }) },
      [],
    ],
    [
      'an unpriced type: nothing',
      { volume: ebs('standard'), gib: 100n, classes: [vac('cold', EBS, { type: 'sc1' })] },
      [],
    ],
    [
      'the cheapest VolumeAttributesClass of the same driver is named',
      {
        volume: ebs('gp3'),
        gib: 100n,
        classes: [
          vac('throughput', EBS, { type: 'st1' }),
          vac('cold', EBS, { type: 'sc1' }),
          vac('pd-cold', 'pd.csi.storage.gke.io', { type: 'pd-standard' }),
          vac('dear', EBS, { type: 'io2' }),
          vac('unpriced', EBS, { type: 'standard' }),
          vac('no-type', EBS, { iops: '4000' }),
        ],
      },
      [
        'volume-attributes-class 6.50: VolumeAttributesClass cold sets type sc1 ($0.015 per GiB-month instead of $0.08 for gp3): set spec.volumeAttributesClassName to cold if its performance fits the workload',
      ],
    ],
    [
      'between two classes of the same price, the first name',
      {
        volume: ebs('gp2'),
        gib: 10n,
        classes: [vac('b-gp3', EBS, { type: 'gp3' }), vac('a-gp3', EBS, { type: 'gp3' })],
      },
      [
        `gp2-to-gp3 0.20: ${GP3_OFFER}`,
        'volume-attributes-class 0.20: VolumeAttributesClass a-gp3 sets type gp3 ($0.08 per GiB-month instead of $0.10 for gp2): set spec.volumeAttributesClassName to a-gp3 if its performance fits the workload',
      ],
    ],
    [
      'the class the PVC already names is not recommended to it',
      {
        volume: ebs('sc1'),
        gib: 10n,
        currentClass: 'cold',
        classes: [vac('cold', EBS, { type: 'sc1' })],
      },
      [],
    ],
    [
      'a class of another driver of the same cloud is not offered (in-tree EBS)',
      {
        volume: ebs('gp3'),
        gib: 10n,
        driver: 'kubernetes.io/aws-ebs',
        classes: [vac('cold', EBS, { type: 'sc1' })],
      },
      [],
    ],
    [
      'Azure: a Standard SSD class for a Premium SSD disk',
      {
        volume: { provider: 'azure', type: 'Premium_LRS', source: 'test' },
        gib: 1024n,
        driver: 'disk.csi.azure.com',
        classes: [vac('standard-ssd', 'disk.csi.azure.com', { skuName: 'StandardSSD_LRS' })],
      },
      [
        'volume-attributes-class 58.37: VolumeAttributesClass standard-ssd sets type StandardSSD_LRS ($0.075 per GiB-month instead of $0.132001953125 for Premium_LRS): set spec.volumeAttributesClassName to standard-ssd if its performance fits the workload',
      ],
    ],
  ])('%s', (_, c, expected) => {
    expect(run(c)).toEqual(expected);
  });
});

describe('volumeCost', () => {
  const context = {
    volumeType: ebs('gp3'),
    driver: EBS,
    currentClass: undefined,
    volumeClasses: [],
    prices: SHIPPED_PRICES,
  };

  it.each([
    [
      'an expansion 20Gi -> 25Gi',
      25n,
      { fromBytes: 20n * GiB, toBytes: 25n * GiB },
      '2.00',
      '0.40',
    ],
    ['no expansion', 20n, undefined, '1.60', undefined],
    [
      'an expansion that did not grow',
      20n,
      { fromBytes: 20n * GiB, toBytes: 20n * GiB },
      '1.60',
      undefined,
    ],
  ])('%s', (_, gib, expansion, monthly, added) => {
    const cost = volumeCost(context, { sizeBytes: gib * GiB, expansion });

    expect(cost.monthlyCost === undefined ? undefined : formatUsd(cost.monthlyCost)).toBe(monthly);
    expect(cost.monthlyCostAdded === undefined ? undefined : formatUsd(cost.monthlyCostAdded)).toBe(
      added,
    );
  });

  it('says what an expansion adds, at which price', () => {
    const cost = volumeCost(context, {
      sizeBytes: 25n * GiB,
      expansion: { fromBytes: 20n * GiB, toBytes: 25n * GiB },
    });

    expect(costAddedNote(cost)).toBe('adds $0.40 a month (gp3 at $0.08 per GiB-month)');
  });

  it('prices nothing of an unknown or unpriced type', () => {
    const unknown = volumeCost(
      { ...context, volumeType: undefined },
      {
        sizeBytes: GiB,
        expansion: { fromBytes: GiB, toBytes: 2n * GiB },
      },
    );
    const unpriced = volumeCost(
      { ...context, volumeType: ebs('standard') },
      {
        sizeBytes: GiB,
        expansion: undefined,
      },
    );

    expect(unknown.monthlyCost).toBeUndefined();
    expect(costAddedNote(unknown)).toBeUndefined();
    expect(unpriced.volumeType?.type).toBe('standard');
    expect(unpriced.monthlyCost).toBeUndefined();
    expect(unpriced.recommendations).toEqual([]);
  });
});
