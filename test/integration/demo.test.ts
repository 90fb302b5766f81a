/**
 * What `make demo` promises, checked: the demo fleet with the project's CRDs and an EC2 API for
 * its EBS volumes (as scripts/demo.sh starts the sim: --crds cronjob/crds --ec2), docs/examples/
 * created through the API, then the built CLI. The PVCPolicy manages a PVC that carries no
 * annotation, and the three PVCGroup members grow together in one pass.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebsVolumesFromSeed } from '../../sim/clouds/ebs-from-seed.js';
import { startEc2Fake, type Ec2Fake } from '../../sim/clouds/ec2.js';
import { loadSeed } from '../../sim/index.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';
import { byName, report, runCli } from './harness.js';
import { itOnSim } from './sim-only.js';

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Creates a docs/examples/ manifest as kubectl apply would the first time (POST, Strict). */
async function create(cluster: TestCluster, file: string): Promise<void> {
  const o = parse(await readFile(root(`docs/examples/${file}`), 'utf8')) as Record<string, unknown>;
  const answer = await cluster.create(o);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
}

describe('the demo fleet with docs/examples', () => {
  let cluster: TestCluster;
  let ec2: Ec2Fake | undefined;
  let kubeconfig: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    const seed = await loadSeed(root('test/fixtures/sim/demo-fleet.yaml'));
    cluster = await startTestCluster(seed, { crds: true, resizeDelayMs: 10 });
    ec2 = await startEc2Fake({ volumes: ebsVolumesFromSeed(seed) });
    kubeconfig = cluster.kubeconfig;
    env = {
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'demo',
      AWS_SECRET_ACCESS_KEY: 'demo',
      AWS_REGION: 'eu-west-1',
    };
    await create(cluster, 'database-policy.yaml');
    await create(cluster, 'elasticsearch-group.yaml');
  });
  afterAll(async () => {
    await ec2?.close();
    // Unset when beforeAll failed before the cluster started.
    await (cluster as TestCluster | undefined)?.close();
  });

  it('expands the policy-managed PVC and the three group members together', async () => {
    const run = await runCli(['run', '--kubeconfig', kubeconfig, '--output', 'json'], env);
    await cluster.settle();

    expect(run.code, run.stderr).toBe(0);
    const rows = report(run);
    // 18 PVCs; queues/data-zookeeper-0 is not managed, so it has no row.
    expect(rows).toHaveLength(17);
    expect(byName(rows, 'data-timescale-0')).toMatchObject({
      action: 'expand',
      reason: 'threshold-reached',
      currentSize: '100Gi',
      newSize: '150Gi',
      policy: 'database-policy',
    });
    const members = ['data-elasticsearch-0', 'data-elasticsearch-1', 'data-elasticsearch-2'];
    expect(members.map((name) => byName(rows, name))).toMatchObject([
      { action: 'expand', reason: 'threshold-reached', newSize: '110Gi' },
      { action: 'expand', reason: 'group-sync', newSize: '110Gi' },
      { action: 'expand', reason: 'group-sync', newSize: '110Gi' },
    ]);
    expect(members.map((name) => byName(rows, name)?.['group'])).toEqual(
      members.map(() => 'elasticsearch-cluster'),
    );
    const timescale = (await cluster.get(
      'PersistentVolumeClaim',
      'databases',
      'data-timescale-0',
    )) as {
      metadata: { annotations: Record<string, string> };
      status: { capacity: { storage: string } };
    };
    expect(timescale.status.capacity.storage).toBe('150Gi');
    expect(timescale.metadata.annotations).not.toHaveProperty('pvc-chonker.io/enabled');
    const group = (await cluster.get('PVCGroup', undefined, 'elasticsearch-cluster')) as {
      status: Record<string, unknown>;
    };
    expect(group.status).toMatchObject({ currentSize: '110Gi', memberCount: 3 });
    const policy = (await cluster.get('PVCPolicy', 'databases', 'database-policy')) as {
      status: Record<string, unknown>;
    };
    expect(policy.status).toMatchObject({ matchedPVCs: 1 });
    // One forecast: data-mysql-0's usage samples grow 4 GiB a day (docs/configuration.md).
    const mysql = byName(rows, 'data-mysql-0');
    expect(mysql).toMatchObject({ action: 'skip', reason: 'below-threshold', maxSize: '200Gi' });
    expect((mysql?.['growthBytesPerDay'] as number) / 2 ** 30).toBeCloseTo(4, 1);
    expect(mysql?.['forecast']).toMatch(
      /^growing 4 GiB\/day, full in 7\.\d days, max-size in 45 days; 5 samples over 24 h$/,
    );
  });

  itOnSim('no-cluster')(
    'docs/policies.md shows the examples exactly as docs/examples/ holds them',
    async () => {
      const doc = await readFile(root('docs/policies.md'), 'utf8');

      for (const file of ['database-policy.yaml', 'elasticsearch-group.yaml']) {
        const text = await readFile(root(`docs/examples/${file}`), 'utf8');
        expect(doc).toContain(`(\`docs/examples/${file}\`):\n\n\`\`\`yaml\n${text}\`\`\``);
      }
    },
  );

  it('explains the policy-managed PVC on a later run', async () => {
    const run = await runCli(
      ['explain', 'databases/data-timescale-0', '--kubeconfig', kubeconfig],
      env,
    );

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Managed\s+yes: opted in by policy:databases\/database-policy$/m);
    expect(run.stdout).toMatch(/^\s+threshold\s+85%\s+from policy:databases\/database-policy$/m);
    expect(run.stdout).toMatch(
      /^\s+min-increase\s+50Gi\s+from policy:databases\/database-policy$/m,
    );
    expect(run.stdout).toMatch(/^\s+cooldown\s+15m\s+from default$/m);
    expect(run.stdout).toMatch(/^Stats\s+capacity 150Gi/m);
    // 150Gi of gp3 (StorageClass gp3) at $0.08.
    expect(run.stdout).toMatch(
      /^Cost\s+gp3 \(from StorageClass gp3\): \$0\.08 per GiB-month, \$12\.00 a month$/m,
    );
  });

  it('recommends gp3 for the one gp2 volume of the fleet, with its monthly saving', async () => {
    const table = await runCli(['recommend', '--kubeconfig', kubeconfig], env);
    const json = await runCli(['recommend', '--kubeconfig', kubeconfig, '--output', 'json'], env);

    expect(table.code, table.stderr).toBe(0);
    // databases/data-clickhouse-0: 30Gi on legacy-standard (in-tree EBS, type gp2).
    expect(table.stdout).toMatch(
      /^databases\s+data-clickhouse-0\s+30Gi\s+gp2\s+\$3\.00\s+gp2-to-gp3\s+\$0\.60\s+gp3 is \$0\.08 per GiB-month instead of \$0\.10/m,
    );
    expect(table.stdout).toMatch(/^1 recommendation for 1 PVC: up to \$0\.60 a month/m);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        namespace: 'databases',
        name: 'data-clickhouse-0',
        volumeType: 'gp2',
        kind: 'gp2-to-gp3',
        monthlySavingUsd: '0.60',
      }),
    ]);
  });

  it('explains a forecast', async () => {
    const run = await runCli(
      ['explain', 'databases/data-mysql-0', '--kubeconfig', kubeconfig],
      env,
    );

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^Forecast {3}growing 4 GiB\/day, full in 7\.\d days, max-size in 45 days; 5 samples over 24 h$/m,
    );
  });
});
