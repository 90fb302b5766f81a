// Real kubectl against the simulated cluster, which calls the built `pvc-chonker webhook` through
// the project's own webhook configurations (cronjob/webhook), as a real API server would.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, loadSeed, type SimCluster } from '../../sim/index.js';
import { caOf, httpsCall, startWebhook, waitFor, type WebhookProcess } from './harness.js';

const KUBECTL = new URL('../../.cache/tools/kubectl', import.meta.url).pathname;
const HAVE_KUBECTL = existsSync(KUBECTL);
if (!HAVE_KUBECTL) {
  process.stderr.write(
    `kubectl-admission.test.ts skipped: ${KUBECTL} is missing; run scripts/fetch-kubectl.sh\n`,
  );
}
const CONFIGURATIONS = new URL('../../cronjob/webhook/webhook-configurations.yaml', import.meta.url)
  .pathname;
const CRDS = new URL('../../cronjob/crds', import.meta.url).pathname;
const SERVICE = 'pvc-chonker/pvc-chonker-webhook';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(kubeconfig: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface PvcSpec {
  name: string;
  size: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function pvcYaml({ name, size, labels = {}, annotations = {} }: PvcSpec): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'db', labels, annotations },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  });
}

interface StoredPvc {
  metadata: { annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
}

describe.skipIf(!HAVE_KUBECTL)('kubectl apply through the sim to the built webhook', () => {
  let sim: SimCluster;
  let webhook: WebhookProcess;
  let kubeconfig: string;
  let dir: string;

  async function apply(pvc: PvcSpec): Promise<Run> {
    const file = join(dir, `${pvc.name}.json`);
    await writeFile(file, pvcYaml(pvc));
    return kubectl(kubeconfig, ['apply', '-f', file]);
  }

  function stored(name: string): StoredPvc {
    return sim.getObject('PersistentVolumeClaim', 'db', name) as StoredPvc;
  }

  beforeAll(async () => {
    const configurations = await loadSeed(CONFIGURATIONS);
    sim = await startSimCluster({
      crds: CRDS,
      seed: {
        objects: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pvc-chonker' } },
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } },
          ...configurations.objects,
          {
            apiVersion: 'pvc-chonker.io/v1alpha1',
            kind: 'PVCPolicy',
            metadata: { name: 'databases', namespace: 'db' },
            spec: { selector: { matchLabels: { app: 'pg' } }, template: { initialSize: '20Gi' } },
          },
          {
            apiVersion: 'pvc-chonker.io/v1alpha1',
            kind: 'PVCGroup',
            metadata: { name: 'kafka' },
            spec: { coordinationPolicy: 'largest', selector: { matchLabels: { app: 'kafka' } } },
            status: { currentSize: '30Gi', memberCount: 2 },
          },
        ],
        usage: [],
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'kubectl-admission-'));
    kubeconfig = join(dir, 'kubeconfig');
    await sim.writeKubeconfig(kubeconfig);
    webhook = await startWebhook(kubeconfig);
    sim.setWebhookService(SERVICE, `127.0.0.1:${webhook.port}`);
    const ca = caOf(sim);
    await waitFor(async () => (await httpsCall(webhook.port, ca, 'GET', '/readyz')).status === 200);
  });
  afterAll(async () => {
    webhook.child.kill('SIGKILL');
    await sim.close();
  });

  it('records the policy and raises a request to its initialSize, printing the warning', async () => {
    const run = await apply({ name: 'pg-0', size: '10Gi', labels: { app: 'pg' } });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('persistentvolumeclaim/pg-0 created');
    expect(run.stderr).toContain(
      'Warning: storage request raised to 20Gi: the initialSize of PVCPolicy databases',
    );
    expect(stored('pg-0').metadata.annotations).toMatchObject({
      'pvc-chonker.io/policy': 'databases',
    });
    expect(stored('pg-0').spec.resources.requests.storage).toBe('20Gi');
  });

  it('never lowers a request, and keeps the annotations the PVC came with', async () => {
    const run = await apply({
      name: 'pg-1',
      size: '50Gi',
      labels: { app: 'pg' },
      annotations: { 'pvc-chonker.io/threshold': '80%' },
    });

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(stored('pg-1').spec.resources.requests.storage).toBe('50Gi');
    expect(stored('pg-1').metadata.annotations).toMatchObject({
      'pvc-chonker.io/policy': 'databases',
      'pvc-chonker.io/threshold': '80%',
    });
  });

  it("raises a new member of a largest PVCGroup to the group's current size", async () => {
    const run = await apply({ name: 'kafka-2', size: '10Gi', labels: { app: 'kafka' } });

    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'Warning: storage request raised to 30Gi: the current size of PVCGroup kafka',
    );
    expect(stored('kafka-2').spec.resources.requests.storage).toBe('30Gi');
  });

  it('refuses a bad annotation with a message naming key and value', async () => {
    const run = await apply({
      name: 'bad',
      size: '10Gi',
      annotations: { 'pvc-chonker.io/threshold': 'eighty' },
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Error from server (Forbidden): error when creating "' +
        join(dir, 'bad.json') +
        '": admission webhook "validate.pvc-chonker.io" denied the request: pvc-chonker.io/threshold: "eighty"',
    );
    expect(sim.getObject('PersistentVolumeClaim', 'db', 'bad')).toBeUndefined();
  });

  it('allows an unknown key under the prefix, printing a warning', async () => {
    const run = await apply({
      name: 'typo',
      size: '10Gi',
      annotations: { 'pvc-chonker.io/thresold': '80%' },
    });

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Warning: .*pvc-chonker\.io\/thresold/m);
    expect(stored('typo')).toBeDefined();
  });

  it('refuses a bad annotation added by a later apply (UPDATE)', async () => {
    const run = await apply({
      name: 'typo',
      size: '10Gi',
      annotations: { 'pvc-chonker.io/threshold': 'eighty' },
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('denied the request: pvc-chonker.io/threshold: "eighty"');
    expect(stored('typo').metadata.annotations).not.toHaveProperty('pvc-chonker.io/threshold');
  });

  it('creates the PVC unchanged when the webhook is down (failurePolicy Ignore)', async () => {
    webhook.child.kill('SIGKILL');
    await webhook.exited;
    sim.admissionCalls.length = 0;

    const run = await apply({ name: 'pg-down', size: '10Gi', labels: { app: 'pg' } });

    expect(run.code).toBe(0);
    expect(stored('pg-down').spec.resources.requests.storage).toBe('10Gi');
    expect(stored('pg-down').metadata.annotations ?? {}).not.toHaveProperty(
      'pvc-chonker.io/policy',
    );
    expect(sim.admissionCalls.map((c) => [c.webhook, c.outcome])).toEqual([
      ['mutate.pvc-chonker.io', 'failed-open'],
      ['validate.pvc-chonker.io', 'failed-open'],
    ]);
    expect(sim.admissionCalls[0]?.error).toMatch(
      /^failed to call webhook: Post "https:\/\/pvc-chonker-webhook\.pvc-chonker\.svc:443\/mutate\?timeout=5s": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/,
    );
  });
});
