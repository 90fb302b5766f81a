/**
 * What `make demo` promises, checked: the demo fleet on the sim started with --crds cronjob/crds
 * and --ec2, docs/examples/ created through the API, then the built CLI. The PVCPolicy manages
 * a PVC that carries no annotation, and the three PVCGroup members grow together in one pass.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFromConfig } from '../../sim/cli.js';
import type { SimCluster } from '../../sim/index.js';
import { byName, CRDS, report, runCli } from './harness.js';

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const PLURALS: Record<string, string> = { PVCPolicy: 'pvcpolicies', PVCGroup: 'pvcgroups' };

/** Creates a docs/examples/ manifest as kubectl apply would the first time (POST, Strict). */
async function create(url: string, file: string): Promise<void> {
  const o = parse(await readFile(root(`docs/examples/${file}`), 'utf8')) as {
    apiVersion: string;
    kind: string;
    metadata: { namespace?: string };
  };
  const ns = o.metadata.namespace === undefined ? '' : `/namespaces/${o.metadata.namespace}`;
  const res = await fetch(
    `${url}/apis/${o.apiVersion}${ns}/${PLURALS[o.kind] ?? ''}?fieldValidation=Strict`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o) },
  );
  expect(res.status, await res.text()).toBe(201);
}

describe('the demo fleet with docs/examples', () => {
  let sim: SimCluster;
  let dir: string;
  let kubeconfig: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-demo-'));
    kubeconfig = join(dir, 'kubeconfig');
    let ready: { url: string; ec2Url: string } = { url: '', ec2Url: '' };
    sim = await startFromConfig(
      {
        options: {
          seed: root('test/fixtures/sim/demo-fleet.yaml'),
          crds: CRDS,
          resizeDelayMs: 10,
          kubelets: true,
        },
        kubeconfigPath: kubeconfig,
        ec2: true,
      },
      (line) => (ready = JSON.parse(line) as typeof ready),
    );
    env = {
      AWS_ENDPOINT_URL_EC2: ready.ec2Url,
      AWS_ACCESS_KEY_ID: 'demo',
      AWS_SECRET_ACCESS_KEY: 'demo',
      AWS_REGION: 'eu-west-1',
    };
    await create(sim.url, 'database-policy.yaml');
    await create(sim.url, 'elasticsearch-group.yaml');
  });
  afterAll(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('expands the policy-managed PVC and the three group members together', async () => {
    const run = await runCli(['run', '--kubeconfig', kubeconfig, '--output', 'json'], env);
    await sim.settle();

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
    const timescale = sim.getObject('PersistentVolumeClaim', 'databases', 'data-timescale-0') as {
      metadata: { annotations: Record<string, string> };
      status: { capacity: { storage: string } };
    };
    expect(timescale.status.capacity.storage).toBe('150Gi');
    expect(timescale.metadata.annotations).not.toHaveProperty('pvc-chonker.io/enabled');
    const group = sim.getObject('PVCGroup', undefined, 'elasticsearch-cluster') as {
      status: Record<string, unknown>;
    };
    expect(group.status).toMatchObject({ currentSize: '110Gi', memberCount: 3 });
    const policy = sim.getObject('PVCPolicy', 'databases', 'database-policy') as {
      status: Record<string, unknown>;
    };
    expect(policy.status).toMatchObject({ matchedPVCs: 1 });
  });

  it('docs/policies.md shows the examples exactly as docs/examples/ holds them', async () => {
    const doc = await readFile(root('docs/policies.md'), 'utf8');

    for (const file of ['database-policy.yaml', 'elasticsearch-group.yaml']) {
      const text = await readFile(root(`docs/examples/${file}`), 'utf8');
      expect(doc).toContain(`(\`docs/examples/${file}\`):\n\n\`\`\`yaml\n${text}\`\`\``);
    }
  });

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
  });
});
