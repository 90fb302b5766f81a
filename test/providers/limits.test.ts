import { describe, expect, it } from 'vitest';
import {
  AZURE_MAX_GIB,
  EBS_MAX_GIB,
  fitSize,
  GCE_MAX_GB,
  GIB,
  roundUpToStep,
} from '../../src/providers/limits.js';
import { gi } from './builders.js';

describe('roundUpToStep', () => {
  it.each([
    [gi(10), gi(10)],
    [gi(10) + 1n, gi(11)],
    [gi(10) - 1n, gi(10)],
    [1n, GIB],
    [0n, 0n],
  ])('%s bytes → %s', (bytes, expected) => {
    expect(roundUpToStep(bytes, GIB)).toBe(expected);
  });
});

describe('limit tables', () => {
  it.each([
    ['gp2', 16_384n],
    ['gp3', 65_536n],
    ['io1', 16_384n],
    ['io2', 65_536n],
    ['st1', 16_384n],
    ['sc1', 16_384n],
    ['standard', 1_024n],
  ])('EBS %s is at most %s GiB', (type, max) => {
    expect(EBS_MAX_GIB[type]).toBe(max);
  });

  it.each([
    ['pd-standard', 65_536n],
    ['pd-balanced', 65_536n],
    ['pd-ssd', 65_536n],
    ['pd-extreme', 65_536n],
    ['hyperdisk-balanced', 65_536n],
    ['hyperdisk-balanced-high-availability', 65_536n],
    ['hyperdisk-extreme', 65_536n],
    ['hyperdisk-ml', 65_536n],
    ['hyperdisk-throughput', 32_768n],
  ])('GCE %s is at most %s GB', (type, max) => {
    expect(GCE_MAX_GB[type]).toBe(max);
  });

  it.each([
    ['standard_lrs', 32_767n],
    ['premium_lrs', 32_767n],
    ['premiumv2_lrs', 65_536n],
    ['ultrassd_lrs', 65_536n],
  ])('Azure %s is at most %s GiB', (sku, max) => {
    expect(AZURE_MAX_GIB[sku]).toBe(max);
  });
});

describe('fitSize', () => {
  const gp2 = { label: 'gp2', maxBytes: gi(16_384), stepBytes: GIB };
  const req = (fromBytes: bigint, toBytes: bigint, cloudBytes?: bigint) => ({
    provider: 'aws',
    fromBytes,
    toBytes,
    cloudBytes,
    warnings: [],
  });

  it.each([
    {
      name: 'within limits',
      from: gi(100),
      to: gi(120),
      cloud: undefined,
      ok: true,
      toBytes: gi(120),
      warn: 0,
    },
    {
      name: 'rounds a partial GiB up',
      from: gi(100),
      to: gi(120) + 5n,
      cloud: undefined,
      ok: true,
      toBytes: gi(121),
      warn: 1,
    },
    {
      name: 'caps at the type maximum',
      from: gi(16_000),
      to: gi(17_000),
      cloud: undefined,
      ok: true,
      toBytes: gi(16_384),
      warn: 1,
    },
    {
      name: 'refuses at the maximum',
      from: gi(16_384),
      to: gi(17_000),
      cloud: undefined,
      ok: false,
      toBytes: undefined,
      warn: 0,
    },
    {
      name: 'refuses when the cloud is already at the maximum',
      from: gi(16_000),
      to: gi(17_000),
      cloud: gi(16_384),
      ok: false,
      toBytes: undefined,
      warn: 0,
    },
  ])('$name', ({ from, to, cloud, ok, toBytes, warn }) => {
    const verdict = fitSize(req(from, to, cloud), gp2);

    expect(verdict.ok).toBe(ok);
    if (verdict.ok) {
      expect(verdict.toBytes).toBe(toBytes);
      expect(verdict.warnings).toHaveLength(warn);
    } else {
      expect(verdict.reason).toBe('max-size-reached');
      expect(verdict.detail).toContain('gp2 volumes are at most 16384 GiB');
    }
  });

  it('has no maximum when the type is unknown', () => {
    const verdict = fitSize(req(gi(100_000), gi(200_000)), {
      label: 'x',
      maxBytes: undefined,
      stepBytes: GIB,
    });

    expect(verdict).toEqual({ ok: true, provider: 'aws', toBytes: gi(200_000), warnings: [] });
  });
});
