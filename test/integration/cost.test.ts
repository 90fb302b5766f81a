/**
 * Cost and recommendations (issue 20, parts 3 and 4), the built CLI against both clusters: what
 * an expansion adds (at the type EBS itself reports) in the report and its Event, the fleet's
 * cost metrics, and `pvc-chonker recommend` over every PVC, a VolumeAttributesClass named.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Fake, type Ec2Fake } from '../../sim/clouds/ec2.js';
import { byName, report, runCli, seed, type Claim, type CliResult } from './harness.js';
import { describeOnSim, itOnSim } from './sim-only.js';
import { startSimOnly, startTestCluster, type TestCluster } from './test-cluster.js';

const EBS = 'ebs.csi.aws.com';

function ebsClass(name: string, type: string): Record<string, unknown> {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: EBS,
    parameters: { type },
    allowVolumeExpansion: true,
  };
}

/** An EBS-shaped volume ID per claim name (vol- and hex digits). */
function volumeId(name: string): string {
  return `vol-0${Buffer.from(name).toString('hex').padEnd(16, '0').slice(0, 16)}`;
}

function ebsClaim(name: string, storageClass: string, extra: Partial<Claim> = {}): Claim {
  return {
    name,
    storageClass,
    csi: { driver: EBS, volumeHandle: volumeId(name) },
    ...extra,
  };
}

/** `pvc-chonker recommend` as the test's user, `args` after it. */
function recommend(
  cluster: TestCluster,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return runCli(['recommend', '--kubeconfig', cluster.kubeconfig, ...args], env);
}

const CLAIMS: Claim[] = [
  // Managed, 95 % full: 20Gi -> 22Gi. Its class says gp3, but EBS says the volume is gp2.
  ebsClaim('growing', 'ebs-gp3', { sizeGi: 20, usedPercent: 95 }),
  // Not managed: only `recommend` sees it.
  ebsClaim('old', 'ebs-gp2', { sizeGi: 100, managed: false }),
  ebsClaim('iops', 'ebs-io1', { sizeGi: 50, managed: false }),
  // Managed, quiet: counted in the pass's recommendations metric.
  ebsClaim('quiet', 'ebs-gp2', { sizeGi: 10, usedPercent: 20 }),
  // A class that names no type: no cost, never a guessed one.
  ebsClaim('untyped', 'ebs-default', { sizeGi: 10, managed: false }),
];

const VAC = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'VolumeAttributesClass',
  metadata: { name: 'cold-sc1' },
  driverName: EBS,
  parameters: { type: 'sc1' },
};

describe('cost and recommendations', () => {
  let cluster: TestCluster;
  let ec2: Ec2Fake;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startTestCluster(
      seed(CLAIMS, [
        ebsClass('ebs-gp2', 'gp2'),
        ebsClass('ebs-gp3', 'gp3'),
        ebsClass('ebs-io1', 'io1'),
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: 'ebs-default' },
          provisioner: EBS,
          allowVolumeExpansion: true,
        },
        VAC,
      ]),
    );
    ec2 = await startEc2Fake({
      volumes: [
        {
          volumeId: volumeId('growing'),
          sizeGib: 20,
          volumeType: 'gp2',
          availabilityZone: 'us-east-1a',
        },
      ],
    });
    env = {
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    };
  });
  afterAll(async () => {
    await ec2.close();
    await cluster.close();
  });

  it('reports what an expansion adds a month, at the type EBS reports, in the report and its Event', async () => {
    const metricsFile = join(cluster.dir, 'metrics.prom');

    const result = await cluster.cli(['--output', 'json', '--metrics-file', metricsFile], env);

    expect(result.code, result.stderr).toBe(0);
    const rows = report(result);
    // 20Gi -> 22Gi at gp2's $0.10 (the class's gp3 would say $0.16): 2 GiB × $0.10.
    expect(byName(rows, 'growing')).toMatchObject({
      action: 'expand',
      newSize: '22Gi',
      volumeType: 'gp2',
      monthlyCostUsd: '2.20',
      monthlyCostAddedUsd: '0.20',
    });
    expect(byName(rows, 'quiet')).toMatchObject({
      action: 'skip',
      volumeType: 'gp2',
      monthlyCostUsd: '1.00',
      monthlyCostAddedUsd: null,
      recommendations: [
        { kind: 'gp2-to-gp3', monthlySavingUsd: '0.20' },
        { kind: 'volume-attributes-class', monthlySavingUsd: '0.85' },
      ],
    });
    const events = (await cluster.list('Event', 'db')) as {
      type: string;
      message: string;
      involvedObject: { name: string };
    }[];
    const normal = events.find((e) => e.involvedObject.name === 'growing' && e.type === 'Normal');
    expect(normal?.message).toContain('adds $0.20 a month (gp2 at $0.10 per GiB-month)');
    // By provider and kind only: no per-PVC cost series.
    const metrics = await readFile(metricsFile, 'utf8');
    expect(metrics).toContain('pvc_chonker_monthly_cost_usd{provider="aws"} 3.2\n');
    expect(metrics).toContain('pvc_chonker_monthly_cost_added_usd{provider="aws"} 0.2\n');
    // Both managed PVCs are gp2 (growing by EBS's word): each could be gp3 or cold-sc1.
    expect(metrics).toContain('pvc_chonker_recommendations{kind="gp2-to-gp3"} 2\n');
    expect(metrics).toContain('pvc_chonker_recommendations{kind="io1-to-io2"} 0\n');
    expect(metrics).toContain('pvc_chonker_recommendations{kind="volume-attributes-class"} 2\n');
    expect(metrics).not.toMatch(/pvc_chonker_monthly_cost[a-z_]*\{[^}]*pvc=/);
  });

  it('`recommend` lists every gp2 and io1 volume of the fleet with its saving, and names the VolumeAttributesClass', async () => {
    const table = await recommend(cluster, [], env);
    const json = await recommend(cluster, ['--output', 'json'], env);

    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /^db\s+old\s+100Gi\s+gp2\s+\$10\.00\s+gp2-to-gp3\s+\$2\.00\s+gp3 is/m,
    );
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows.filter((r) => r['name'] === 'old')).toEqual([
      expect.objectContaining({
        namespace: 'db',
        name: 'old',
        size: '100Gi',
        provider: 'aws',
        volumeType: 'gp2',
        monthlyCostUsd: '10.00',
        kind: 'gp2-to-gp3',
        monthlySavingUsd: '2.00',
      }),
      expect.objectContaining({
        kind: 'volume-attributes-class',
        detail: expect.stringContaining('VolumeAttributesClass cold-sc1 sets type sc1') as string,
        // 100 GiB × ($0.10 − $0.015)
        monthlySavingUsd: '8.50',
      }),
    ]);
    expect(rows.filter((r) => r['name'] === 'iops').map((r) => r['kind'])).toEqual([
      'io1-to-io2',
      'volume-attributes-class',
    ]);
    // No type on the class: no row, rather than the driver's default guessed.
    expect(rows.some((r) => r['name'] === 'untyped')).toBe(false);
  });
});

