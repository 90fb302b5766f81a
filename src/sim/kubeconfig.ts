// A plain-http kubeconfig for the sim. client-node >= 1.1 refuses http:// servers unless the
// cluster says insecure-skip-tls-verify, so that flag is always set.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export const SIM_CONTEXT = 'sim';
export const SIM_TOKEN = 'sim-token';

export function kubeconfigYaml(server: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sim', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'sim', user: { token: SIM_TOKEN } }],
    contexts: [
      { name: SIM_CONTEXT, context: { cluster: 'sim', user: 'sim', namespace: 'default' } },
    ],
    'current-context': SIM_CONTEXT,
    preferences: {},
  });
}

export async function writeKubeconfigFile(path: string, server: string): Promise<void> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path the test or the sim's --kubeconfig-out asked for
  await mkdir(dirname(path), { recursive: true });
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path the test or the sim's --kubeconfig-out asked for
  await writeFile(path, kubeconfigYaml(server), { mode: 0o600 });
}
