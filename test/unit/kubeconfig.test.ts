import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadApiConnection } from '../../src/kube/api-connection.js';
import { resolveKubeconfig, type KubeconfigFile } from '../../src/kube/kubeconfig.js';

function file(path: string, document: unknown): KubeconfigFile {
  return { path, text: stringify(document) };
}

const cluster = (name: string, body: Record<string, unknown>): unknown => ({ name, cluster: body });
const user = (name: string, body: Record<string, unknown>): unknown => ({ name, user: body });
const context = (name: string, clusterName: string, userName?: string): unknown => ({
  name,
  context: { cluster: clusterName, ...(userName === undefined ? {} : { user: userName }) },
});

const base = {
  clusters: [cluster('c', { server: 'https://10.0.0.1:6443' })],
  users: [user('u', { token: 't' })],
  contexts: [context('ctx', 'c', 'u')],
  'current-context': 'ctx',
};

describe('resolveKubeconfig', () => {
  it('merges files as kubectl does: the first name and the first current-context win', () => {
    const first = file('/home/a/config', {
      clusters: [cluster('c', { server: 'https://first:6443' })],
      contexts: [context('one', 'c', 'u')],
      'current-context': 'one',
    });
    const second = file('/etc/b/config', {
      clusters: [
        cluster('c', { server: 'https://second:6443' }),
        cluster('d', { server: 'https://d:6443' }),
      ],
      users: [user('u', { 'client-certificate': 'certs/me.crt', 'client-key': '/abs/me.key' })],
      contexts: [context('two', 'd', 'u')],
      'current-context': 'two',
    });

    const resolved = resolveKubeconfig([first, second], undefined);
    const chosen = resolveKubeconfig([first, second], 'two');

    expect(resolved).toMatchObject({
      ok: true,
      value: {
        context: 'one',
        cluster: { server: 'https://first:6443' },
        // Relative to the file that holds it, not to the first file or the working directory.
        user: {
          clientCertificate: { file: '/etc/b/certs/me.crt' },
          clientKey: { file: '/abs/me.key' },
        },
      },
    });
    expect(chosen).toMatchObject({ ok: true, value: { cluster: { server: 'https://d:6443' } } });
  });

  it.each<[string, unknown, string | undefined, string]>([
    [
      'no current context',
      { ...base, 'current-context': undefined },
      undefined,
      'no current-context is set',
    ],
    ['unknown --context', base, 'prod', '--context: "prod" is not a context in the kubeconfig'],
    [
      'a context naming a missing cluster',
      { ...base, contexts: [context('ctx', 'gone', 'u')] },
      undefined,
      'cluster "gone" was not found for context "ctx"',
    ],
    [
      'a context naming a missing user',
      { ...base, contexts: [context('ctx', 'c', 'nobody')] },
      undefined,
      'user "nobody" was not found for context "ctx"',
    ],
    [
      'a server that is not a URL',
      { ...base, clusters: [cluster('c', { server: '::not a url' })] },
      undefined,
      'clusters[0].cluster.server: "::not a url" is not a URL',
    ],
    [
      'a missing server',
      { ...base, clusters: [cluster('c', {})] },
      undefined,
      'clusters[0].cluster.server is missing',
    ],
    [
      'a CA with insecure-skip-tls-verify',
      {
        ...base,
        clusters: [
          cluster('c', {
            server: 'https://x',
            'certificate-authority': 'ca.crt',
            'insecure-skip-tls-verify': true,
          }),
        ],
      },
      undefined,
      'certificate-authority and insecure-skip-tls-verify are both set',
    ],
    [
      'insecure-skip-tls-verify that is not a boolean',
      {
        ...base,
        clusters: [cluster('c', { server: 'https://x', 'insecure-skip-tls-verify': 'maybe' })],
      },
      undefined,
      'insecure-skip-tls-verify: "maybe" is not true or false',
    ],
    [
      'a certificate without its key',
      { ...base, users: [user('u', { 'client-certificate-data': 'Y2VydA==' })] },
      undefined,
      'client-certificate and client-key must be set together',
    ],
    [
      'a CA both inline and as a file',
      {
        ...base,
        clusters: [
          cluster('c', {
            server: 'https://x',
            'certificate-authority': 'ca.crt',
            'certificate-authority-data': 'Y2E=',
          }),
        ],
      },
      undefined,
      'certificate-authority-data and certificate-authority are both set',
    ],
    [
      'a token and basic auth together',
      { ...base, users: [user('u', { tokenFile: 'token', username: 'me', password: 'pw' })] },
      undefined,
      'more than one way to authenticate (token, basic auth)',
    ],
    [
      'exec and auth-provider together',
      {
        ...base,
        users: [user('u', { exec: { command: 'x' }, 'auth-provider': { name: 'oidc' } })],
      },
      undefined,
      'exec and auth-provider are both set',
    ],
    [
      'an entry without a name',
      { ...base, users: [{ user: {} }] },
      undefined,
      'users[0]: an entry needs a name',
    ],
    [
      'clusters that are not a list',
      { ...base, clusters: { c: {} } },
      undefined,
      'clusters is not a list',
    ],
  ])('%s is an error naming it', (_name, document, contextName, message) => {
    const resolved = resolveKubeconfig([file('/k/config', document)], contextName);

    expect(resolved.ok).toBe(false);
    expect(!resolved.ok && resolved.error).toContain(message);
  });

  it('reads YAML 1.1 as kubectl does: yes is true', () => {
    const text = [
      'clusters: [{name: c, cluster: {server: "https://x", insecure-skip-tls-verify: yes}}]',
      'contexts: [{name: ctx, context: {cluster: c}}]',
      'current-context: ctx',
    ].join('\n');

    const resolved = resolveKubeconfig([{ path: '/k/config', text }], undefined);

    expect(resolved).toMatchObject({
      ok: true,
      value: { cluster: { insecureSkipTlsVerify: true } },
    });
  });

  it('is an error naming the file for text that is not YAML', () => {
    const resolved = resolveKubeconfig([{ path: '/k/config', text: 'clusters: [:\n' }], undefined);

    expect(!resolved.ok && resolved.error).toMatch(/^\/k\/config: not YAML/);
  });

  it('reads every credential field of a user', () => {
    const resolved = resolveKubeconfig(
      [
        file('/k/config', {
          ...base,
          users: [
            user('u', {
              'client-certificate-data': 'Y2VydA==',
              'client-key': 'keys/me.key',
              token: 't',
              tokenFile: 'token',
              as: 'admin',
              'as-groups': ['ops', 'dev'],
              'as-uid': '42',
            }),
          ],
        }),
      ],
      undefined,
    );

    expect(resolved).toEqual({
      ok: true,
      value: {
        context: 'ctx',
        cluster: { server: 'https://10.0.0.1:6443', insecureSkipTlsVerify: false },
        user: {
          clientCertificate: { data: 'Y2VydA==' },
          clientKey: { file: '/k/keys/me.key' },
          token: 't',
          tokenFile: '/k/token',
          impersonate: { user: 'admin', uid: '42', groups: ['ops', 'dev'] },
        },
      },
    });
  });

  it.each([
    ['./bin/token', '/k/bin/token'],
    ['/usr/bin/aws', '/usr/bin/aws'],
    ['gke-gcloud-auth-plugin', 'gke-gcloud-auth-plugin'],
  ])('runs the exec command %s as %s (a relative path from the kubeconfig)', (command, runs) => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command };
    const resolved = resolveKubeconfig(
      [file('/k/config', { ...base, users: [user('u', { exec })] })],
      undefined,
    );

    expect(resolved).toMatchObject({
      ok: true,
      value: { user: { plugin: { exec: { ...exec, command: runs } } } },
    });
  });

  it('allows a context without a user (no credentials) and an empty file', () => {
    const resolved = resolveKubeconfig(
      [
        { path: '/empty', text: '' },
        file('/k/config', { ...base, contexts: [context('ctx', 'c')] }),
      ],
      undefined,
    );

    expect(resolved).toMatchObject({ ok: true, value: { user: {} } });
  });
});