describe('a VolumeAttributesClass created through the API', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(
      seed(
        [ebsClaim('old', 'ebs-gp2', { sizeGi: 40, usedPercent: 50 })],
        [ebsClass('ebs-gp2', 'gp2')],
      ),
    );
  });
  afterAll(async () => {
    await cluster.close();
  });

  const recommendKinds = async (): Promise<string[]> => {
    const result = await recommend(cluster, ['--output', 'json']);
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { kind: string }[]).map((r) => r.kind);
  };

  it('is named by `recommend` once it exists, refused without parameters as the real server does, and sets the type of a PVC that names it', async () => {
    const before = await recommendKinds();
    const refused = await cluster.create({ ...VAC, metadata: { name: 'empty' }, parameters: {} });
    const created = await cluster.create(VAC);
    const after = await recommendKinds();
    await cluster.patch('PersistentVolumeClaim', 'db', 'old', {
      spec: { volumeAttributesClassName: 'cold-sc1' },
    });
    const explained = await runCli([
      'explain',
      'db/old',
      '--kubeconfig',
      cluster.kubeconfig,
      '--output',
      'json',
    ]);

    expect(before).toEqual(['gp2-to-gp3']);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toContain(
      'parameters: Required value: must contain at least one key/value pair',
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(after).toEqual(['gp2-to-gp3', 'volume-attributes-class']);
    expect(explained.code, explained.stderr).toBe(0);
    // The class's type overrides the StorageClass's: sc1 is the cheapest, nothing to recommend.
    expect(JSON.parse(explained.stdout)).toMatchObject({
      cost: {
        volumeType: 'sc1',
        source: 'VolumeAttributesClass cold-sc1',
        pricePerGiBMonthUsd: '0.015',
        monthlyCostUsd: '0.60',
        monthlyCostAddedUsd: null,
      },
      recommendations: [],
    });
    expect(await recommendKinds()).toEqual([]);
  });
});

describeOnSim('injected-status')('a ClusterRole without the volumeattributesclasses rule', () => {
  let cluster: TestCluster & { sim: NonNullable<TestCluster['sim']> };

  beforeAll(async () => {
    cluster = await startSimOnly(
      seed(
        [ebsClaim('old', 'ebs-gp2', { sizeGi: 10, usedPercent: 50 })],
        [ebsClass('ebs-gp2', 'gp2'), VAC],
      ),
    );
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('costs the pass the class recommendation only: a warning names the rule', async () => {
    cluster.sim.faults.add({
      method: 'GET',
      path: '/volumeattributesclasses$',
      status: 403,
      reason: 'Forbidden',
    });

    const result = await cluster.cli(['--output', 'json']);

    expect(result.code, result.stderr).toBe(0);
    expect(byName(report(result), 'old')).toMatchObject({
      action: 'skip',
      volumeType: 'gp2',
      recommendations: [{ kind: 'gp2-to-gp3', monthlySavingUsd: '0.20' }],
    });
    expect(result.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        missingRule: 'list volumeattributesclasses.storage.k8s.io',
      }),
    );
  });
});

describe('--price-file', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(
      seed(
        [ebsClaim('old', 'ebs-gp2', { sizeGi: 100, managed: false })],
        [ebsClass('ebs-gp2', 'gp2')],
      ),
    );
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('replaces a shipped price: the saving follows it', async () => {
    const file = join(cluster.dir, 'prices.yaml');
    await writeFile(file, 'source: our contract 2026\naws:\n  gp3: "0.05"\n');

    const result = await recommend(cluster, ['--output', 'json', '--price-file', file]);

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      expect.objectContaining({ name: 'old', kind: 'gp2-to-gp3', monthlySavingUsd: '5.00' }),
    ]);
  });

  itOnSim('no-cluster')('a bad entry is a usage error (exit 2) naming it', async () => {
    const file = join(cluster.dir, 'bad-prices.yaml');
    await writeFile(file, 'aws:\n  gp3: cheap\nibm:\n  x: 1\n');

    const result = await runCli(['run', '--kubeconfig', cluster.kubeconfig, '--price-file', file]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `error: --price-file ${file}: aws.gp3: "cheap" is not a price in USD per GiB-month`,
    );
    expect(result.stderr).toContain('ibm: unknown provider (expected aws, gcp or azure)');
  });
});
