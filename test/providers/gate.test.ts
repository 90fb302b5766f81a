/**
 * The provider gate end to end: the real @aws-sdk/client-ec2 and @google-cloud/compute clients
 * talk HTTP to local fakes speaking EC2 Query XML and Compute REST JSON.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProviderGate } from '../../src/providers/index.js';
import type {
  ExpansionCandidate,
  ProviderOptions,
  ProviderVerdict,
} from '../../src/providers/types.js';
import { startEc2Fake, type Ec2Fake, type Ec2FakeVolume } from '../../sim/clouds/ec2.js';
import { startGcpFake, type GcpFake } from '../../sim/clouds/gcp-compute.js';
import {
  awsEnv,
  candidate,
  ebs,
  gce,
  gi,
  history,
  hoursBefore,
  memoryLogger,
  options,
  pv,
  scriptedKube,
  storageClass,
} from './builders.js';

const now = new Date('2025-06-01T12:00:00Z');
const H = 3_600_000;

let ec2: Ec2Fake;
let gcp: GcpFake;
const nodeWarnings: string[] = [];
const onWarning = (w: Error): void => {
  nodeWarnings.push(w.message);
};

beforeAll(async () => {
  process.on('warning', onWarning);
  [ec2, gcp] = await Promise.all([startEc2Fake(), startGcpFake()]);
});

afterAll(async () => {
  process.off('warning', onWarning);
  await Promise.all([ec2.close(), gcp.close()]);
});

beforeEach(async () => {
  // Fresh fakes per test: state, failures and request logs do not leak between tests.
  await Promise.all([ec2.close(), gcp.close()]);
  [ec2, gcp] = await Promise.all([startEc2Fake(), startGcpFake()]);
});

function gp3(volumeId: string, sizeGib = 100, zone = 'us-east-1a'): Ec2FakeVolume {
  return { volumeId, sizeGib, volumeType: 'gp3', availabilityZone: zone };
}

async function check(
  candidates: ExpansionCandidate[],
  over: Partial<ProviderOptions> = {},
): Promise<{
  verdicts: Map<string, ProviderVerdict>;
  logs: Record<string, unknown>[];
  slept: number[];
  kubeCalls: string[];
}> {
  const { log, lines } = memoryLogger();
  const slept: number[] = [];
  const kube = scriptedKube();
  const gate = createProviderGate(options({ gcpEndpoint: gcp.url, ...over }), {
    log,
    env: awsEnv(ec2.url),
    kube: kube.kube,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
  const verdicts = await gate.check(candidates, now);
  return { verdicts, logs: lines(), slept, kubeCalls: kube.calls };
}

function verdict(verdicts: Map<string, ProviderVerdict>, name: string): ProviderVerdict {
  const v = verdicts.get(`default/${name}`);
  if (v === undefined) throw new Error(`no verdict for ${name}`);
  return v;
}

describe('AWS EBS', () => {
  it('refuses while a modification is in progress', async () => {
    ec2.setVolumes([gp3('vol-0a1')]);
    ec2.setModifications([
      {
        volumeId: 'vol-0a1',
        state: 'modifying',
        startTime: hoursBefore(now, 1),
        progress: 10,
        originalSizeGib: 90,
        targetSizeGib: 100,
      },
    ]);

    const { verdicts } = await check([ebs('a', 'vol-0a1')]);

    expect(verdict(verdicts, 'a')).toMatchObject({
      ok: false,
      provider: 'aws',
      reason: 'provider-refused',
      retryAt: new Date(now.getTime() + 5 * H),
    });
    expect(verdict(verdicts, 'a')).toHaveProperty(
      'detail',
      expect.stringContaining('modification in progress (modifying, 10%)'),
    );
    expect(nodeWarnings.filter((w) => w.includes('NodeVersionSupportWarning'))).toEqual([]);
  });

  it('refuses a volume modified 2 hours ago until 6 hours have passed', async () => {
    ec2.setVolumes([gp3('vol-0b2')]);
    ec2.setModifications([
      {
        volumeId: 'vol-0b2',
        state: 'completed',
        startTime: hoursBefore(now, 2),
        endTime: hoursBefore(now, 1.5),
        originalSizeGib: 90,
        targetSizeGib: 100,
      },
    ]);

    const strict = await check([ebs('b', 'vol-0b2')]);
    const current = await check([ebs('b', 'vol-0b2')], { awsModificationRule: 'current' });

    expect(verdict(strict.verdicts, 'b')).toMatchObject({
      ok: false,
      reason: 'provider-refused',
      retryAt: new Date(now.getTime() + 4 * H),
    });
    expect(verdict(current.verdicts, 'b')).toMatchObject({ ok: true, toBytes: gi(120) });
  });

  it('allows a volume modified 7 hours ago', async () => {
    ec2.setVolumes([gp3('vol-0c3')]);
    ec2.setModifications([
      {
        volumeId: 'vol-0c3',
        state: 'completed',
        startTime: hoursBefore(now, 7),
        endTime: hoursBefore(now, 6.5),
        originalSizeGib: 90,
        targetSizeGib: 100,
      },
    ]);

    const { verdicts } = await check([ebs('c', 'vol-0c3')]);

    expect(verdict(verdicts, 'c')).toEqual({
      ok: true,
      provider: 'aws',
      toBytes: gi(120),
      warnings: [],
      // The type EC2 reports: what the expansion's cost is priced at (docs/cost.md).
      volumeType: 'gp3',
    });
  });

  it('counts the rolling 24 hours from the PVC history', async () => {
    ec2.setVolumes([gp3('vol-0d4')]);
    ec2.setModifications([
      {
        volumeId: 'vol-0d4',
        state: 'completed',
        startTime: hoursBefore(now, 7),
        endTime: hoursBefore(now, 6.5),
        originalSizeGib: 90,
        targetSizeGib: 100,
      },
    ]);

    const { verdicts } = await check([ebs('d', 'vol-0d4', { history: history(22, 15, 8)(now) })]);

    expect(verdict(verdicts, 'd')).toMatchObject({
      ok: false,
      reason: 'provider-refused',
      retryAt: new Date(now.getTime() + 2 * H),
    });
  });

  it('refuses a gp2 at its maximum and caps one near it', async () => {
    ec2.setVolumes([
      { volumeId: 'vol-0e5', sizeGib: 16_384, volumeType: 'gp2', availabilityZone: 'us-east-1a' },
      { volumeId: 'vol-0e6', sizeGib: 16_000, volumeType: 'gp2', availabilityZone: 'us-east-1a' },
    ]);

    const { verdicts } = await check([
      ebs('full', 'vol-0e5', { fromGi: 16_384, toGi: 18_000 }),
      ebs('near', 'vol-0e6', { fromGi: 16_000, toGi: 17_600 }),
    ]);

    expect(verdict(verdicts, 'full')).toMatchObject({
      ok: false,
      reason: 'max-size-reached',
      detail: 'gp2 volumes are at most 16384 GiB; the volume is 16384 GiB',
    });
    expect(verdict(verdicts, 'near')).toEqual({
      ok: true,
      provider: 'aws',
      toBytes: gi(16_384),
      warnings: ['capped at the gp2 maximum of 16384 GiB'],
      volumeType: 'gp2',
    });
  });

  it('warns when the volume type differs from the declared one', async () => {
    ec2.setVolumes([
      { volumeId: 'vol-0f7', sizeGib: 100, volumeType: 'gp2', availabilityZone: 'us-east-1a' },
    ]);

    const { verdicts } = await check([
      ebs('f', 'vol-0f7', { annotations: { 'pvc-chonker.io/aws-volume-type': 'gp3' } }),
    ]);

    expect(verdict(verdicts, 'f')).toEqual({
      ok: true,
      provider: 'aws',
      toBytes: gi(120),
      warnings: ['pvc-chonker.io/aws-volume-type says gp3 but EBS volume vol-0f7 is gp2'],
      volumeType: 'gp2',
    });
  });

  it('reports volumes EC2 does not know without failing the others', async () => {
    ec2.setVolumes([gp3('vol-0aa')]);

    const { verdicts } = await check([ebs('known', 'vol-0aa'), ebs('gone', 'vol-0bb')]);

    expect(verdict(verdicts, 'known').ok).toBe(true);
    expect(verdict(verdicts, 'gone')).toMatchObject({
      ok: false,
      reason: 'provider-error',
      detail: 'EBS volume vol-0bb not found in us-east-1',
    });
  });

  it('retries throttling with backoff, then succeeds', async () => {
    ec2.setVolumes([gp3('vol-0f10')]);
    ec2.failNext(
      'DescribeVolumes',
      { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 },
      2,
    );

    const { verdicts, slept, logs } = await check([ebs('t', 'vol-0f10')]);

    expect(verdict(verdicts, 't').ok).toBe(true);
    expect(ec2.count('DescribeVolumes')).toBe(3);
    expect(slept).toEqual([500, 1000]);
    expect(logs.filter((l) => l.msg === 'provider call throttled, retrying')).toHaveLength(2);
  });

  it('batches every volume of a region into one DescribeVolumes and one DescribeVolumesModifications', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `vol-${(0x1000 + i).toString(16)}`);
    ec2.setVolumes(ids.map((id) => gp3(id)));

    const { verdicts } = await check(ids.map((id, i) => ebs(`pvc-${i}`, id)));

    expect([...verdicts.values()].every((v) => v.ok)).toBe(true);
    expect(ec2.count('DescribeVolumes')).toBe(1);
    expect(ec2.count('DescribeVolumesModifications')).toBe(1);
    expect(ec2.requests[0]?.volumeIds).toHaveLength(150);
  });

  it('chunks at the 200 filter-value limit and per region', async () => {
    const east = Array.from({ length: 250 }, (_, i) => `vol-${(0x2000 + i).toString(16)}`);
    ec2.setVolumes([...east.map((id) => gp3(id)), gp3('vol-0ee1', 100, 'eu-west-1a')]);

    const { verdicts } = await check([
      ...east.map((id, i) => ebs(`east-${i}`, id)),
      ebs('west', 'vol-0ee1', { zone: 'eu-west-1a' }),
    ]);

    expect([...verdicts.values()].every((v) => v.ok)).toBe(true);
    expect(
      ec2.requests.filter((r) => r.action === 'DescribeVolumes').map((r) => r.volumeIds.length),
    ).toEqual([200, 50, 1]);
    expect(ec2.count('DescribeVolumesModifications')).toBe(3);
  });

  it('names the missing IAM action on UnauthorizedOperation', async () => {
    ec2.failNext('DescribeVolumes', {
      code: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
      status: 403,
    });

    const { verdicts } = await check([ebs('u', 'vol-0f20')]);

    expect(verdict(verdicts, 'u')).toMatchObject({ ok: false, reason: 'provider-error' });
    expect(verdict(verdicts, 'u')).toHaveProperty(
      'detail',
      expect.stringContaining('(grant ec2:DescribeVolumes)'),
    );
  });
});

describe('GCP Persistent Disk', () => {
  it('refuses a pd-balanced disk that is not READY', async () => {
    gcp.setDisks([
      {
        project: 'proj',
        zone: 'us-central1-a',
        name: 'pvc-1',
        sizeGb: 100,
        type: 'pd-balanced',
        status: 'RESTORING',
      },
    ]);

    const { verdicts } = await check([gce('g', 'projects/proj/zones/us-central1-a/disks/pvc-1')]);

    expect(verdict(verdicts, 'g')).toMatchObject({
      ok: false,
      provider: 'gcp',
      reason: 'provider-refused',
      detail: 'disk projects/proj/zones/us-central1-a/disks/pvc-1 is RESTORING, not READY',
    });
  });

  it('allows READY zonal and regional disks and caps Hyperdisk Throughput at 32 TiB', async () => {
    gcp.setDisks([
      { project: 'proj', zone: 'us-central1-a', name: 'pvc-z', sizeGb: 100, type: 'pd-balanced' },
      { project: 'proj', region: 'us-central1', name: 'pvc-r', sizeGb: 200, type: 'pd-ssd' },
      {
        project: 'proj',
        zone: 'us-central1-a',
        name: 'pvc-h',
        sizeGb: 32_000,
        type: 'hyperdisk-throughput',
      },
    ]);

    const { verdicts } = await check([
      gce('z', 'projects/proj/zones/us-central1-a/disks/pvc-z'),
      gce('r', 'projects/proj/regions/us-central1/disks/pvc-r', { fromGi: 200, toGi: 240 }),
      gce('h', 'projects/proj/zones/us-central1-a/disks/pvc-h', { fromGi: 32_000, toGi: 40_000 }),
    ]);

    expect(verdict(verdicts, 'z')).toEqual({
      ok: true,
      provider: 'gcp',
      toBytes: gi(120),
      warnings: [],
      volumeType: 'pd-balanced',
    });
    expect(verdict(verdicts, 'r')).toEqual({
      ok: true,
      provider: 'gcp',
      toBytes: gi(240),
      warnings: [],
      volumeType: 'pd-ssd',
    });
    expect(verdict(verdicts, 'h')).toEqual({
      ok: true,
      provider: 'gcp',
      toBytes: gi(32_768),
      warnings: ['capped at the hyperdisk-throughput maximum of 32768 GiB'],
      volumeType: 'hyperdisk-throughput',
    });
    expect(gcp.requests.map((r) => r.path)).toContain(
      '/compute/v1/projects/proj/regions/us-central1/disks/pvc-r',
    );
  });

  it('retries a 429, then succeeds', async () => {
    gcp.setDisks([
      { project: 'proj', zone: 'us-central1-a', name: 'pvc-q', sizeGb: 100, type: 'pd-balanced' },
    ]);
    gcp.failNext(
      'pvc-q',
      { status: 429, message: "Quota exceeded for quota metric 'Read requests'" },
      1,
    );

    const { verdicts, slept } = await check([
      gce('q', 'projects/proj/zones/us-central1-a/disks/pvc-q'),
    ]);

    expect(verdict(verdicts, 'q').ok).toBe(true);
    expect(gcp.requests).toHaveLength(2);
    expect(slept).toEqual([500]);
  });

  it('reports a missing disk as provider-error without opening the breaker', async () => {
    const { verdicts } = await check(
      ['m1', 'm2', 'm3'].map((n) => gce(n, `projects/proj/zones/us-central1-a/disks/${n}`)),
      { breakerThreshold: 1 },
    );

    expect([...verdicts.values()].map((v) => (v.ok ? 'ok' : v.reason))).toEqual([
      'provider-error',
      'provider-error',
      'provider-error',
    ]);
    expect(gcp.requests).toHaveLength(3);
  });
});

describe('circuit breaker', () => {
  it('stops calling a failing AWS after N errors while GCP candidates proceed', async () => {
    ec2.failNext(
      '*',
      { code: 'InternalError', message: 'An internal error has occurred', status: 500 },
      Infinity,
    );
    gcp.setDisks([
      { project: 'proj', zone: 'us-central1-a', name: 'pvc-ok', sizeGb: 100, type: 'pd-balanced' },
    ]);

    const { verdicts, logs } = await check(
      [
        ebs('east', 'vol-0e1', { zone: 'us-east-1a' }),
        ebs('west', 'vol-0e2', { zone: 'us-west-2a' }),
        ebs('euro', 'vol-0e3', { zone: 'eu-west-1a' }),
        gce('gke', 'projects/proj/zones/us-central1-a/disks/pvc-ok'),
      ],
      { breakerThreshold: 2 },
    );

    expect(verdict(verdicts, 'east')).toMatchObject({ ok: false, reason: 'provider-error' });
    expect(verdict(verdicts, 'west')).toMatchObject({ ok: false, reason: 'provider-error' });
    expect(verdict(verdicts, 'euro')).toMatchObject({ ok: false, reason: 'provider-circuit-open' });
    expect(verdict(verdicts, 'gke')).toMatchObject({ ok: true, provider: 'gcp' });
    expect(ec2.requests).toHaveLength(2);
    expect(logs.filter((l) => l.msg === 'provider circuit opened')).toEqual([
      expect.objectContaining({ provider: 'aws' }),
    ]);
  });

  it('stops calling a failing GCP while AWS candidates proceed', async () => {
    gcp.failNext('', { status: 500, message: 'Internal error' }, Infinity);
    ec2.setVolumes([gp3('vol-0f1')]);
    const disks = Array.from({ length: 10 }, (_, i) =>
      gce(`d${i}`, `projects/proj/zones/us-central1-a/disks/d${i}`),
    );

    const { verdicts } = await check([...disks, ebs('aws', 'vol-0f1')], { breakerThreshold: 3 });

    const reasons = disks
      .map((d) => verdict(verdicts, d.pvc.name))
      .map((v) => (v.ok ? 'ok' : v.reason));
    expect(reasons.filter((r) => r === 'provider-error').length).toBeGreaterThanOrEqual(3);
    expect(reasons.filter((r) => r === 'provider-circuit-open').length).toBeGreaterThan(0);
    expect(gcp.requests.length).toBeLessThan(10);
    expect(verdict(verdicts, 'aws')).toMatchObject({ ok: true, provider: 'aws' });
  });
});

describe('selection and lazy loading', () => {
  it('loads no SDK and calls no cloud when no candidate is on a cloud', async () => {
    const { verdicts, logs, kubeCalls } = await check([
      candidate('ceph', pv({ csiDriver: 'rbd.csi.ceph.com' })),
      candidate('az', pv({ csiDriver: 'disk.csi.azure.com' }), {
        storageClass: storageClass('disk.csi.azure.com', { skuName: 'Premium_LRS' }),
      }),
    ]);

    expect(verdict(verdicts, 'ceph')).toEqual({
      ok: true,
      provider: 'generic',
      toBytes: gi(120),
      warnings: [],
    });
    expect(verdict(verdicts, 'az')).toEqual({
      ok: true,
      provider: 'azure',
      toBytes: gi(120),
      warnings: [],
    });
    expect(logs.filter((l) => l.msg === 'provider sdk loaded')).toEqual([]);
    expect(ec2.requests).toEqual([]);
    expect(gcp.requests).toEqual([]);
    // No TopoLVM or Longhorn volume among them: no Node or Longhorn list either.
    expect(kubeCalls).toEqual([]);
  });

  it('loads only the SDK of the clouds present', async () => {
    ec2.setVolumes([gp3('vol-0aa')]);

    const { logs } = await check([ebs('a', 'vol-0aa')]);

    expect(logs.filter((l) => l.msg === 'provider sdk loaded').map((l) => l.provider)).toEqual([
      'aws',
    ]);
  });

  it('refuses an invalid provider annotation and honours a valid one', async () => {
    const { verdicts } = await check([
      candidate('bad', pv({ csiDriver: 'rbd.csi.ceph.com' }), {
        annotations: { 'pvc-chonker.io/provider': 'oracle' },
      }),
      candidate('forced', pv({ csiDriver: 'rbd.csi.ceph.com' }), {
        annotations: { 'pvc-chonker.io/provider': 'aws' },
      }),
    ]);

    expect(verdict(verdicts, 'bad')).toMatchObject({
      ok: false,
      provider: 'generic',
      reason: 'provider-refused',
    });
    expect(verdict(verdicts, 'forced')).toMatchObject({
      ok: false,
      provider: 'aws',
      reason: 'provider-error',
      detail: 'no EBS volume ID in the PersistentVolume',
    });
    expect(ec2.requests).toEqual([]);
  });

  it('providerFor needs no I/O', () => {
    const { log } = memoryLogger();
    const gate = createProviderGate(options(), { log, env: {}, kube: scriptedKube().kube });
    const c = ebs('x', 'vol-0aa');

    expect(gate.providerFor(c.pvc, c.pv, c.storageClass)).toBe('aws');
    expect(gate.providerFor(c.pvc, undefined, undefined)).toBe('generic');
  });
});

describe('Azure Disk', () => {
  it.each([
    {
      sku: 'Premium_LRS',
      from: 32_767,
      to: 33_000,
      expect: { ok: false, reason: 'max-size-reached' },
    },
    { sku: 'StandardSSD_LRS', from: 30_000, to: 40_000, expect: { ok: true, toBytes: gi(32_767) } },
    { sku: 'PremiumV2_LRS', from: 30_000, to: 40_000, expect: { ok: true, toBytes: gi(40_000) } },
    {
      sku: 'Premium_LRS',
      from: 4_000,
      to: 4_400,
      expect: {
        ok: true,
        warnings: [
          'Premium_LRS disks of 4 TiB or less grow beyond 4 TiB only while the VM is deallocated',
        ],
      },
    },
    {
      sku: 'Mystery_LRS',
      from: 100,
      to: 120,
      expect: {
        ok: true,
        warnings: ['unknown Azure disk SKU Mystery_LRS: no maximum size checked'],
      },
    },
  ])('$sku $from → $to GiB', async ({ sku, from, to, expect: expected }) => {
    const sc = storageClass('disk.csi.azure.com', { skuname: sku });

    const { verdicts } = await check([
      candidate('az', pv({ csiDriver: 'disk.csi.azure.com' }), {
        storageClass: sc,
        fromGi: from,
        toGi: to,
      }),
    ]);

    expect(verdict(verdicts, 'az')).toMatchObject({ provider: 'azure', ...expected });
  });
});