describe('loadApiConnection', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-conn-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, document: unknown): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, typeof document === 'string' ? document : stringify(document));
    return path;
  };

  it('sends the token file as it is now, and impersonation headers', async () => {
    const token = await write('token', 'first\n');
    const config = await write('config', {
      ...base,
      users: [
        user('u', { tokenFile: 'token', token: 'ignored', as: 'admin', 'as-groups': ['a', 'b'] }),
      ],
    });
    const loaded = loadApiConnection({ kubeconfig: config }, { env: {} });
    if (!loaded.ok) throw new Error(loaded.error);

    const before = await loaded.value.credentials();
    await writeFile(token, 'second\n');
    const after = await loaded.value.credentials();

    expect(before.headers).toEqual({
      Authorization: 'Bearer first',
      'Impersonate-User': 'admin',
      'Impersonate-Group': ['a', 'b'],
    });
    expect(after.headers['Authorization']).toBe('Bearer second');
  });

  it('reads the CA and client certificate files once, into the TLS options', async () => {
    await write('ca.crt', 'CA PEM');
    await write('me.crt', 'CERT PEM');
    const config = await write('config', {
      ...base,
      clusters: [
        cluster('c', {
          server: 'https://10.0.0.1:6443',
          'certificate-authority': 'ca.crt',
          'tls-server-name': 'kubernetes.default.svc',
        }),
      ],
      users: [
        user('u', {
          'client-certificate': 'me.crt',
          'client-key-data': Buffer.from('KEY PEM').toString('base64'),
          username: 'me',
          password: 'pw',
        }),
      ],
    });
    const loaded = loadApiConnection({ kubeconfig: config }, { env: {} });
    if (!loaded.ok) throw new Error(loaded.error);

    const credentials = await loaded.value.credentials();

    expect(credentials).toEqual({
      tls: {
        ca: 'CA PEM',
        cert: 'CERT PEM',
        key: 'KEY PEM',
        rejectUnauthorized: true,
        servername: 'kubernetes.default.svc',
      },
      headers: { Authorization: `Basic ${Buffer.from('me:pw').toString('base64')}` },
    });
  });

  it('follows kubectl precedence: --kubeconfig, KUBECONFIG (missing files skipped), pod, home', async () => {
    const a = await write('a', { ...base, clusters: [cluster('c', { server: 'https://a' })] });
    const b = await write('b', { ...base, clusters: [cluster('c', { server: 'https://b' })] });
    const home = join(dir, 'home');
    await write('token', 'sa-token');
    await write('ca.crt', 'SA CA');
    const pod = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' };
    const server = (choice: { kubeconfig?: string }, env: NodeJS.ProcessEnv): string => {
      const loaded = loadApiConnection(choice, { env, home, serviceAccountDir: dir });
      return loaded.ok ? loaded.value.server.href : loaded.error;
    };

    expect(server({ kubeconfig: b }, { KUBECONFIG: a })).toBe('https://b/');
    expect(server({}, { KUBECONFIG: `${join(dir, 'missing')}:${a}:${b}`, ...pod })).toBe(
      'https://a/',
    );
    expect(server({}, pod)).toBe('https://[fd00::1]:6443/');
    expect(server({}, {})).toContain(
      `no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a cluster (${home}/.kube/config does not exist)`,
    );
    expect(server({ kubeconfig: join(dir, 'missing') }, {})).toBe(
      `--kubeconfig: "${join(dir, 'missing')}" does not exist`,
    );
  });

  it('uses the pod service account: its token, re-read, and its CA', async () => {
    await write('token', 'sa-token-1');
    await write('ca.crt', 'SA CA');
    const loaded = loadApiConnection(
      {},
      {
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir: dir,
      },
    );
    if (!loaded.ok) throw new Error(loaded.error);

    const credentials = await loaded.value.credentials();

    expect(loaded.value.source).toBe('in-cluster service account');
    expect(credentials).toEqual({
      tls: { ca: 'SA CA', rejectUnauthorized: true },
      headers: { Authorization: 'Bearer sa-token-1' },
    });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    [
      'no token mounted',
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      'is automountServiceAccountToken false?',
    ],
    [
      'no port',
      { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set',
    ],
  ])('in a pod with %s, says what is missing', (_name, env, message) => {
    const loaded = loadApiConnection({}, { env, serviceAccountDir: join(dir, 'none') });

    expect(!loaded.ok && loaded.error).toContain(message);
  });

  it('names the kubeconfig and the file it could not read', async () => {
    const config = await write('config', {
      ...base,
      clusters: [cluster('c', { server: 'https://x', 'certificate-authority': 'nope.crt' })],
    });

    const loaded = loadApiConnection({ kubeconfig: config }, { env: {} });

    expect(!loaded.ok && loaded.error).toBe(
      `cannot load kubeconfig "${config}": cannot read ${join(dir, 'nope.crt')} (ENOENT)`,
    );
  });

  it('warns that proxy-url is not used', async () => {
    const config = await write('config', {
      ...base,
      clusters: [cluster('c', { server: 'https://x', 'proxy-url': 'http://proxy:3128' })],
    });

    const loaded = loadApiConnection({ kubeconfig: config }, { env: {} });

    expect(loaded.ok && loaded.value.warnings).toEqual([
      "the kubeconfig's proxy-url http://proxy:3128 is not supported: connecting directly",
    ]);
  });
});
