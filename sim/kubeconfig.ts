// The sim's kubeconfig. Over HTTPS the cluster carries the sim's CA; over plain http it says
// insecure-skip-tls-verify, without which client-node >= 1.1 refuses an http:// server.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export const SIM_CONTEXT = 'sim';
export const SIM_TOKEN = 'sim-token';
/** Who SIM_TOKEN authenticates as when the sim checks authentication. */
export const SIM_USER = 'sim-user';

export function kubeconfigYaml(server: string, caPem?: string): string {
  const trust =
    caPem === undefined
      ? { 'insecure-skip-tls-verify': true }
      : { 'certificate-authority-data': Buffer.from(caPem, 'utf8').toString('base64') };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sim', cluster: { server, ...trust } }],
    users: [{ name: 'sim', user: { token: SIM_TOKEN } }],
    contexts: [
      { name: SIM_CONTEXT, context: { cluster: 'sim', user: 'sim', namespace: 'default' } },
    ],
    'current-context': SIM_CONTEXT,
    preferences: {},
  });
}

export async function writeKubeconfigFile(
  path: string,
  server: string,
  caPem?: string,
): Promise<void> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path the test or the sim's --kubeconfig-out asked for
  await mkdir(dirname(path), { recursive: true });
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path the test or the sim's --kubeconfig-out asked for
  await writeFile(path, kubeconfigYaml(server, caPem), { mode: 0o600 });
}
