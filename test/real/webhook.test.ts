// The admission webhook as installed by cronjob/webhook/ and called by the real API server: the
// built `pvc-chonker webhook --auto-tls` runs as its ServiceAccount (TokenRequest token, RBAC of
// cronjob/webhook/rbac.yaml) and listens on TEST-NET-1; the Service of the manifests reaches it
// through an EndpointSlice the test writes (no endpoint controller runs), because the server
// routes to Services by their EndpointSlices (--enable-aggregator-routing).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type Run } from '../chart/tools.js';
import { httpsCall, startWebhook, waitFor, type WebhookProcess } from '../webhook/harness.js';
import { NETNS_ADDRESS, type AuditEntry, type RealCluster } from './cluster.js';
import {
  WRITE_VERBS,
  auditOf,
  deployTierSkip,
  serviceAccountUser,
  startDeployCluster,
  succeeded,
  type Client,
  type DeployCluster,
} from './deploy.js';

const unavailable = deployTierSkip('webhook.test.ts');

const WEBHOOK_USER = serviceAccountUser('pvc-chonker', 'pvc-chonker-webhook');
const CONFIGURATIONS = [
  '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pvc-chonker',
  '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/pvc-chonker',
];

interface StoredPvc {
  metadata: { annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
}

interface Configuration {
  webhooks: { name: string; clientConfig: { caBundle?: string } }[];
}

function pvc(
  name: string,
  size: string,
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'db', ...meta },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  };
}

