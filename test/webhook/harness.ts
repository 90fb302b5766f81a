/**
 * Runs the built `pvc-chonker webhook` as a process against the simulated cluster, and speaks
 * AdmissionReview to it over HTTPS verified against the CA it published.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimCluster, type SimCluster, type SimSeed } from '../../sim/index.js';

export const CLI = new URL('../../dist/pvc-chonker.mjs', import.meta.url).pathname;
export const SERVICE_HOST = 'pvc-chonker-webhook.pvc-chonker.svc';

function webhookEntry(name: string, path: string): Record<string, unknown> {
  return {
    name,
    clientConfig: {
      service: { namespace: 'pvc-chonker', name: 'pvc-chonker-webhook', path, port: 443 },
    },
    rules: [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['persistentvolumeclaims'],
      },
    ],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Ignore',
    timeoutSeconds: 5,
  };
}

export function webhookSeed(extra: SimSeed['objects'] = []): SimSeed {
  return {
    objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pvc-chonker' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'pvc-chonker' },
        webhooks: [webhookEntry('mutate.pvc-chonker.io', '/mutate')],
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'pvc-chonker' },
        webhooks: [
          webhookEntry('validate.pvc-chonker.io', '/validate'),
          webhookEntry('validate-crds.pvc-chonker.io', '/validate'),
        ],
      },
      ...extra,
    ],
    usage: [],
  };
}

export interface WebhookProcess {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

export async function startSim(
  extra: SimSeed['objects'] = [],
): Promise<{ sim: SimCluster; kubeconfig: string }> {
  const crds = new URL('../../cronjob/crds', import.meta.url).pathname;
  const sim = await startSimCluster({ seed: webhookSeed(extra), crds });
  const kubeconfig = join(await mkdtemp(join(tmpdir(), 'webhook-')), 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  return { sim, kubeconfig };
}

export const AUTO_TLS_ARGS = [
  '--auto-tls',
  '--tls-secret',
  'pvc-chonker/pvc-chonker-webhook-tls',
  '--service',
  'pvc-chonker/pvc-chonker-webhook',
  '--webhook-configuration',
  'pvc-chonker',
];

/** Starts the webhook and resolves once it logs the port it serves on. */
export function startWebhook(
  kubeconfig: string,
  args: string[] = AUTO_TLS_ARGS,
  env: Record<string, string> = {},
): Promise<WebhookProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'webhook', '--kubeconfig', kubeconfig, '--port', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', ...env },
    },
  );
  let err = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`webhook did not start: ${err}`));
    }, 20_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
      const match = /"port":(\d+),"tls"/.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`webhook exited ${String(code)}: ${err}`));
    });
  });
}

export interface HttpsReply {
  status: number;
  body: string;
}

/** A request over TLS verified against `ca` for the Service's DNS name, as the API server does. */
export function httpsCall(
  port: number,
  ca: string,
  method: string,
  path: string,
  body?: string | Buffer,
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca,
        servername: SERVICE_HOST,
        headers: { 'Content-Type': 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function caOf(sim: SimCluster): string {
  const secret = sim.getObject('Secret', 'pvc-chonker', 'pvc-chonker-webhook-tls') as {
    data: Record<string, string>;
  };
  return Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8');
}

export function review(
  object: unknown,
  options: { operation?: string; kind?: string; group?: string; uid?: string } = {},
): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? 'uid-1',
      kind: {
        group: options.group ?? '',
        version: 'v1',
        kind: options.kind ?? 'PersistentVolumeClaim',
      },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      namespace: 'db',
      operation: options.operation ?? 'CREATE',
      object,
      dryRun: false,
    },
  });
}

export function pvc(
  annotations?: Record<string, string>,
  size = '10Gi',
  labels?: Record<string, string>,
): unknown {
  const metadata: Record<string, unknown> = { name: 'data-0', namespace: 'db' };
  if (annotations) metadata['annotations'] = annotations;
  if (labels) metadata['labels'] = labels;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata,
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}
