/**
 * The CLI's own kubeconfig loader against a cluster that serves HTTPS with its own CA and
 * authenticates every request as kube-apiserver does (the simulator with `tls`, or the real
 * server): each way of giving credentials must reach the server as the user it names, and a
 * wrong CA, server name or token must fail the run with a message that says so.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI_USER, startTestCluster, type ClusterCa, type TestCluster } from './test-cluster.js';
import { report, runCli, seed } from './harness.js';

const TOKENS = {
  'file-token': 'file-user',
  'exec-token': 'exec-user',
};
/** Client certificates name this group too: on the real server RBAC lets it do everything. */
const MASTERS = 'system:masters';

let server: TestCluster;
let tls: ClusterCa;
let dir: string;
let caPem: string;

beforeAll(async () => {
  server = await startTestCluster(seed([{ name: 'data', usedPercent: 91 }]), {
    tls: true,
    tokens: TOKENS,
  });
  if (server.tls === undefined) throw new Error('the cluster serves no TLS');
  tls = server.tls;
  caPem = tls.caPem;
  dir = server.dir;
});

afterAll(async () => {
  await server.close();
});

/** A kubeconfig in `dir` with one cluster and one user; relative paths are relative to it. */
async function kubeconfig(
  name: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sim', cluster: { server: server.url, ...cluster } }],
      users: [{ name: 'me', user }],
      contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'me' } }],
      'current-context': 'sim',
    }),
  );
  return path;
}

/** A dry run (no writes): the users its requests were authenticated as. */
async function usersOfRun(
  config: string,
): Promise<{ code: number | null; users: Set<string>; stderr: string }> {
  const started = Date.now();
  const result = await runCli(['run', '--kubeconfig', config, '--dry-run', '--output', 'json']);
  const finished = Date.now();
  if (result.code === 0) expect(report(result)).toHaveLength(1);
  const requests = (await server.requests()).filter(
    (r) => r.startedAt >= started && r.startedAt <= finished,
  );
  return { code: result.code, users: new Set(requests.map((r) => r.user)), stderr: result.stderr };
}

describe('credentials from a kubeconfig, over TLS', () => {
  it("sends the token of the cluster's own kubeconfig, checking the server with its CA", async () => {
    const run = await usersOfRun(server.kubeconfig);

    expect(run.code).toBe(0);
    expect(run.users).toEqual(new Set([CLI_USER]));
  });

  it('authenticates with a client certificate and key from files, relative to the kubeconfig', async () => {
    const pair = await tls.issueClientCertificate('cert-user', ['pvc-chonker', MASTERS]);
    await writeFile(join(dir, 'ca.crt'), caPem);
    await writeFile(join(dir, 'me.crt'), pair.certPem);
    await writeFile(join(dir, 'me.key'), pair.keyPem);
    const config = await kubeconfig(
      'cert-files',
      { 'certificate-authority': 'ca.crt', 'tls-server-name': 'kubernetes.default.svc' },
      { 'client-certificate': 'me.crt', 'client-key': 'me.key' },
    );

    const run = await usersOfRun(config);

    expect(run.code).toBe(0);
    expect(run.users).toEqual(new Set(['cert-user']));
  });

  it('authenticates with a client certificate given as data', async () => {
    const pair = await tls.issueClientCertificate('data-user', [MASTERS]);
    const base64 = (text: string): string => Buffer.from(text).toString('base64');
    const config = await kubeconfig(
      'cert-data',
      { 'certificate-authority-data': base64(caPem) },
      { 'client-certificate-data': base64(pair.certPem), 'client-key-data': base64(pair.keyPem) },
    );

    const run = await usersOfRun(config);

    expect(run.code).toBe(0);
    expect(run.users).toEqual(new Set(['data-user']));
  });

  it('reads a tokenFile, relative to the kubeconfig', async () => {
    await writeFile(join(dir, 'token'), 'file-token\n');
    const config = await kubeconfig(
      'token-file',
      { 'insecure-skip-tls-verify': true },
      { tokenFile: 'token' },
    );

    const run = await usersOfRun(config);

    expect(run.code).toBe(0);
    expect(run.users).toEqual(new Set(['file-user']));
  });

  it('runs an exec credential plugin (client-node does), relative to the kubeconfig', async () => {
    const plugin = join(dir, 'bin', 'token-plugin');
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(
      plugin,
      [
        '#!/bin/sh',
        `echo '${JSON.stringify({
          apiVersion: 'client.authentication.k8s.io/v1',
          kind: 'ExecCredential',
          status: { token: 'exec-token' },
        })}'`,
      ].join('\n'),
    );
    await chmod(plugin, 0o755);
    const config = await kubeconfig(
      'exec',
      { 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './bin/token-plugin',
          interactiveMode: 'Never',
        },
      },
    );

    const run = await usersOfRun(config);

    expect(run.code).toBe(0);
    expect(run.users).toEqual(new Set(['exec-user']));
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    [
      'a server certificate from another CA',
      {},
      { token: 'sim-token' },
      /unable to get local issuer certificate|self.signed|certificate/i,
    ],
    [
      'a tls-server-name the certificate does not name',
      { 'tls-server-name': 'other.example' },
      { token: 'sim-token' },
      /other\.example|altnames/i,
    ],
    [
      'a token the server does not know',
      { 'insecure-skip-tls-verify': true },
      { token: 'stolen' },
      /401/,
    ],
  ])('fails the run, exit 1, for %s', async (name, cluster, user, message) => {
    const withCa =
      'insecure-skip-tls-verify' in cluster
        ? cluster
        : { 'certificate-authority-data': Buffer.from(caPem).toString('base64'), ...cluster };
    // The first case: no CA at all, so the sim's certificate is checked against the system's.
    const config = await kubeconfig(
      `bad-${name.replace(/\W+/g, '-')}`,
      name.startsWith('a server certificate') ? {} : withCa,
      user,
    );

    const run = await usersOfRun(config);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });
});
