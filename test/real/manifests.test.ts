// The project's plain manifests on the real API server, applied with real kubectl as the docs
// say (kubectl apply -k cronjob/, then -k cronjob/webhook/), with server-side strict field
// validation: a field the server's schema does not know fails the apply. Then a manual run of the
// CronJob (`kubectl create job --from=...`, as its comment and the chart's NOTES suggest).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ROOT, parseObjects } from '../chart/tools.js';
import {
  crdsEstablished,
  deployTierSkip,
  startDeployCluster,
  succeeded,
  type Client,
  type DeployCluster,
} from './deploy.js';

const unavailable = deployTierSkip('manifests.test.ts');

const CRONJOB = join(ROOT, 'cronjob');
const WEBHOOK = join(ROOT, 'cronjob/webhook');

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    containers: { name: string; command?: string[]; args?: string[] }[];
  };
}

interface JobObject {
  metadata: {
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: { completionMode?: string; completions?: number; template: PodTemplate };
}

describe.skipIf(unavailable !== undefined)('cronjob/ manifests on the real API server', () => {
  let deployed: DeployCluster;
  let admin: Client;
  let dir: string;

  beforeAll(async () => {
    deployed = await startDeployCluster('manifests');
    ({ dir, admin } = deployed);
  });
  afterAll(async () => {
    await deployed.close();
  });

  /** `kubectl apply` with the server's strict field validation (kubectl's default, made explicit). */
  const apply = (...args: string[]) => admin.kubectl('apply', '--validate=strict', ...args);

  async function kustomized(path: string): Promise<string[]> {
    const text = succeeded(await admin.kubectl('kustomize', path), `kubectl kustomize ${path}`);
    return parseObjects(text).map((o) => `${o.kind}/${o.metadata.name}`);
  }

  async function job(name: string): Promise<JobObject> {
    const text = succeeded(
      await admin.kubectl('-n', 'pvc-chonker', 'get', 'job', name, '-o', 'json'),
      `get job ${name}`,
    );
    return JSON.parse(text) as JobObject;
  }

  it('kubectl apply -k cronjob/ creates every object, without a warning', async () => {
    const expected = await kustomized(CRONJOB);

    const result = await apply('-k', CRONJOB);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(expected.length);
    for (const line of lines) expect(line).toMatch(/ created$/);
    expect(expected).toEqual(
      expect.arrayContaining([
        'CustomResourceDefinition/pvcpolicies.pvc-chonker.io',
        'CustomResourceDefinition/pvcgroups.pvc-chonker.io',
        'Namespace/pvc-chonker',
        'ClusterRole/pvc-chonker',
        'CronJob/pvc-chonker',
      ]),
    );
    await crdsEstablished(admin, [
      'crd/pvcpolicies.pvc-chonker.io',
      'crd/pvcgroups.pvc-chonker.io',
    ]);
  });

  it('kubectl apply -k cronjob/webhook/ and the sharded CronJob apply after it', async () => {
    const expected = await kustomized(WEBHOOK);

    const webhook = await apply('-k', WEBHOOK);
    const sharded = await apply('-f', join(CRONJOB, 'sharded-job.yaml'));

    expect(webhook.code, webhook.stderr).toBe(0);
    expect(webhook.stderr).toBe('');
    expect(webhook.stdout.trim().split('\n')).toHaveLength(expected.length);
    expect(webhook.stdout).not.toMatch(/ (configured|unchanged)$/m);
    expect(sharded.code, sharded.stderr).toBe(0);
    expect(sharded.stdout.trim()).toBe('cronjob.batch/pvc-chonker-sharded created');
  });

  it('refuses a field the schema does not know, built-in kind or custom resource', async () => {
    const cron = parse(await readFile(join(CRONJOB, 'cronjob.yaml'), 'utf8')) as {
      metadata: { name: string };
      spec: { jobTemplate: { spec: { template: PodTemplate } } };
    };
    cron.metadata.name = 'with-unknown-field';
    Object.assign(cron.spec.jobTemplate.spec.template.spec.containers[0] ?? {}, { agrs: ['run'] });
    const policy = {
      apiVersion: 'pvc-chonker.io/v1alpha1',
      kind: 'PVCPolicy',
      metadata: { name: 'with-unknown-field', namespace: 'pvc-chonker' },
      spec: { selector: {}, template: { treshold: '80%' } },
    };
    await writeFile(join(dir, 'cron.yaml'), stringify(cron));
    await writeFile(join(dir, 'policy.yaml'), stringify(policy));

    const cronResult = await apply('-f', join(dir, 'cron.yaml'));
    const policyResult = await apply('-f', join(dir, 'policy.yaml'));

    expect(cronResult.code).not.toBe(0);
    expect(cronResult.stderr).toMatch(
      /unknown field "spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.agrs"/,
    );
    expect(policyResult.code).not.toBe(0);
    expect(policyResult.stderr).toMatch(/unknown field "spec\.template\.treshold"/);
  });

  it('kubectl create job --from=cronjob/pvc-chonker makes a Job that runs `run` as the ServiceAccount', async () => {
    const result = await admin.kubectl(
      '-n',
      'pvc-chonker',
      'create',
      'job',
      '--from=cronjob/pvc-chonker',
      'pvc-chonker-manual',
    );

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('job.batch/pvc-chonker-manual created');
    const created = await job('pvc-chonker-manual');
    expect(created.metadata.annotations).toMatchObject({
      'cronjob.kubernetes.io/instantiate': 'manual',
    });
    expect(created.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'CronJob', name: 'pvc-chonker' }),
    ]);
    const pod = created.spec.template.spec;
    expect(pod.serviceAccountName).toBe('pvc-chonker');
    expect(pod.containers).toHaveLength(1);
    // The image's entrypoint is the CLI; the container adds only the command's name.
    expect(pod.containers[0]?.command).toBeUndefined();
    expect(pod.containers[0]?.args).toEqual(['run']);
  });

  it('the sharded CronJob makes an Indexed Job whose pods run `run --shard-count 4`', async () => {
    const result = await admin.kubectl(
      '-n',
      'pvc-chonker',
      'create',
      'job',
      '--from=cronjob/pvc-chonker-sharded',
      'pvc-chonker-sharded-manual',
    );

    expect(result.code, result.stderr).toBe(0);
    const created = await job('pvc-chonker-sharded-manual');
    expect(created.spec).toMatchObject({ completionMode: 'Indexed', completions: 4 });
    expect(created.spec.template.spec.containers[0]?.args).toEqual(['run', '--shard-count', '4']);
  });

  it("the Job's pod passes the restricted Pod Security level its namespace enforces", async () => {
    // Pod Security admission enforces on pods only (a Job is merely warned about), and no Job
    // controller runs here: create the pod the controller would, as a server-side dry run.
    const template = (await job('pvc-chonker-manual')).spec.template;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pvc-chonker-manual-pod', namespace: 'pvc-chonker' },
      spec: template.spec,
    };
    const insecure = structuredClone(pod);
    (insecure.spec.containers[0] as Record<string, unknown>)['securityContext'] = {};
    await writeFile(join(dir, 'pod.yaml'), stringify(pod));
    await writeFile(join(dir, 'insecure-pod.yaml'), stringify(insecure));

    const allowed = await admin.kubectl('create', '--dry-run=server', '-f', join(dir, 'pod.yaml'));
    const refused = await admin.kubectl(
      'create',
      '--dry-run=server',
      '-f',
      join(dir, 'insecure-pod.yaml'),
    );

    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout.trim()).toBe('pod/pvc-chonker-manual-pod created (server dry run)');
    // The control: the namespace does enforce it.
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('violates PodSecurity "restricted:latest"');
  });
});
