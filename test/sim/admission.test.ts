// The simulated API server calls admission webhooks as the real one does: matching, order,
// the AdmissionReview it sends, JSONPatch, refusals, warnings, failurePolicy, TLS and timeouts.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { generateTls, type TlsMaterial } from '../../src/webhook/tls.js';

type Review = { request: Record<string, unknown> };
type Reply = Record<string, unknown>;

/** An HTTPS webhook whose answer each test sets; it records what it was sent. */
interface FakeWebhook {
  server: Server;
  port: number;
  received: { path: string; review: Review }[];
  answer: (review: Review, path: string) => Reply | 'hang' | Promise<Reply>;
}

async function startFake(tls: TlsMaterial): Promise<FakeWebhook> {
  const fake: FakeWebhook = {
    server: createServer({ cert: tls.certPem, key: tls.keyPem }),
    port: 0,
    received: [],
    answer: () => ({ allowed: true }),
  };
  fake.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      fake.received.push({ path: req.url ?? '', review });
      const reply = fake.answer(review, req.url ?? '');
      if (reply === 'hang') return;
      void Promise.resolve(reply).then((answered) => {
        const body = JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request['uid'], ...answered },
        });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      });
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.port = (fake.server.address() as AddressInfo).port;
  return fake;
}

function jsonPatch(ops: unknown[]): Reply {
  return {
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  };
}

function hook(name: string, path: string, extra: Record<string, unknown> = {}): unknown {
  return {
    name,
    clientConfig: { service: { namespace: 'hooks', name: 'fake', path }, caBundle: CA_PLACEHOLDER },
    rules: [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['persistentvolumeclaims'],
      },
    ],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 2,
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
      ],
    },
    ...extra,
  };
}

const CA_PLACEHOLDER = 'Q0E='; // replaced by the fake's CA once generated

function pvc(name: string, namespace = 'db', labels: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  warning: string | null;
}

async function call(
  sim: SimCluster,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    warning: res.headers.get('warning'),
  };
}

const PVCS = '/api/v1/namespaces/db/persistentvolumeclaims';

