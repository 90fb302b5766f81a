/**
 * Installing the project on the real API server as a user would: real kubectl and helm (the
 * binaries of .cache/tools), each user with a kubeconfig of its own, and ServiceAccount tokens
 * from the TokenRequest API (there is no token controller, and pods never run here).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_HELM, HAVE_KUBECTL, HELM, KUBECTL, ROOT, run, type Run } from '../chart/tools.js';
import {
  realTierUnavailable,
  startRealCluster,
  type AuditEntry,
  type RealCluster,
} from './cluster.js';

export const WRITE_VERBS: readonly string[] = [
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
];

/** Why the deployment tests cannot run here (no real tier, no kubectl or helm), or undefined. */
export function deployTierUnavailable(tools: { helm?: boolean } = {}): string | undefined {
  const real = realTierUnavailable();
  if (real !== undefined) return real;
  if (!HAVE_KUBECTL) return `no ${KUBECTL}: run make tools`;
  if (tools.helm === true && !HAVE_HELM) return `no ${HELM}: run make tools`;
  return undefined;
}

/** deployTierUnavailable, also written to stderr as the skip note of the test file `file`. */
export function deployTierSkip(file: string, tools: { helm?: boolean } = {}): string | undefined {
  const unavailable = deployTierUnavailable(tools);
  if (unavailable !== undefined) process.stderr.write(`${file} skipped: ${unavailable}\n`);
  return unavailable;
}

/** The user name the API server gives a ServiceAccount's tokens. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** A bound token for the ServiceAccount, as the kubelet would project it into a pod. */
export async function serviceAccountToken(
  cluster: RealCluster,
  namespace: string,
  name: string,
): Promise<string> {
  const answer = await cluster.request(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    },
  );
  const token = (answer.body as { status?: { token?: unknown } }).status?.token;
  if (answer.status !== 201 || typeof token !== 'string') {
    throw new Error(`TokenRequest for ${namespace}/${name}: HTTP ${answer.status}`);
  }
  return token;
}

/** One user's command line: kubectl and helm with its kubeconfig and caches. */
export interface Client {
  kubeconfig: string;
  kubectl(...args: string[]): Promise<Run>;
  helm(...args: string[]): Promise<Run>;
}

/** A client as the admin, or as the holder of `token`, with files under `dir/name`. */
export async function clientAs(
  cluster: RealCluster,
  dir: string,
  name: string,
  token?: string,
): Promise<Client> {
  const home = join(dir, name);
  await mkdir(home, { recursive: true });
  const kubeconfig = join(home, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig, token);
  // Helm keeps its cache, config and data under these; nothing outside the test's directory.
  const env = {
    ...process.env,
    HOME: home,
    KUBECONFIG: kubeconfig,
    HELM_CACHE_HOME: join(home, 'helm-cache'),
    HELM_CONFIG_HOME: join(home, 'helm-config'),
    HELM_DATA_HOME: join(home, 'helm-data'),
  };
  return {
    kubeconfig,
    kubectl: (...args) =>
      run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), ...args], {
        env,
      }),
    helm: (...args) =>
      run(HELM, ['--kubeconfig', kubeconfig, ...args], { env, timeoutMs: 120_000 }),
  };
}

/** Fails with kubectl's words when a command did not succeed; answers its stdout. */
export function succeeded(result: Run, what: string): string {
  if (result.code !== 0) throw new Error(`${what}: exit ${result.code}\n${result.stderr}`);
  return result.stdout;
}

/** The audit entries after the first `from`, by one user. */
export async function auditOf(cluster: RealCluster, user: string, from = 0): Promise<AuditEntry[]> {
  return (await cluster.audit()).slice(from).filter((e) => e.user === user);
}

/** A real API server with a directory of the test file's own and the admin's client. */
export interface DeployCluster {
  cluster: RealCluster;
  dir: string;
  admin: Client;
  /** A client as the ServiceAccount `namespace/account` (a TokenRequest token), files under dir/name. */
  clientOf(name: string, account: string, namespace?: string): Promise<Client>;
  /** Stops the server and removes the directory. */
  close(): Promise<void>;
}

/** Waits (30 s at most) until the named CRDs (kubectl's arguments) are Established. */
export async function crdsEstablished(admin: Client, crds: readonly string[]): Promise<void> {
  succeeded(
    await admin.kubectl('wait', '--for=condition=Established', '--timeout=30s', ...crds),
    'CRDs Established',
  );
}

/**
 * Starts a real API server (directory `real-<name>-…`); when `manifests` names any directories
 * of the repository, the admin applies each with `kubectl apply -k` and waits until every CRD is
 * Established. A failure stops the server again.
 */
export async function startDeployCluster(
  name: string,
  manifests: readonly string[] = [],
): Promise<DeployCluster> {
  const cluster = await startRealCluster();
  let made: string | undefined;
  const close = async (): Promise<void> => {
    await cluster.close();
    if (made !== undefined) await rm(made, { recursive: true, force: true });
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `real-${name}-`));
    made = dir;
    const admin = await clientAs(cluster, dir, 'admin');
    for (const path of manifests) {
      succeeded(await admin.kubectl('apply', '-k', join(ROOT, path)), `apply -k ${path}/`);
    }
    if (manifests.length > 0) {
      await crdsEstablished(admin, ['crd', '--all']);
    }
    return {
      cluster,
      dir,
      admin,
      clientOf: async (client, account, namespace = 'pvc-chonker') =>
        clientAs(cluster, dir, client, await serviceAccountToken(cluster, namespace, account)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