describe.skipIf(unavailable !== undefined)('the webhook behind the real API server', () => {
  let deployed: DeployCluster;
  let cluster: RealCluster;
  let dir: string;
  let admin: Client;
  let webhook: WebhookProcess;
  let caPem: string;

  /** `kubectl apply -f` of one object, as the admin. */
  async function apply(object: Record<string, unknown>): Promise<Run> {
    const file = join(dir, `${(object['metadata'] as { name: string }).name}.json`);
    await writeFile(file, JSON.stringify(object));
    return admin.kubectl('apply', '-f', file);
  }

  async function stored(name: string): Promise<StoredPvc | undefined> {
    const answer = await cluster.request(
      'GET',
      `/api/v1/namespaces/db/persistentvolumeclaims/${name}`,
    );
    return answer.status === 200 ? (answer.body as StoredPvc) : undefined;
  }

  /** The audit entry of the admin's create of one PVC. */
  async function creation(name: string): Promise<AuditEntry | undefined> {
    return (await cluster.audit()).find(
      (e) =>
        e.verb === 'create' &&
        e.resource === 'persistentvolumeclaims' &&
        e.name === name &&
        e.uri.startsWith('/api/v1/namespaces/db/persistentvolumeclaims'),
    );
  }

  beforeAll(async () => {
    deployed = await startDeployCluster('webhook', ['cronjob', 'cronjob/webhook']);
    ({ cluster, dir, admin } = deployed);
    succeeded(await admin.kubectl('create', 'namespace', 'db'), 'create namespace db');
    // Before the webhook starts: its validation of PVCPolicies fails open until then.
    succeeded(
      await apply({
        apiVersion: 'pvc-chonker.io/v1alpha1',
        kind: 'PVCPolicy',
        metadata: { name: 'databases', namespace: 'db' },
        spec: { selector: { matchLabels: { app: 'pg' } }, template: { initialSize: '20Gi' } },
      }),
      'apply the policy',
    );

    const identity = await deployed.clientOf('webhook', 'pvc-chonker-webhook');
    webhook = await startWebhook(identity.kubeconfig);
    const slice = await cluster.request(
      'POST',
      '/apis/discovery.k8s.io/v1/namespaces/pvc-chonker/endpointslices',
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'pvc-chonker-webhook-test',
          labels: { 'kubernetes.io/service-name': 'pvc-chonker-webhook' },
        },
        addressType: 'IPv4',
        ports: [{ name: 'https', port: webhook.port, protocol: 'TCP' }],
        endpoints: [{ addresses: [NETNS_ADDRESS], conditions: { ready: true } }],
      },
    );
    expect(slice.status).toBe(201);

    const secret = await cluster.request(
      'GET',
      '/api/v1/namespaces/pvc-chonker/secrets/pvc-chonker-webhook-tls',
    );
    caPem = Buffer.from(
      (secret.body as { data?: Record<string, string> }).data?.['ca.crt'] ?? '',
      'base64',
    ).toString('utf8');
    await waitFor(
      async () => (await httpsCall(webhook.port, caPem, 'GET', '/readyz')).status === 200,
    );
    // The API server picks up the caBundle from its own watch: wait until a dry-run create is
    // mutated, so that no test meets a server still failing open for want of the CA.
    await waitFor(async () => {
      const answer = await cluster.request(
        'POST',
        '/api/v1/namespaces/db/persistentvolumeclaims?dryRun=All',
        pvc('probe', '1Gi', { labels: { app: 'pg' } }),
      );
      return (
        (answer.body as StoredPvc).metadata.annotations?.['pvc-chonker.io/policy'] === 'databases'
      );
    }, 30_000);
  });
  afterAll(async () => {
    webhook.child.kill('SIGKILL');
    await deployed.close();
  });

  it('--auto-tls stored its CA and published it as the caBundle of both configurations', async () => {
    expect(caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);

    for (const path of CONFIGURATIONS) {
      const { body } = await cluster.request('GET', path);

      const webhooks = (body as Configuration).webhooks;
      expect(webhooks.length, path).toBeGreaterThan(0);
      for (const w of webhooks) {
        expect(w.clientConfig.caBundle, `${path} ${w.name}`).toBe(
          Buffer.from(caPem).toString('base64'),
        );
      }
    }
  });

  it('mutates a matching PVC at creation: the policy annotation and its initialSize', async () => {
    const run = await apply(pvc('pg-0', '10Gi', { labels: { app: 'pg' } }));

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      'Warning: storage request raised to 20Gi: the initialSize of PVCPolicy databases',
    );
    const created = await stored('pg-0');
    expect(created?.metadata.annotations).toMatchObject({ 'pvc-chonker.io/policy': 'databases' });
    expect(created?.spec.resources.requests.storage).toBe('20Gi');
    // The API server itself called the webhook and applied its patch.
    const entry = await creation('pg-0');
    expect(
      JSON.parse(entry?.annotations?.['mutation.webhook.admission.k8s.io/round_0_index_0'] ?? '{}'),
    ).toEqual({ configuration: 'pvc-chonker', webhook: 'mutate.pvc-chonker.io', mutated: true });
  });

  it('refuses a PVC whose annotation does not parse, with the words of the pass', async () => {
    const run = await apply(
      pvc('bad', '10Gi', { annotations: { 'pvc-chonker.io/threshold': 'eighty' } }),
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'admission webhook "validate.pvc-chonker.io" denied the request: pvc-chonker.io/threshold: "eighty"',
    );
    expect(await stored('bad')).toBeUndefined();
  });

  it('refuses a PVCPolicy whose maxSize is below its initialSize', async () => {
    const run = await apply({
      apiVersion: 'pvc-chonker.io/v1alpha1',
      kind: 'PVCPolicy',
      metadata: { name: 'upside-down', namespace: 'db' },
      spec: { selector: {}, template: { initialSize: '20Gi', maxSize: '10Gi' } },
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /admission webhook "validate\.pvc-chonker\.io" denied the request: .*maxSize/,
    );
    const answer = await cluster.request(
      'GET',
      '/apis/pvc-chonker.io/v1alpha1/namespaces/db/pvcpolicies/upside-down',
    );
    expect(answer.status).toBe(404);
  });

  it('keeps the caBundle when the manifests are applied again', async () => {
    const reapplied = await admin.kubectl('apply', '-k', join(ROOT, 'cronjob/webhook'));

    expect(reapplied.code, reapplied.stderr).toBe(0);
    for (const path of CONFIGURATIONS) {
      const { body } = await cluster.request('GET', path);
      for (const w of (body as Configuration).webhooks) {
        expect(w.clientConfig.caBundle, path).toBe(Buffer.from(caPem).toString('base64'));
      }
    }
  });

  it('ran as its ServiceAccount with the RBAC of cronjob/webhook/rbac.yaml: nothing refused', async () => {
    const entries = await auditOf(cluster, WEBHOOK_USER);

    expect(entries.filter((e) => e.status === 403)).toEqual([]);
    const writes = entries
      .filter((e) => WRITE_VERBS.includes(e.verb))
      .map((e) => `${e.verb} ${e.resource ?? ''}/${e.name ?? ''} ${String(e.status)}`);
    expect(writes.sort()).toEqual([
      'create secrets/pvc-chonker-webhook-tls 201',
      'patch mutatingwebhookconfigurations/pvc-chonker 200',
      'patch validatingwebhookconfigurations/pvc-chonker 200',
    ]);
    expect(entries).toContainEqual(
      expect.objectContaining({ verb: 'watch', resource: 'pvcpolicies', status: 200 }),
    );
  });

  // Last: it stops the webhook.
  it('admits a PVC unchanged while the webhook is down (failurePolicy: Ignore)', async () => {
    webhook.child.kill('SIGKILL');
    await webhook.exited;

    const run = await apply(pvc('pg-down', '10Gi', { labels: { app: 'pg' } }));

    expect(run.code, run.stderr).toBe(0);
    const created = await stored('pg-down');
    expect(created?.spec.resources.requests.storage).toBe('10Gi');
    expect(created?.metadata.annotations ?? {}).not.toHaveProperty('pvc-chonker.io/policy');
    // The server did try, and failed open on both webhooks.
    const annotations = (await creation('pg-down'))?.annotations ?? {};
    expect(annotations).toMatchObject({
      'failed-open.mutation.webhook.admission.k8s.io/round_0_index_0': 'mutate.pvc-chonker.io',
      'failed-open.validating.webhook.admission.k8s.io/round_0_index_0': 'validate.pvc-chonker.io',
    });
  });
});
