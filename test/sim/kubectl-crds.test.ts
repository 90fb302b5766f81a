// Real kubectl 1.33 against the sim for the project's CRDs: apply of cronjob/crds/ and of the
// docs/examples/ custom resources (twice, the second time after an edit: kubectl must find
// in the sim's OpenAPI v3 that custom resources take no strategic merge patch and send a JSON
// merge patch), printer columns, defaults, schema errors and describe.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from './fixtures.js';

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const KUBECTL = root('.cache/tools/kubectl');
const HAVE_KUBECTL = existsSync(KUBECTL);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!HAVE_KUBECTL)('real kubectl 1.33 and the pvc-chonker CRDs', () => {
  let sim: SimCluster;
  let dir: string;
  let kubeconfig: string;

  function kubectl(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** docs/examples/NAME with an edit applied to its text, written to the temp directory. */
  async function edited(name: string, from: string, to: string): Promise<string> {
    const text = await readFile(root(`docs/examples/${name}`), 'utf8');
    expect(text).toContain(from);
    const path = join(dir, name);
    await writeFile(path, text.replace(from, to));
    return path;
  }

  beforeAll(async () => {
    // The CRDs are not seeded: kubectl installs them.
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'databases', name: 'data-pg-0', labels: { workload: 'database' }, annotations: {} },
        { ns: 'search', name: 'data-elasticsearch-0' },
      ]),
      resizeDelayMs: 60_000,
    });
    dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-crds-'));
    kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('applies the CRDs, then the examples, which the discovery and OpenAPI now serve', async () => {
    const before = await kubectl('get', 'pvcpol', '-A');
    const crds = await kubectl('apply', '-f', root('cronjob/crds/'));
    const examples = await kubectl('apply', '-f', root('docs/examples/'));
    const again = await kubectl('apply', '-f', root('docs/examples/'));

    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`the server doesn't have a resource type "pvcpol"`);
    expect(crds.code, crds.stderr).toBe(0);
    expect(crds.stdout.trim().split('\n')).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/pvcgroups.pvc-chonker.io created',
      'customresourcedefinition.apiextensions.k8s.io/pvcpolicies.pvc-chonker.io created',
    ]);
    expect(examples.code, examples.stderr).toBe(0);
    expect(examples.stdout.trim().split('\n')).toEqual([
      'pvcpolicy.pvc-chonker.io/database-policy created',
      'pvcgroup.pvc-chonker.io/elasticsearch-cluster created',
    ]);
    expect(again.stdout.trim().split('\n')).toEqual([
      'pvcpolicy.pvc-chonker.io/database-policy unchanged',
      'pvcgroup.pvc-chonker.io/elasticsearch-cluster unchanged',
    ]);
    // kubectl found fieldValidation among the PATCH parameters, so validation is the server's.
    const creates = sim.requests.filter((r) => r.method === 'POST' && r.path.includes('pvc-'));
    expect(creates.map((r) => r.query['fieldValidation'])).toEqual(['Strict', 'Strict']);
  });

  it('sends a JSON merge patch when an applied example is edited', async () => {
    const path = await edited('database-policy.yaml', "threshold: '85%'", "threshold: '90%'");
    sim.requests.length = 0;

    const run = await kubectl('apply', '-f', path);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('pvcpolicy.pvc-chonker.io/database-policy configured');
    const patches = sim.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0]?.contentType).toBe('application/merge-patch+json');
    expect(patches[0]?.body).toMatchObject({ spec: { template: { threshold: '90%' } } });
    const stored = sim.getObject('PVCPolicy', 'databases', 'database-policy') as {
      metadata: { generation: number };
      spec: { template: { threshold: string } };
    };
    expect(stored.spec.template.threshold).toBe('90%');
    expect(stored.metadata.generation).toBe(2);
  });

  it('prints the printer columns for get pvcpol -A and get pvcgrp', async () => {
    const policies = await kubectl('get', 'pvcpol', '-A');
    const groups = await kubectl('get', 'pvcgrp');

    expect(policies.code, policies.stderr).toBe(0);
    const [polHeader = '', polRow = ''] = policies.stdout.trim().split('\n');
    expect(polHeader.split(/\s{2,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'PRIORITY',
      'ENABLED',
      'MATCHED',
      'VALID',
      'AGE',
    ]);
    // No pass has run yet: no status, so MATCHED and VALID are empty cells.
    expect(polRow).toMatch(/^databases\s+database-policy\s+0\s+true\s+\d+s$/);
    expect(groups.code, groups.stderr).toBe(0);
    const [grpHeader = '', grpRow = ''] = groups.stdout.trim().split('\n');
    expect(grpHeader.split(/\s{2,}/)).toEqual([
      'NAME',
      'POLICY',
      'MEMBERS',
      'SIZE',
      'LAST-EXPANSION',
      'AGE',
    ]);
    expect(grpRow).toMatch(/^elasticsearch-cluster\s+largest\s/);
  });

  it('shows the schema defaults in get -o yaml', async () => {
    const run = await kubectl('get', 'pvcpol', 'database-policy', '-n', 'databases', '-o', 'yaml');

    expect(run.code, run.stderr).toBe(0);
    const policy = parse(run.stdout) as {
      apiVersion: string;
      kind: string;
      metadata: { annotations: Record<string, string>; generation: number; uid: string };
      spec: { priority: number; enabled: boolean };
      status?: unknown;
    };
    expect(policy.apiVersion).toBe('pvc-chonker.io/v1alpha1');
    expect(policy.kind).toBe('PVCPolicy');
    expect(policy.spec).toMatchObject({ priority: 0, enabled: true });
    expect(policy.metadata.generation).toBe(2);
    // Create cannot set status (status subresource) and no pass has written one.
    expect(policy.status).toBeUndefined();
    expect(
      policy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'],
    ).toContain('"threshold":"90%"');
  });

  it('rejects an invalid template value with the server 422, and an unknown field', async () => {
    const badPattern = await edited(
      'database-policy.yaml',
      "threshold: '85%'",
      "threshold: 'lots'",
    );
    const unknown = await edited(
      'elasticsearch-group.yaml',
      'coordinationPolicy: largest',
      'coordination: largest',
    );

    const pattern = await kubectl('apply', '-f', badPattern);
    const strict = await kubectl('apply', '-f', unknown);

    expect(pattern.code).toBe(1);
    expect(pattern.stderr).toMatch(
      /The PVCPolicy "database-policy" is invalid: spec\.template\.threshold: Invalid value: "lots": spec\.template\.threshold in body should match '.+'/,
    );
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('strict decoding error: unknown field "spec.coordination"');
    const stored = sim.getObject('PVCPolicy', 'databases', 'database-policy') as {
      spec: { template: { threshold: string } };
    };
    expect(stored.spec.template.threshold).toBe('90%');
  });

  it('describes a policy', async () => {
    const run = await kubectl('describe', 'pvcpol', 'database-policy', '-n', 'databases');

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Name:\s+database-policy$/m);
    expect(run.stdout).toMatch(/^Namespace:\s+databases$/m);
    expect(run.stdout).toMatch(/^API Version:\s+pvc-chonker.io\/v1alpha1$/m);
    expect(run.stdout).toMatch(/^Kind:\s+PVCPolicy$/m);
    expect(run.stdout).toMatch(/^\s+Threshold:\s+90%$/m);
    expect(run.stdout).toMatch(/^Events:\s+<none>$/m);
  });
});
