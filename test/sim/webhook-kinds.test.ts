// Secrets, webhook configurations and watch in the sim, over HTTP as a client sees them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from './fixtures.js';

let sim: SimCluster;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, type?: string): Promise<Reply> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'Content-Type': type ?? 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const SECRETS = '/api/v1/namespaces/apps/secrets';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

function tlsSecret(name: string, data: Record<string, string>): unknown {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/tls', data };
}

function webhookConfig(name: string, webhooks: unknown[]): unknown {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks,
  };
}

const HOOK = {
  name: 'pvc.pvc-chonker.io',
  clientConfig: { service: { namespace: 'pvc-chonker', name: 'pvc-chonker-webhook' } },
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
};

beforeAll(async () => {
  sim = await startSimCluster({ seed: baseSeed([{ name: 'data-0' }]) });
});
afterAll(async () => {
  await sim.close();
});

describe('Secrets', () => {
  it('merges stringData into data, defaults the type, and guards resourceVersion', async () => {
    const created = await call('POST', SECRETS, {
      metadata: { name: 'plain' },
      stringData: { token: 'abc' },
    });
    const rv = (created.body['metadata'] as { resourceVersion: string }).resourceVersion;
    const stale = await call('PUT', `${SECRETS}/plain`, {
      metadata: { name: 'plain', resourceVersion: String(Number(rv) - 1) },
      data: {},
    });
    const again = await call('POST', SECRETS, { metadata: { name: 'plain' } });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'Opaque', data: { token: 'YWJj' } });
    expect(created.body['stringData']).toBeUndefined();
    expect(stale.status).toBe(409);
    expect(again.status).toBe(409);
    expect(again.body['reason']).toBe('AlreadyExists');
  });

  it.each([
    [
      'tls.key missing',
      tlsSecret('t1', { 'tls.crt': 'YQ==' }),
      422,
      'Secret "t1" is invalid: data[tls.key]: Required value',
    ],
    [
      'bad base64',
      tlsSecret('t2', { 'tls.crt': 'YQ==', 'tls.key': 'no!' }),
      400,
      'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2',
    ],
  ])('refuses a kubernetes.io/tls Secret with %s', async (_case, body, status, message) => {
    const reply = await call('POST', SECRETS, body);

    expect(reply.status).toBe(status);
    expect(reply.body['message']).toBe(message);
  });

  it('keeps the type immutable', async () => {
    await call('POST', SECRETS, tlsSecret('t3', { 'tls.crt': 'YQ==', 'tls.key': 'Yg==' }));

    const reply = await call(
      'PATCH',
      `${SECRETS}/t3`,
      { type: 'Opaque' },
      'application/merge-patch+json',
    );

    expect(reply.status).toBe(422);
    expect(reply.body['message']).toBe(
      'Secret "t3" is invalid: type: Invalid value: "Opaque": field is immutable',
    );
  });
});

describe('webhook configurations', () => {
  it('fills the server defaults and patches caBundle by JSON patch', async () => {
    await call('POST', MWC, webhookConfig('pvc-chonker', [HOOK]));

    const patched = await call(
      'PATCH',
      `${MWC}/pvc-chonker`,
      [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'Y2E=' }],
      'application/json-patch+json',
    );

    expect(patched.status).toBe(200);
    expect((patched.body['webhooks'] as unknown[])[0]).toMatchObject({
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      timeoutSeconds: 10,
      reinvocationPolicy: 'Never',
      clientConfig: { caBundle: 'Y2E=', service: { port: 443 } },
    });
  });

  it('refuses a webhook without sideEffects and a duplicate name', async () => {
    const noSideEffects: Partial<typeof HOOK> = { ...HOOK };
    delete noSideEffects.sideEffects;

    const reply = await call('POST', MWC, webhookConfig('bad', [noSideEffects, noSideEffects]));

    expect(reply.status).toBe(422);
    expect(reply.body['message']).toBe(
      'MutatingWebhookConfiguration.admissionregistration.k8s.io "bad" is invalid: [webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun, webhooks[1].name: Duplicate value: "pvc.pvc-chonker.io", webhooks[1].sideEffects: Required value: must specify one of None, NoneOnDryRun]',
    );
  });
});

/** Reads watch events until `count` arrived, then aborts the stream. */
async function watchEvents(path: string, count: number, act?: () => Promise<void>) {
  const abort = new AbortController();
  const res = await fetch(`${sim.url}${path}`, { signal: abort.signal });
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let text = '';
  if (act) await act();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += Buffer.from(chunk).toString('utf8');
    const lines = text.split('\n');
    text = lines.pop() ?? '';
    for (const line of lines)
      if (line !== '') events.push(JSON.parse(line) as (typeof events)[number]);
    if (events.length >= count) break;
  }
  abort.abort();
  return { status: res.status, events };
}

describe('watch', () => {
  it('replays from a resourceVersion and streams ADDED, MODIFIED and DELETED', async () => {
    const created = await call('POST', SECRETS, { metadata: { name: 'w1' } });
    const rv = (created.body['metadata'] as { resourceVersion: string }).resourceVersion;

    const { status, events } = await watchEvents(
      `${SECRETS}?watch=true&resourceVersion=${Number(rv) - 1}`,
      3,
      async () => {
        await call(
          'PATCH',
          `${SECRETS}/w1`,
          { data: { a: 'YQ==' } },
          'application/merge-patch+json',
        );
        await call('DELETE', `${SECRETS}/w1`);
      },
    );

    expect(status).toBe(200);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events.map((e) => (e.object['metadata'] as { name: string }).name)).toEqual([
      'w1',
      'w1',
      'w1',
    ]);
    const rvs = events.map((e) =>
      Number((e.object['metadata'] as { resourceVersion: string }).resourceVersion),
    );
    expect(rvs[0]).toBe(Number(rv));
    expect(rvs[1]! < rvs[2]!).toBe(true);
  });

  it('starts with synthetic ADDED events without a resourceVersion, filtered by label', async () => {
    await call('POST', SECRETS, { metadata: { name: 'l1', labels: { team: 'a' } } });
    await call('POST', SECRETS, { metadata: { name: 'l2', labels: { team: 'b' } } });

    const { events } = await watchEvents(`${SECRETS}?watch=true&labelSelector=team%3Da`, 1);

    expect(events.map((e) => [e.type, (e.object['metadata'] as { name: string }).name])).toEqual([
      ['ADDED', 'l1'],
    ]);
  });

  it('answers a too old resourceVersion with an ERROR event carrying 410 Expired', async () => {
    sim.compact();

    const { status, events } = await watchEvents(`${SECRETS}?watch=true&resourceVersion=1001`, 1);

    expect(status).toBe(200);
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });
});
