/**
 * The RBAC profiles of the stats sources, as the install really grants them (`kubectl kustomize`
 * of cronjob/, with a component of cronjob/components/), applied to a simulated cluster that
 * authorizes with RBAC, whose kubelets are reached directly and authorize through it; the CLI
 * runs as the pvc-chonker ServiceAccount.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { HAVE_KUBECTL, KUBECTL, ROOT, parseObjects, run } from '../chart/tools.js';
import { SIM_TOKEN, startSimCluster, type SimCluster, type SimSeed } from '../../sim/index.js';
import { runCli, type CliResult } from './harness.js';

export { HAVE_KUBECTL };

export const SERVICE_ACCOUNT = 'system:serviceaccount:pvc-chonker:pvc-chonker';
const SA_TOKEN = 'pvc-chonker-sa-token';

export type Profile = 'default' | 'kubelet-proxy' | 'prometheus';

/** The ClusterRole and ClusterRoleBinding of a profile, built by kustomize from the repository. */
export async function profileObjects(
  profile: Profile,
  extraRules: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-profile-'));
  try {
    await run('ln', ['-s', join(ROOT, 'cronjob'), join(dir, 'cronjob')]);
    await mkdir(join(dir, 'overlay'));
    const component =
      profile === 'default' ? '' : `components: [../cronjob/components/${profile}]\n`;
    await writeFile(
      join(dir, 'overlay/kustomization.yaml'),
      `resources: [../cronjob]\n${component}`,
    );
    const built = await run(KUBECTL, ['kustomize', join(dir, 'overlay')]);
    if (built.code !== 0) throw new Error(built.stderr);
    const objects = parseObjects(built.stdout).filter(
      (o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding',
    );
    for (const o of objects)
      if (o.kind === 'ClusterRole')
        (o as unknown as { rules: unknown[] }).rules.push(...extraRules);
    return objects;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ProfileCluster {
  sim: SimCluster;
  dir: string;
  /** The CLI as the ServiceAccount, with its token and the cluster CA (as in a pod). */
  cli(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  /** The CLI as the cluster admin (system:masters), for what is not about permissions. */
  adminCli(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  close(): Promise<void>;
}

/** An HTTPS sim with RBAC, direct kubelets, the seed and the profile's role. */
export async function startProfileCluster(
  seed: SimSeed,
  roles: Record<string, unknown>[],
  /** Other identities (token → user), e.g. the Prometheus that scrapes the kubelets. */
  tokens: Record<string, string> = {},
): Promise<ProfileCluster> {
  const sim = await startSimCluster({
    seed: { ...seed, objects: [...seed.objects, ...roles] },
    tls: true,
    kubelets: true,
    rbac: true,
    authentication: { tokens: { ...tokens, [SA_TOKEN]: SERVICE_ACCOUNT } },
    resizeDelayMs: 50,
  });
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-profile-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigText(sim, SA_TOKEN));
  const admin = join(dir, 'admin.kubeconfig');
  await writeFile(admin, kubeconfigText(sim, SIM_TOKEN));
  return {
    sim,
    dir,
    cli: (args, env) => runCli(['run', '--kubeconfig', kubeconfig, ...args], env),
    adminCli: (args, env) => runCli(['run', '--kubeconfig', admin, ...args], env),
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A kubeconfig for the sim with `token` and the cluster CA. */
function kubeconfigText(sim: SimCluster, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sim',
        cluster: {
          server: sim.url,
          'certificate-authority-data': Buffer.from(sim.tls?.caPem ?? '').toString('base64'),
        },
      },
    ],
    users: [{ name: 'user', user: { token } }],
    contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'user' } }],
    'current-context': 'sim',
  });
}