describe('the simulated API server calls admission webhooks', () => {
  let tls: TlsMaterial;
  let fake: FakeWebhook;
  let sim: SimCluster;

  function configurations(mutating: unknown[], validating: unknown[]): void {
    const ca = Buffer.from(tls.caPem).toString('base64');
    const withCa = (hooks: unknown[]): unknown[] =>
      JSON.parse(JSON.stringify(hooks).replaceAll(CA_PLACEHOLDER, ca)) as unknown[];
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
      sim.deleteObject(kind as 'MutatingWebhookConfiguration', undefined, 'fake');
    sim.putObject({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'fake' },
      webhooks: withCa(mutating),
    });
    sim.putObject({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'fake' },
      webhooks: withCa(validating),
    });
  }

  beforeAll(async () => {
    tls = await generateTls({ namespace: 'hooks', name: 'fake' }, new Date());
    fake = await startFake(tls);
    sim = await startSimCluster({
      seed: {
        objects: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } },
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
        ],
        usage: [],
      },
      webhookServices: { 'hooks/fake': `127.0.0.1:${fake.port}` },
    });
  });
  afterAll(async () => {
    await sim.close();
    fake.server.closeAllConnections();
    fake.server.close();
  });
  beforeEach(() => {
    fake.received.length = 0;
    sim.admissionCalls.length = 0;
    fake.answer = () => ({ allowed: true });
    for (const o of sim.listObjects('PersistentVolumeClaim') as {
      metadata: { name: string; namespace: string };
    }[])
      sim.deleteObject('PersistentVolumeClaim', o.metadata.namespace, o.metadata.name);
  });

  it('sends an AdmissionReview v1 to the Service over verified TLS and applies the JSONPatch', async () => {
    configurations(
      [hook('mutate.example.io', '/mutate')],
      [hook('validate.example.io', '/validate')],
    );
    fake.answer = (_review, path) =>
      path.startsWith('/mutate')
        ? jsonPatch([{ op: 'add', path: '/metadata/annotations', value: { seen: 'yes' } }])
        : { allowed: true };

    const created = await call(sim, 'POST', PVCS, pvc('a'));

    expect(created.status).toBe(201);
    expect((created.body['metadata'] as { annotations: unknown }).annotations).toEqual({
      seen: 'yes',
    });
    expect(fake.received.map((r) => r.path)).toEqual([
      '/mutate?timeout=2s',
      '/validate?timeout=2s',
    ]);
    const request = fake.received[0]!.review.request;
    expect(request).toMatchObject({
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      name: 'a',
      namespace: 'db',
      operation: 'CREATE',
      userInfo: { username: 'kubernetes-admin' },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    });
    expect(typeof request['uid']).toBe('string');
    // The validating webhook sees the mutated object.
    expect(fake.received[1]!.review.request['object']).toMatchObject({
      metadata: { annotations: { seen: 'yes' } },
    });
    expect(sim.admissionCalls.map((c) => [c.webhook, c.outcome])).toEqual([
      ['mutate.example.io', 'patched'],
      ['validate.example.io', 'allowed'],
    ]);
  });

  it('calls mutating webhooks in configuration-name order, each on the previous result', async () => {
    configurations([hook('first.example.io', '/one'), hook('second.example.io', '/two')], []);
    fake.answer = (review, path) => {
      const labels = (review.request['object'] as { metadata: { labels: Record<string, string> } })
        .metadata.labels;
      return path.startsWith('/one')
        ? jsonPatch([{ op: 'add', path: '/metadata/labels/step', value: '1' }])
        : jsonPatch([
            { op: 'add', path: '/metadata/labels/after', value: labels['step'] ?? 'none' },
          ]);
    };

    const created = await call(sim, 'POST', PVCS, pvc('b'));

    expect((created.body['metadata'] as { labels: unknown }).labels).toEqual({
      step: '1',
      after: '1',
    });
  });

  it('sends UPDATE with the old object and PatchOptions on a PATCH', async () => {
    configurations([], [hook('validate.example.io', '/validate')]);
    await call(sim, 'POST', PVCS, pvc('c'));
    fake.received.length = 0;

    const patched = await call(sim, 'PATCH', `${PVCS}/c`, { metadata: { labels: { x: 'y' } } });

    expect(patched.status).toBe(200);
    expect(fake.received[0]!.review.request).toMatchObject({
      operation: 'UPDATE',
      options: { kind: 'PatchOptions' },
      object: { metadata: { labels: { x: 'y' } } },
      oldObject: { metadata: { name: 'c' } },
    });
    expect(fake.received[0]!.review.request['oldObject']).not.toHaveProperty('metadata.labels.x');
  });

  it('returns a refusal as the API server formats it, with the code at least 400', async () => {
    configurations([], [hook('validate.example.io', '/validate')]);
    fake.answer = () => ({ allowed: false, status: { code: 200, message: 'bad size' } });

    const refused = await call(sim, 'POST', PVCS, pvc('d'));

    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      code: 400,
      message: 'admission webhook "validate.example.io" denied the request: bad size',
    });
    expect(sim.getObject('PersistentVolumeClaim', 'db', 'd')).toBeUndefined();
  });

  it('keeps the code and reason of a refusal and surfaces warnings as Warning headers', async () => {
    configurations([], [hook('validate.example.io', '/validate')]);
    fake.answer = () => ({
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no "thanks"' },
      warnings: ['first warning', 'say "hi"'],
    });

    const refused = await call(sim, 'POST', PVCS, pvc('e'));

    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ reason: 'Forbidden', code: 403 });
    expect(refused.warning).toBe('299 - "first warning", 299 - "say \\"hi\\""');
  });

  it('skips webhooks whose rules, namespaceSelector or objectSelector do not match', async () => {
    configurations(
      [
        hook('labelled.example.io', '/m', { objectSelector: { matchLabels: { hooked: 'yes' } } }),
        hook('pods.example.io', '/m', {
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['*'], resources: ['pods'] }],
        }),
        hook('status.example.io', '/m', {
          rules: [
            {
              apiGroups: ['*'],
              apiVersions: ['*'],
              operations: ['UPDATE'],
              resources: ['persistentvolumeclaims/status'],
            },
          ],
        }),
      ],
      [hook('validate.example.io', '/v')],
    );

    await call(
      sim,
      'POST',
      '/api/v1/namespaces/kube-system/persistentvolumeclaims',
      pvc('f', 'kube-system', { hooked: 'yes' }),
    );
    await call(sim, 'POST', PVCS, pvc('g'));
    await call(sim, 'POST', PVCS, pvc('h', 'db', { hooked: 'yes' }));

    expect(sim.admissionCalls.map((c) => `${c.webhook} ${c.name}`)).toEqual([
      'validate.example.io g',
      'labelled.example.io h',
      'validate.example.io h',
    ]);
  });

  it('fails open under failurePolicy Ignore and closed under Fail when the webhook is down', async () => {
    sim.setWebhookService('hooks/down', '127.0.0.1:1');
    const down = (name: string, policy: string): unknown => ({
      ...(hook(name, '/m', { failurePolicy: policy }) as Record<string, unknown>),
      clientConfig: { service: { namespace: 'hooks', name: 'down', path: '/m' } },
    });
    configurations([down('ignore.example.io', 'Ignore')], []);

    const created = await call(sim, 'POST', PVCS, pvc('i'));
    configurations([down('fail.example.io', 'Fail')], []);
    const failed = await call(sim, 'POST', PVCS, pvc('j'));

    expect(created.status).toBe(201);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({
      reason: 'InternalError',
      message:
        'Internal error occurred: failed calling webhook "fail.example.io": failed to call webhook: Post "https://down.hooks.svc:443/m?timeout=2s": dial tcp 127.0.0.1:1: connect: connection refused',
    });
    expect(sim.admissionCalls.map((c) => c.outcome)).toEqual(['failed-open', 'failed-closed']);
  });

  it('gives up after timeoutSeconds, and refuses a certificate the caBundle did not sign', async () => {
    configurations([hook('slow.example.io', '/m', { timeoutSeconds: 1 })], []);
    fake.answer = () => 'hang';
    const slow = await call(sim, 'POST', PVCS, pvc('k'));
    configurations(
      [
        {
          ...(hook('url.example.io', '/m') as Record<string, unknown>),
          clientConfig: {
            url: `https://127.0.0.1:${fake.port}/m`,
            caBundle: Buffer.from(tls.caPem).toString('base64'),
          },
        },
      ],
      [],
    );
    fake.answer = () => ({ allowed: true });
    const wrongName = await call(sim, 'POST', PVCS, pvc('l'));

    expect(slow.status).toBe(500);
    expect(slow.body['message']).toContain('context deadline exceeded');
    expect(wrongName.status).toBe(500);
    expect(wrongName.body['message']).toContain(
      `Post "https://127.0.0.1:${fake.port}/m?timeout=2s": tls: failed to verify certificate`,
    );
  });

  it('retries a PATCH that raced another writer during its webhooks; a stale PUT is a conflict', async () => {
    configurations([], [hook('validate.example.io', '/validate')]);
    await call(sim, 'POST', PVCS, pvc('n'));
    const before = sim.getObject('PersistentVolumeClaim', 'db', 'n') as {
      metadata: { labels: Record<string, string>; resourceVersion: string };
    };
    let raced = false;
    // The first UPDATE's webhook call lets another writer in before it answers.
    fake.answer = (review) => {
      if (review.request['operation'] !== 'UPDATE' || raced) return { allowed: true };
      raced = true;
      sim.putObject({
        ...before,
        metadata: { ...before.metadata, labels: { concurrent: 'yes' } },
      });
      return { allowed: true };
    };

    const patched = await call(sim, 'PATCH', `${PVCS}/n`, { metadata: { labels: { x: 'y' } } });
    raced = false;
    const stale = await call(sim, 'PUT', `${PVCS}/n`, {
      ...before,
      metadata: { ...before.metadata, labels: { stale: 'yes' } },
    });

    expect(patched.status).toBe(200);
    expect((patched.body['metadata'] as { labels: unknown }).labels).toEqual({
      concurrent: 'yes',
      x: 'y',
    });
    // Raced once and retried; the stale PUT fails before the validating webhook is called.
    expect(fake.received.filter((r) => r.review.request['operation'] === 'UPDATE')).toHaveLength(2);
    expect(stale.status).toBe(409);
    expect(stale.body['reason']).toBe('Conflict');
  });

  it('sends dryRun and stores nothing on ?dryRun=All', async () => {
    configurations([hook('mutate.example.io', '/mutate')], []);

    const dry = await call(sim, 'POST', `${PVCS}?dryRun=All`, pvc('m'));

    expect(dry.status).toBe(201);
    expect(fake.received[0]!.review.request).toMatchObject({
      dryRun: true,
      options: { dryRun: ['All'] },
    });
    expect(sim.getObject('PersistentVolumeClaim', 'db', 'm')).toBeUndefined();
  });
});
