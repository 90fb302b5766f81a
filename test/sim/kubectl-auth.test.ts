// Real kubectl 1.33 against the sim over HTTPS with authentication: proves the sim's certificates,
// its 401 and its 403 are what client-go expects from a kube-apiserver.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_USER, startSimCluster, type SimCluster } from '../../sim/index.js';
import { createSimCa } from '../../sim/tls.js';
import { baseSeed } from './fixtures.js';

const KUBECTL = fileURLToPath(new URL('../../.cache/tools/kubectl', import.meta.url));
const HAVE_KUBECTL = existsSync(KUBECTL);
if (!HAVE_KUBECTL) {
  process.stderr.write(
    `kubectl-auth.test.ts skipped: ${KUBECTL} is missing; run scripts/fetch-kubectl.sh\n`,
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe.skipIf(!HAVE_KUBECTL)('real kubectl 1.33 against the sim over HTTPS', () => {
  let sim: SimCluster;
  let dir: string;
  let caPem: string;
  let written = 0;
  let warmCache: string;

  /** A one-context kubeconfig: `cluster` and `user` as kubeconfig YAML spells them. */
  async function kubeconfig(
    cluster: Record<string, unknown>,
    user: Record<string, unknown>,
  ): Promise<string> {
    const path = join(dir, `kubeconfig-${String(++written)}`);
    const text = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sim', cluster: { server: sim.url, ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'u' } }],
      'current-context': 'sim',
    });
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  /** kubectl with a discovery cache of its own (cold: discovery is the first request refused). */
  function kubectl(config: string, ...args: string[]): Promise<Run> {
    return kubectlCached(config, `${config}.cache`, ...args);
  }

  /** kubectl with a discovery cache an authorized user filled: the refusal is the list itself. */
  function kubectlWarm(config: string, ...args: string[]): Promise<Run> {
    return kubectlCached(config, warmCache, ...args);
  }

  function kubectlCached(config: string, cacheDir: string, ...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', config, '--cache-dir', cacheDir, ...args],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  function caData(): Record<string, string> {
    return { 'certificate-authority-data': b64(caPem) };
  }

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'db', name: 'data-pg-0', size: '20Gi', node: 'n1', usedGi: 18 },
        { ns: 'web', name: 'uploads', size: '5Gi' },
      ]),
      tls: true,
      authentication: { tokens: { 'ops-token': 'ops' } },
    });
    caPem = sim.tls?.caPem ?? '';
    dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-auth-'));
    warmCache = join(dir, 'warm-cache');
    const config = join(dir, 'warm.kubeconfig');
    await sim.writeKubeconfig(config);
    const warm = await kubectlWarm(config, 'get', 'pvc', '-A');
    if (warm.code !== 0) throw new Error(`warming the discovery cache failed: ${warm.stderr}`);
  });
  afterAll(async () => {
    await sim.close();
  });

  function pvcNames(stdout: string): string[] {
    return stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.split(/\s+/).slice(0, 2).join('/'));
  }

  it('lists PVCs with the kubeconfig the sim writes (CA data and its token)', async () => {
    const config = join(dir, 'sim.kubeconfig');
    await sim.writeKubeconfig(config);
    sim.requests.length = 0;

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
    expect(pvcNames(run.stdout)).toEqual(['db/data-pg-0', 'web/uploads']);
    expect(new Set(sim.requests.map((r) => r.user))).toEqual(new Set([SIM_USER]));
  });

  it('lists PVCs as the user of a client certificate given as files', async () => {
    const pair = await sim.tls?.issueClientCertificate('alice', ['ops']);
    const config = await kubeconfig(
      { 'certificate-authority': await file('ca.crt', caPem) },
      {
        'client-certificate': await file('alice.crt', pair?.certPem ?? ''),
        'client-key': await file('alice.key', pair?.keyPem ?? ''),
      },
    );
    sim.requests.length = 0;

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
    expect(pvcNames(run.stdout)).toEqual(['db/data-pg-0', 'web/uploads']);
    expect(sim.requests.at(-1)).toMatchObject({
      path: '/api/v1/persistentvolumeclaims',
      user: 'alice',
    });
  });

  it('lists PVCs as the user of a client certificate given as data', async () => {
    const pair = await sim.tls?.issueClientCertificate('bob');
    const config = await kubeconfig(caData(), {
      'client-certificate-data': b64(pair?.certPem ?? ''),
      'client-key-data': b64(pair?.keyPem ?? ''),
    });
    sim.requests.length = 0;

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
    expect(sim.requests.at(-1)).toMatchObject({ status: 200, user: 'bob' });
  });

  // kubectl >= 1.2x: the 401 comes from discovery, whose error text is client-go's own (as real
  // users of k3s and EKS report it); with discovery cached, the list's Status message shows.
  it('says "You must be logged in" for a token the server does not know', async () => {
    const config = await kubeconfig(caData(), { token: 'wrong-token' });

    const cold = await kubectl(config, 'get', 'pvc', '-A');
    const warm = await kubectlWarm(config, 'get', 'pvc', '-A');

    expect(cold.code).not.toBe(0);
    expect(cold.stderr).toContain(
      'error: You must be logged in to the server (the server has asked for the client to provide credentials)',
    );
    expect(warm.code).not.toBe(0);
    expect(warm.stderr.trim()).toBe('error: You must be logged in to the server (Unauthorized)');
  });

  it('says "You must be logged in" for a client certificate of another CA', async () => {
    const other = await createSimCa();
    const pair = await other.issueClientCertificate('mallory');
    const config = await kubeconfig(caData(), {
      'client-certificate-data': b64(pair.certPem),
      'client-key-data': b64(pair.keyPem),
    });

    const run = await kubectlWarm(config, 'get', 'pvc', '-A');

    expect(run.code).not.toBe(0);
    expect(run.stderr.trim()).toBe('error: You must be logged in to the server (Unauthorized)');
  });

  // A kubeconfig user without any credentials makes kubectl prompt for a username; a username and
  // password (Basic, which kube-apiserver no longer reads) reach the server as no credentials.
  it('shows the Forbidden message of system:anonymous for Basic credentials', async () => {
    const config = await kubeconfig(caData(), { username: 'admin', password: 'secret' });

    const cold = await kubectl(config, 'get', 'pvc', '-A');
    const warm = await kubectlWarm(config, 'get', 'pvc', '-A');

    // Discovery refused: client-go does not decode that 403's body (a real server's too).
    expect(cold.code).not.toBe(0);
    expect(cold.stderr).toContain('Error from server (Forbidden): unknown');
    expect(warm.code).not.toBe(0);
    expect(warm.stderr.trim()).toBe(
      'Error from server (Forbidden): persistentvolumeclaims is forbidden: User "system:anonymous" cannot list resource "persistentvolumeclaims" in API group "" at the cluster scope',
    );
    expect(sim.requests.at(-1)).toMatchObject({
      path: '/api/v1/persistentvolumeclaims',
      status: 403,
      user: 'system:anonymous',
    });
  });

  it('lets anonymous read the server version', async () => {
    const config = await kubeconfig(caData(), { username: 'admin', password: 'secret' });

    const run = await kubectl(config, 'version', '-o', 'json');

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toHaveProperty('serverVersion.gitVersion');
  });

  it('refuses the server certificate when trusting another CA', async () => {
    const other = await createSimCa();
    const config = await kubeconfig(
      { 'certificate-authority': await file('other-ca.crt', other.caPem) },
      { token: 'ops-token' },
    );

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('x509: certificate signed by unknown authority');
  });

  it('verifies the server as tls-server-name says: kubernetes.default.svc passes', async () => {
    const config = await kubeconfig(
      { ...caData(), 'tls-server-name': 'kubernetes.default.svc' },
      { token: 'ops-token' },
    );

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
    expect(sim.requests.at(-1)?.user).toBe('ops');
  });

  it('verifies the server as tls-server-name says: a name not in the certificate fails', async () => {
    const config = await kubeconfig(
      { ...caData(), 'tls-server-name': 'elsewhere.example' },
      { token: 'ops-token' },
    );

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('x509: certificate is valid for');
    expect(run.stderr).toContain('not elsewhere.example');
  });

  it('connects with insecure-skip-tls-verify and no CA', async () => {
    const config = await kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 'ops-token' });

    const run = await kubectl(config, 'get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
  });
});
