// The sim over HTTPS with kube-apiserver's authentication: a CA of its own, client certificates
// as identities, static tokens, system:anonymous and the 401/403 bodies a real server answers.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANONYMOUS_USER,
  SIM_TOKEN,
  SIM_USER,
  startSimCluster,
  type SimCluster,
} from '../../sim/index.js';
import { requestAttributes } from '../../sim/auth.js';
import { createSimCa } from '../../sim/tls.js';
import { apiFailure, baseSeed, clientsFor } from './fixtures.js';

interface Answer {
  status: number;
  json: unknown;
  text: string;
}

interface Credentials {
  headers?: Record<string, string>;
  cert?: string;
  key?: string;
  ca?: string;
  method?: string;
}

const UNAUTHORIZED = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
};

function forbidden(message: string, details: Record<string, string>): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Forbidden',
    details,
    code: 403,
  };
}

describe('the sim over HTTPS with authentication', () => {
  let sim: SimCluster;
  let caPem: string;

  function get(path: string, creds: Credentials = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${sim.url}${path}`,
        {
          method: creds.method ?? 'GET',
          ca: creds.ca ?? caPem,
          headers: creds.headers ?? {},
          ...(creds.cert !== undefined && { cert: creds.cert }),
          ...(creds.key !== undefined && { key: creds.key }),
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json, text });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([{ ns: 'db', name: 'data-pg-0', node: 'n1', usedGi: 3 }]),
      tls: true,
      authentication: { tokens: { 'ops-token': 'ops' } },
    });
    caPem = sim.tls?.caPem ?? '';
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves HTTPS on 127.0.0.1 and exposes its CA', () => {
    const cert = new X509Certificate(caPem);

    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cert.ca).toBe(true);
  });

  it('presents a serving certificate with IP 127.0.0.1 and the kubernetes.default.svc names', async () => {
    const { connect } = await import('node:tls');
    const port = Number(new URL(sim.url).port);
    const peer = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port, ca: caPem, servername: 'kubernetes.default.svc' },
        () => {
          const der = socket.getPeerCertificate().raw;
          socket.end();
          resolve(new X509Certificate(der));
        },
      );
      socket.on('error', reject);
    });

    expect(peer.subjectAltName?.split(', ')).toEqual(
      expect.arrayContaining([
        'IP Address:127.0.0.1',
        'DNS:localhost',
        'DNS:kubernetes.default.svc',
      ]),
    );
    expect(peer.verify(new X509Certificate(caPem).publicKey)).toBe(true);
  });

  it('authenticates a known bearer token as its user', async () => {
    const answer = await get('/api/v1/persistentvolumeclaims', {
      headers: { Authorization: 'Bearer ops-token' },
    });

    expect(answer.status).toBe(200);
    expect((answer.json as { items: unknown[] }).items).toHaveLength(1);
    expect(sim.requests.at(-1)).toMatchObject({
      path: '/api/v1/persistentvolumeclaims',
      status: 200,
      user: 'ops',
    });
  });

  it('answers an unknown bearer token with the real 401 Status, anonymous or not', async () => {
    const answer = await get('/api/v1/persistentvolumeclaims', {
      headers: { Authorization: 'Bearer nobody-knows-me' },
    });
    const version = await get('/version', { headers: { Authorization: 'Bearer nobody' } });

    expect(answer.status).toBe(401);
    expect(answer.text).toBe(JSON.stringify(UNAUTHORIZED));
    expect(version.status).toBe(401);
    expect(sim.requests.at(-1)).toMatchObject({ path: '/version', status: 401 });
    expect(sim.requests.at(-1)?.user).toBeUndefined();
  });

  it('treats a request without credentials as system:anonymous, forbidden to list PVCs', async () => {
    const answer = await get('/api/v1/persistentvolumeclaims');

    expect(answer.status).toBe(403);
    expect(answer.json).toEqual(
      forbidden(
        'persistentvolumeclaims is forbidden: User "system:anonymous" cannot list resource "persistentvolumeclaims" in API group "" at the cluster scope',
        { kind: 'persistentvolumeclaims' },
      ),
    );
    expect(sim.requests.at(-1)).toMatchObject({ status: 403, user: ANONYMOUS_USER });
  });

  it.each([
    [
      'a named object in a namespace',
      'GET',
      '/api/v1/namespaces/db/persistentvolumeclaims/data-pg-0',
      'persistentvolumeclaims "data-pg-0" is forbidden: User "system:anonymous" cannot get resource "persistentvolumeclaims" in API group "" in the namespace "db"',
      { name: 'data-pg-0', kind: 'persistentvolumeclaims' },
    ],
    [
      'a patch of the status subresource',
      'PATCH',
      '/api/v1/namespaces/db/persistentvolumeclaims/data-pg-0/status',
      'persistentvolumeclaims "data-pg-0" is forbidden: User "system:anonymous" cannot patch resource "persistentvolumeclaims/status" in API group "" in the namespace "db"',
      { name: 'data-pg-0', kind: 'persistentvolumeclaims' },
    ],
    [
      'the kubelet proxy',
      'GET',
      '/api/v1/nodes/n1/proxy/stats/summary',
      'nodes "n1" is forbidden: User "system:anonymous" cannot get resource "nodes/proxy" in API group "" at the cluster scope',
      { name: 'n1', kind: 'nodes' },
    ],
    [
      'a grouped resource',
      'GET',
      '/apis/storage.k8s.io/v1/storageclasses',
      'storageclasses.storage.k8s.io is forbidden: User "system:anonymous" cannot list resource "storageclasses" in API group "storage.k8s.io" at the cluster scope',
      { group: 'storage.k8s.io', kind: 'storageclasses' },
    ],
    [
      'a namespace itself',
      'GET',
      '/api/v1/namespaces/db',
      'namespaces "db" is forbidden: User "system:anonymous" cannot get resource "namespaces" in API group "" in the namespace "db"',
      { name: 'db', kind: 'namespaces' },
    ],
    [
      'discovery (system:discovery is for authenticated users only)',
      'GET',
      '/api',
      'forbidden: User "system:anonymous" cannot get path "/api"',
      {},
    ],
  ])(
    'forbids anonymous %s with the authorizer message',
    async (_what, method, path, message, details) => {
      const answer = await get(path, { method });

      expect(answer.status).toBe(403);
      expect(answer.json).toEqual(forbidden(message, details));
    },
  );

  it.each(['/version', '/healthz', '/livez', '/readyz'])(
    'lets anonymous read %s (system:public-info-viewer)',
    async (path) => {
      const answer = await get(path);

      expect(answer.status).toBe(200);
      expect(sim.requests.at(-1)).toMatchObject({ path, status: 200, user: ANONYMOUS_USER });
    },
  );

  it('authenticates a client certificate of its CA as CN, and prefers it to a bad token', async () => {
    const pair = await sim.tls?.issueClientCertificate('alice', ['system:masters', 'ops']);
    if (!pair) throw new Error('no tls');

    const plain = await get('/api/v1/nodes', { cert: pair.certPem, key: pair.keyPem });
    const withBadToken = await get('/api/v1/nodes', {
      cert: pair.certPem,
      key: pair.keyPem,
      headers: { Authorization: 'Bearer wrong' },
    });

    expect(plain.status).toBe(200);
    expect(withBadToken.status).toBe(200);
    expect(sim.requests.slice(-2).map((r) => r.user)).toEqual(['alice', 'alice']);
  });

  it('puts each group in its own O attribute of the client certificate', async () => {
    const pair = await sim.tls?.issueClientCertificate('bob', ['g1', 'g2']);

    const cert = new X509Certificate(pair?.certPem ?? '');

    expect(cert.subject.split('\n')).toEqual(['CN=bob', 'O=g1', 'O=g2']);
    expect(cert.checkIssued(new X509Certificate(caPem))).toBe(true);
  });

  it('refuses a client certificate of another CA with 401 (the x509 authenticator fails)', async () => {
    const other = await createSimCa();
    const pair = await other.issueClientCertificate('mallory');

    const answer = await get('/api/v1/nodes', { cert: pair.certPem, key: pair.keyPem });
    const rescued = await get('/api/v1/nodes', {
      cert: pair.certPem,
      key: pair.keyPem,
      headers: { Authorization: 'Bearer ops-token' },
    });

    expect(answer.status).toBe(401);
    expect(answer.json).toEqual(UNAUTHORIZED);
    // The union goes on to the token authenticator: an unverified certificate is not fatal.
    expect(rescued.status).toBe(200);
    expect(sim.requests.at(-1)?.user).toBe('ops');
  });

  it('ignores Basic credentials (removed in 1.19): the request is anonymous', async () => {
    const basic = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

    const answer = await get('/api/v1/persistentvolumeclaims', {
      headers: { Authorization: basic },
    });

    expect(answer.status).toBe(403);
    expect(sim.requests.at(-1)?.user).toBe(ANONYMOUS_USER);
  });

  it('works with client-node and the kubeconfig it writes (CA data, SIM_TOKEN)', async () => {
    const { core, kubeconfigPath } = await clientsFor(sim);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(kubeconfigPath, 'utf8');

    const list = await core.listPersistentVolumeClaimForAllNamespaces();

    expect(list.items.map((p) => p.metadata?.name)).toEqual(['data-pg-0']);
    expect(text).toContain(`certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`);
    expect(text).not.toContain('insecure-skip-tls-verify');
    expect(text).toContain(`token: ${SIM_TOKEN}`);
    expect(sim.requests.at(-1)?.user).toBe(SIM_USER);
  });

  it('works with client-node and a client certificate, and shows it the 401 of a bad token', async () => {
    const pair = await sim.tls?.issueClientCertificate('carol');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 's', server: sim.url, caData: Buffer.from(caPem).toString('base64') }],
      users: [
        {
          name: 'cert',
          certData: Buffer.from(pair?.certPem ?? '').toString('base64'),
          keyData: Buffer.from(pair?.keyPem ?? '').toString('base64'),
        },
        { name: 'bad', token: 'not-a-token' },
      ],
      contexts: [
        { name: 'cert', cluster: 's', user: 'cert' },
        { name: 'bad', cluster: 's', user: 'bad' },
      ],
      currentContext: 'cert',
    });

    await kc.makeApiClient(CoreV1Api).listNode();
    kc.setCurrentContext('bad');
    const failure = await apiFailure(() => kc.makeApiClient(CoreV1Api).listNode());

    expect(sim.requests.at(-2)?.user).toBe('carol');
    expect(failure.code).toBe(401);
    // client-node's generated code throws its own "Unauthorized" for a 401, without the body.
    expect(failure.body).toBeUndefined();
    expect(sim.requests.at(-1)).toMatchObject({ status: 401 });
  });
});

describe('authentication options', () => {
  it('answers 401 to a request without credentials when anonymous requests are disabled', async () => {
    const sim = await startSimCluster({
      seed: baseSeed([]),
      authentication: { anonymous: false },
    });
    try {
      const none = await fetch(`${sim.url}/version`);
      const token = await fetch(`${sim.url}/api/v1/nodes`, {
        headers: { Authorization: `Bearer ${SIM_TOKEN}` },
      });

      expect(sim.url).toMatch(/^http:\/\//);
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual(UNAUTHORIZED);
      expect(token.status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it('lets the caller give SIM_TOKEN to a user of its own', async () => {
    const sim = await startSimCluster({
      seed: baseSeed([]),
      authentication: { tokens: { [SIM_TOKEN]: 'system:serviceaccount:pvc-chonker:pvc-chonker' } },
    });
    try {
      await fetch(`${sim.url}/api/v1/nodes`, { headers: { Authorization: `Bearer ${SIM_TOKEN}` } });

      expect(sim.requests.at(-1)?.user).toBe('system:serviceaccount:pvc-chonker:pvc-chonker');
    } finally {
      await sim.close();
    }
  });

  it('checks nothing and records no user without the option (as before)', async () => {
    const sim = await startSimCluster({ seed: baseSeed([]) });
    try {
      const answer = await fetch(`${sim.url}/api/v1/nodes`, {
        headers: { Authorization: 'Bearer anything' },
      });

      expect(answer.status).toBe(200);
      expect(sim.tls).toBeUndefined();
      expect(sim.requests.at(-1)?.user).toBeUndefined();
    } finally {
      await sim.close();
    }
  });
});

describe('requestAttributes (RequestInfoFactory)', () => {
  it.each([
    ['GET', '/api/v1/pods', {}, { verb: 'list', resource: 'pods', name: '' }],
    ['GET', '/api/v1/pods', { watch: 'true' }, { verb: 'watch', resource: 'pods' }],
    [
      'GET',
      '/api/v1/namespaces/a/pods',
      { fieldSelector: 'metadata.name=p1' },
      { verb: 'list', namespace: 'a', name: 'p1' },
    ],
    ['DELETE', '/api/v1/namespaces/a/pods', {}, { verb: 'deletecollection', namespace: 'a' }],
    ['POST', '/api/v1/namespaces/a/pods', {}, { verb: 'create', resource: 'pods' }],
    [
      'PUT',
      '/api/v1/namespaces/a/status',
      {},
      { verb: 'update', resource: 'namespaces', name: 'a', subresource: 'status' },
    ],
    ['GET', '/apis/apps/v1', {}, { resourceRequest: false, verb: 'get' }],
    ['HEAD', '/version', {}, { resourceRequest: false, verb: 'head' }],
  ])('%s %s %j', (method, path, query, expected) => {
    expect(requestAttributes(method, path, query as Record<string, string>)).toMatchObject(
      expected,
    );
  });
});
