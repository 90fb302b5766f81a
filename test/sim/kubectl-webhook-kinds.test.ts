// Real kubectl 1.33 against the sim's Secrets, webhook configurations and watch.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from './fixtures.js';

const KUBECTL = fileURLToPath(new URL('../../.cache/tools/kubectl', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!existsSync(KUBECTL))(
  'real kubectl: Secrets, webhook configurations, watch',
  () => {
    let sim: SimCluster;
    let dir: string;

    function kubectl(...args: string[]): Promise<Run> {
      return new Promise((resolve) => {
        execFile(
          KUBECTL,
          ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
          { timeout: 20_000 },
          (err, stdout, stderr) => {
            resolve({
              code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
              stdout,
              stderr,
            });
          },
        );
      });
    }

    beforeAll(async () => {
      sim = await startSimCluster({ seed: baseSeed([{ ns: 'db', name: 'data-0' }]) });
      dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-wh-'));
      await sim.writeKubeconfig(join(dir, 'kubeconfig'));
    });
    afterAll(async () => {
      await sim.close();
    });

    it('applies and lists Secrets', async () => {
      // `kubectl create secret` sends protobuf, which the sim does not speak; apply sends JSON.
      // --validate=false: the sim serves no OpenAPI document.
      const file = join(dir, 'secret.yaml');
      await writeFile(
        file,
        'apiVersion: v1\nkind: Secret\nmetadata: { name: creds, namespace: db }\nstringData: { user: admin }\n',
      );

      const created = await kubectl('apply', '--validate=false', '-f', file);
      const listed = await kubectl('get', 'secrets', '-n', 'db');
      const value = await kubectl(
        'get',
        'secret',
        'creds',
        '-n',
        'db',
        '-o',
        'jsonpath={.data.user}',
      );

      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout.trim()).toBe('secret/creds created');
      expect(
        listed.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/).slice(0, 3)),
      ).toEqual([
        ['NAME', 'TYPE', 'DATA'],
        ['creds', 'Opaque', '1'],
      ]);
      expect(Buffer.from(value.stdout, 'base64').toString()).toBe('admin');
    });

    it('applies a MutatingWebhookConfiguration and shows the server defaults', async () => {
      const file = join(dir, 'mwc.yaml');
      await writeFile(
        file,
        `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: pvc-chonker
webhooks:
  - name: pvc.pvc-chonker.io
    clientConfig:
      service: { namespace: pvc-chonker, name: pvc-chonker-webhook, path: /mutate }
    rules:
      - { apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [persistentvolumeclaims] }
    sideEffects: None
    admissionReviewVersions: [v1]
`,
      );

      const applied = await kubectl('apply', '--validate=false', '-f', file);
      const listed = await kubectl('get', 'mutatingwebhookconfigurations');
      const timeout = await kubectl(
        'get',
        'mutatingwebhookconfiguration',
        'pvc-chonker',
        '-o',
        'jsonpath={.webhooks[0].timeoutSeconds} {.webhooks[0].rules[0].scope}',
      );

      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout.trim()).toBe(
        'mutatingwebhookconfiguration.admissionregistration.k8s.io/pvc-chonker created',
      );
      expect(listed.stdout.trim().split('\n')[1]?.split(/\s+/).slice(0, 2)).toEqual([
        'pvc-chonker',
        '1',
      ]);
      expect(timeout.stdout).toBe('10 *');
    });

    it('watches Secrets with get --watch-only until the request timeout', async () => {
      const watching = kubectl(
        'get',
        'secrets',
        '-n',
        'db',
        '--watch-only',
        '--request-timeout=3s',
        '-o',
        'name',
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await fetch(`${sim.url}/api/v1/namespaces/db/secrets`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { name: 'later' } }),
      });

      const run = await watching;

      expect(run.stdout.trim().split('\n')).toContain('secret/later');
    });
  },
);
