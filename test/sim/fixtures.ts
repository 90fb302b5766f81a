// Shared seed and client helpers for the simulated-cluster tests.
import { CoreV1Api, KubeConfig, StorageV1Api, EventsV1Api } from '@kubernetes/client-node';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimCluster, SimSeed } from '../../sim/index.js';

export const GI = 1024 ** 3;

interface PvcSpec {
  ns?: string;
  name: string;
  size?: string;
  capacity?: string;
  sc?: string;
  node?: string;
  usedGi?: number;
  mode?: 'Filesystem' | 'Block';
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  bound?: boolean;
}

/** A pod + PV + PVC + usage for one claim. */
function claim(spec: PvcSpec): { objects: SimSeed['objects']; usage: SimSeed['usage'] } {
  const ns = spec.ns ?? 'apps';
  const size = spec.size ?? '10Gi';
  const pv = `pv-${ns}-${spec.name}`;
  const bound = spec.bound ?? true;
  const objects: SimSeed['objects'] = [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: spec.name,
        namespace: ns,
        annotations: spec.annotations ?? { 'pvc-chonker.io/enabled': 'true' },
        labels: spec.labels ?? {},
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: spec.sc ?? 'fast',
        volumeMode: spec.mode ?? 'Filesystem',
        ...(bound ? { volumeName: pv } : {}),
        resources: { requests: { storage: size } },
      },
      status: bound
        ? {
            phase: 'Bound',
            accessModes: ['ReadWriteOnce'],
            capacity: { storage: spec.capacity ?? size },
          }
        : { phase: 'Pending' },
    },
  ];
  if (bound) {
    objects.push({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pv },
      spec: {
        capacity: { storage: spec.capacity ?? size },
        accessModes: ['ReadWriteOnce'],
        storageClassName: spec.sc ?? 'fast',
        claimRef: { namespace: ns, name: spec.name },
      },
    });
  }
  if (spec.node !== undefined) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${spec.name}`, namespace: ns },
      spec: {
        nodeName: spec.node,
        containers: [{ name: 'app', image: 'busybox' }],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: spec.name } },
          { name: 'cache', emptyDir: {} },
        ],
      },
      status: { phase: 'Running' },
    });
  }
  const usage =
    spec.usedGi === undefined
      ? []
      : [{ namespace: ns, pvc: spec.name, usedBytes: Math.round(spec.usedGi * GI) }];
  return { objects, usage };
}

export function baseSeed(claims: PvcSpec[]): SimSeed {
  const seed: SimSeed = {
    objects: [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'fast' },
        provisioner: 'ebs.csi.aws.com',
        allowVolumeExpansion: true,
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'frozen' },
        provisioner: 'kubernetes.io/aws-ebs',
      },
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n1' },
        status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] },
      },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } },
    ],
    usage: [],
  };
  for (const c of claims) {
    const built = claim(c);
    seed.objects.push(...built.objects);
    seed.usage.push(...built.usage);
  }
  return seed;
}

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  storage: StorageV1Api;
  events: EventsV1Api;
  kubeconfigPath: string;
}

export async function clientsFor(sim: SimCluster): Promise<Clients> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-kc-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfigPath);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    storage: kc.makeApiClient(StorageV1Api),
    events: kc.makeApiClient(EventsV1Api),
    kubeconfigPath,
  };
}

export interface StatusLike {
  code: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Runs `fn`, expecting a client-node ApiException; returns its code and parsed Status body. */
export async function apiFailure(fn: () => Promise<unknown>): Promise<StatusLike> {
  try {
    await fn();
  } catch (err: unknown) {
    const e = err as { code?: number; body?: unknown; headers?: Record<string, string> };
    if (typeof e.code !== 'number') throw err;
    const body =
      typeof e.body === 'string'
        ? (JSON.parse(e.body) as Record<string, unknown>)
        : (e.body as Record<string, unknown>);
    return { code: e.code, body, headers: e.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}

/** Raw HTTP against the sim (for headers, raw bodies, and requests client-node would not send). */
export async function raw(
  sim: SimCluster,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const res = await fetch(`${sim.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}
