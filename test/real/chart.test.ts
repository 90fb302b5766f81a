// The Helm chart installed with real helm 4 on the real API server, the webhook on: helm checks
// the rendered objects against the server's OpenAPI schema and the chart's kubeVersion against
// the server's version, and applies them server-side.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART, keyOf, parseObjects } from '../chart/tools.js';
import type { RealCluster } from './cluster.js';
import {
  crdsEstablished,
  deployTierSkip,
  startDeployCluster,
  succeeded,
  type Client,
  type DeployCluster,
} from './deploy.js';

const unavailable = deployTierSkip('chart.test.ts', { helm: true });

const WEBHOOK_ON = ['--set', 'webhook.enabled=true'];
const MUTATING = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pvc-chonker';

interface Configuration {
  webhooks: { name: string; clientConfig: { caBundle?: string } }[];
}

describe.skipIf(unavailable !== undefined)('helm install on the real API server', () => {
  let deployed: DeployCluster;
  let cluster: RealCluster;
  let dir: string;
  let admin: Client;

  beforeAll(async () => {
    deployed = await startDeployCluster('chart');
    ({ cluster, dir, admin } = deployed);
  });
  afterAll(async () => {
    await deployed.close();
  });

  it("fails on a rendered field the server's schema does not know", async () => {
    // extraEnv entries are free-form in values.schema.json: only the server's schema can tell.
    const result = await admin.helm(
      'install',
      'typo',
      CHART,
      '-n',
      'typo',
      '--create-namespace',
      '--set-json',
      'extraEnv=[{"name":"A","vaule":"1"}]',
    );

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\.env\[name="A"\]\.vaule: field not declared in schema/);
    const cronJobs = await cluster.request('GET', '/apis/batch/v1/namespaces/typo/cronjobs');
    expect((cronJobs.body as { items: unknown[] }).items).toEqual([]);
  });

  it('installs with the webhook on: every rendered object is on the server', async () => {
    const install = await admin.helm(
      'install',
      'pvc-chonker',
      CHART,
      '-n',
      'pvc-chonker',
      '--create-namespace',
      ...WEBHOOK_ON,
    );

    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).toBe('');
    const status = JSON.parse(
      succeeded(
        await admin.helm('status', 'pvc-chonker', '-n', 'pvc-chonker', '-o', 'json'),
        'status',
      ),
    ) as { info: { status: string } };
    expect(status.info.status).toBe('deployed');
    const manifest = succeeded(
      await admin.helm('get', 'manifest', 'pvc-chonker', '-n', 'pvc-chonker'),
      'get manifest',
    );
    const rendered = parseObjects(manifest).map(keyOf).sort();
    expect(rendered).toEqual(
      expect.arrayContaining([
        'CronJob/pvc-chonker/pvc-chonker',
        'ClusterRole//pvc-chonker',
        'Deployment/pvc-chonker/pvc-chonker-webhook',
        'Service/pvc-chonker/pvc-chonker-webhook',
        'MutatingWebhookConfiguration//pvc-chonker',
        'ValidatingWebhookConfiguration//pvc-chonker',
        'Role/pvc-chonker/pvc-chonker-webhook',
      ]),
    );
    await writeFile(join(dir, 'manifest.yaml'), manifest);
    const onServer = succeeded(
      await admin.kubectl('get', '-f', join(dir, 'manifest.yaml'), '-o', 'json'),
      'get the release objects',
    );
    const items = (JSON.parse(onServer) as { items: Parameters<typeof keyOf>[0][] }).items;
    expect(items.map(keyOf).sort()).toEqual(rendered);
    // The chart's crds/ are installed before its templates.
    await crdsEstablished(admin, [
      'crd/pvcpolicies.pvc-chonker.io',
      'crd/pvcgroups.pvc-chonker.io',
    ]);
  });

  it("kubectl create job --from the chart's CronJob makes a Job that runs `run`", async () => {
    const result = await admin.kubectl(
      '-n',
      'pvc-chonker',
      'create',
      'job',
      '--from=cronjob/pvc-chonker',
      'pvc-chonker-now',
    );

    expect(result.code, result.stderr).toBe(0);
    const job = JSON.parse(
      succeeded(
        await admin.kubectl('-n', 'pvc-chonker', 'get', 'job', 'pvc-chonker-now', '-o', 'json'),
        'get job',
      ),
    ) as {
      spec: {
        template: {
          spec: {
            serviceAccountName: string;
            containers: { args?: string[]; command?: string[] }[];
          };
        };
      };
    };
    expect(job.spec.template.spec.serviceAccountName).toBe('pvc-chonker');
    expect(job.spec.template.spec.containers[0]?.command).toBeUndefined();
    expect(job.spec.template.spec.containers[0]?.args).toEqual(['run']);
  });

  it('helm upgrade keeps the caBundle the webhook published', async () => {
    // What --auto-tls does at start (src/webhook/tls.ts): a JSON patch of each webhook's caBundle.
    const caBundle = Buffer.from(cluster.ca.caPem).toString('base64');
    const patched = await cluster.request(
      'PATCH',
      MUTATING,
      [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }],
      { contentType: 'application/json-patch+json' },
    );
    expect(patched.status).toBe(200);

    const upgrade = await admin.helm(
      'upgrade',
      'pvc-chonker',
      CHART,
      '-n',
      'pvc-chonker',
      ...WEBHOOK_ON,
      '--set',
      'config.threshold=85%',
    );

    expect(upgrade.code, upgrade.stderr).toBe(0);
    const { body } = await cluster.request('GET', MUTATING);
    expect((body as Configuration).webhooks[0]?.clientConfig.caBundle).toBe(caBundle);
  });
});
