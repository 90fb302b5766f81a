// The built `pvc-chonker webhook --auto-tls` against the simulated cluster, over verified TLS.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from '../../sim/index.js';
import {
  caOf,
  httpsCall,
  pvc,
  review,
  startSim,
  startWebhook,
  waitFor,
  type WebhookProcess,
} from './harness.js';

describe('pvc-chonker webhook --auto-tls', () => {
  let sim: SimCluster;
  let webhook: WebhookProcess;
  let ca: string;

  beforeAll(async () => {
    const started = await startSim();
    sim = started.sim;
    webhook = await startWebhook(started.kubeconfig);
    ca = caOf(sim);
    await waitFor(async () => (await httpsCall(webhook.port, ca, 'GET', '/readyz')).status === 200);
  });
  afterAll(async () => {
    webhook.child.kill('SIGKILL');
    await sim.close();
  });

  it('stores a CA and a serving certificate for the Service in a kubernetes.io/tls Secret', () => {
    const secret = sim.getObject('Secret', 'pvc-chonker', 'pvc-chonker-webhook-tls') as {
      type: string;
      data: Record<string, string>;
    };
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
    const caCert = new X509Certificate(ca);

    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(cert.subjectAltName).toBe(
      'DNS:pvc-chonker-webhook.pvc-chonker.svc, DNS:pvc-chonker-webhook.pvc-chonker.svc.cluster.local',
    );
    expect(cert.checkIssued(caCert)).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(360);
    expect(days).toBeLessThan(366);
  });

  it('publishes the CA as caBundle of every webhook in both configurations', () => {
    const bundle = Buffer.from(ca).toString('base64');
    const bundles = (
      ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'] as const
    ).flatMap((kind) =>
      (
        sim.getObject(kind, undefined, 'pvc-chonker') as {
          webhooks: { clientConfig: { caBundle?: string } }[];
        }
      ).webhooks.map((w) => w.clientConfig.caBundle),
    );

    expect(bundles).toEqual([bundle, bundle, bundle]);
  });

  it('answers /mutate for a PVC with and without annotations, echoing the uid', async () => {
    const bare = await httpsCall(
      webhook.port,
      ca,
      'POST',
      '/mutate',
      review(pvc(), { uid: 'a-1' }),
    );
    const annotated = await httpsCall(
      webhook.port,
      ca,
      'POST',
      '/mutate',
      review(pvc({ 'pvc-chonker.io/enabled': 'true' }), { uid: 'a-2' }),
    );

    expect(bare.status).toBe(200);
    expect(JSON.parse(bare.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'a-1', allowed: true },
    });
    expect((JSON.parse(annotated.body) as { response: unknown }).response).toEqual({
      uid: 'a-2',
      allowed: true,
    });
  });

  it('refuses a bad annotation naming the key and the value', async () => {
    const reply = await httpsCall(
      webhook.port,
      ca,
      'POST',
      '/validate',
      review(pvc({ 'pvc-chonker.io/max-size': '10Gx' })),
    );

    const response = (JSON.parse(reply.body) as { response: unknown }).response as {
      allowed: boolean;
      status: { message: string };
    };
    expect(response.allowed).toBe(false);
    expect(response.status.message).toMatch(/^pvc-chonker\.io\/max-size: .*"10Gx"/);
  });

  it('answers 400 to a body that is not an AdmissionReview, and keeps serving', async () => {
    const notJson = await httpsCall(webhook.port, ca, 'POST', '/validate', '{not json');
    const wrongKind = await httpsCall(webhook.port, ca, 'POST', '/mutate', '{"kind":"Pod"}');
    const tooLarge = await httpsCall(
      webhook.port,
      ca,
      'POST',
      '/validate',
      Buffer.alloc(1024 * 1024 + 10, 0x20),
    );
    const after = await httpsCall(webhook.port, ca, 'POST', '/validate', review(pvc()));

    expect(notJson.status).toBe(400);
    expect(JSON.parse(wrongKind.body)).toEqual({
      message: 'the body is not an AdmissionReview (kind must be "AdmissionReview")',
    });
    expect(wrongKind.status).toBe(400);
    expect(tooLarge.status).toBe(413);
    expect(after.status).toBe(200);
  });

  it('applies a PVCPolicy created after start (watch), raising a new PVC to its initialSize', async () => {
    const created = await fetch(
      `${sim.url}/apis/pvc-chonker.io/v1alpha1/namespaces/db/pvcpolicies`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'pvc-chonker.io/v1alpha1',
          kind: 'PVCPolicy',
          metadata: { name: 'databases', namespace: 'db' },
          spec: { selector: { matchLabels: { app: 'pg' } }, template: { initialSize: '50Gi' } },
        }),
      },
    );
    const started = Date.now();
    let patch: unknown[] = [];
    await waitFor(async () => {
      const reply = await httpsCall(
        webhook.port,
        ca,
        'POST',
        '/mutate',
        review(pvc(undefined, '10Gi', { app: 'pg' })),
      );
      const response = (JSON.parse(reply.body) as { response: { patch?: string } }).response;
      patch =
        response.patch === undefined
          ? []
          : (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as unknown[]);
      return patch.length > 0;
    }, 10_000);

    expect(created.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(patch).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { 'pvc-chonker.io/policy': 'databases' } },
      { op: 'add', path: '/spec/resources/requests/storage', value: '50Gi' },
    ]);
    expect(
      sim.requests.some((r) => r.path.endsWith('/pvcpolicies') && r.query['watch'] === 'true'),
    ).toBe(true);
  });

  it('exposes request counts and latencies by endpoint and result', async () => {
    const metrics = await httpsCall(webhook.port, ca, 'GET', '/metrics');

    expect(metrics.body).toMatch(
      /pvc_chonker_webhook_requests_total\{endpoint="validate",result="denied"\} 1/,
    );
    expect(metrics.body).toMatch(
      /pvc_chonker_webhook_requests_total\{endpoint="mutate",result="allowed"\} ([2-9]|\d{2,})\n/,
    );
    expect(metrics.body).toMatch(
      /pvc_chonker_webhook_request_duration_seconds_count\{endpoint="mutate",result="patched"\} [1-9]/,
    );
    expect(metrics.body).toMatch(/result="bad-request"/);
  });
});

describe('two replicas starting together', () => {
  it('end with one CA: the loser of the create race serves the winner certificate', async () => {
    const { sim, kubeconfig } = await startSim();
    try {
      const [a, b] = await Promise.all([startWebhook(kubeconfig), startWebhook(kubeconfig)]);
      const ca = caOf(sim);

      const replies = await Promise.all([
        httpsCall(a.port, ca, 'GET', '/healthz'),
        httpsCall(b.port, ca, 'GET', '/healthz'),
      ]);

      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      const creates = sim.requests.filter(
        (r) => r.method === 'POST' && r.path.endsWith('/secrets'),
      );
      expect(creates.length).toBeGreaterThanOrEqual(1);
      expect(creates.filter((r) => r.status === 201)).toHaveLength(1);
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    } finally {
      await sim.close();
    }
  });
});
