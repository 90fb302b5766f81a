/**
 * Runs the built CLI as a separate process against the simulated cluster, over HTTP, as a user
 * would. Seeds are built from a compact description of claims.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimCluster, type SimCluster, type SimSeed } from '../../sim/index.js';

export const CLI = new URL('../../dist/pvc-chonker.mjs', import.meta.url).pathname;
/** The project's own CRD manifests, installed in the simulated cluster on request. */
export const CRDS = new URL('../../cronjob/crds', import.meta.url).pathname;
const GI = 1024 ** 3;

export interface Claim {
  name: string;
  namespace?: string;
  sizeGi?: number;
  usedPercent?: number;
  node?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** false: no pvc-chonker.io/enabled annotation. */
  managed?: boolean;
  storageClass?: string;
  /** No pod mounts it. */
  unmounted?: boolean;
  inodes?: number;
  inodesUsed?: number;
  /** EBS / GCE PD CSI source for the PV. */
  csi?: { driver: string; volumeHandle: string };
  /** The PV's required node affinity (`In`), values by key: a node-local volume (TopoLVM). */
  nodeAffinity?: Record<string, string[]>;
}

function nodeAffinityOf(claim: Claim): Record<string, unknown> {
  if (claim.nodeAffinity === undefined) return {};
  const matchExpressions = Object.entries(claim.nodeAffinity).map(([key, values]) => ({
    key,
    operator: 'In',
    values,
  }));
  return { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions }] } } };
}

function claimObjects(claim: Claim): Record<string, unknown>[] {
  const namespace = claim.namespace ?? 'db';
  const size = `${claim.sizeGi ?? 10}Gi`;
  const pvName = `pv-${namespace}-${claim.name}`;
  const storageClassName = claim.storageClass ?? 'standard';
  const annotations = {
    ...(claim.managed === false ? {} : { 'pvc-chonker.io/enabled': 'true' }),
    ...claim.annotations,
  };
  const csi = claim.csi ?? { driver: 'example.csi.local', volumeHandle: pvName };
  const objects: Record<string, unknown>[] = [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName },
      spec: {
        capacity: { storage: size },
        accessModes: ['ReadWriteOnce'],
        storageClassName,
        csi,
        claimRef: { namespace, name: claim.name },
        persistentVolumeReclaimPolicy: 'Delete',
        ...nodeAffinityOf(claim),
      },
      status: { phase: 'Bound' },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim.name, namespace, annotations, labels: claim.labels ?? {} },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName,
        volumeName: pvName,
        resources: { requests: { storage: size } },
      },
      status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: size } },
    },
  ];
  if (claim.unmounted !== true) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${claim.name}-pod`, namespace },
      spec: {
        nodeName: claim.node ?? 'node-a',
        containers: [{ name: 'app', image: 'busybox' }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim.name } }],
      },
      status: { phase: 'Running' },
    });
  }
  return objects;
}

/** A core Node among `extra` replaces the plain one `seed` would make of that name. */
function givenNodes(extra: readonly Record<string, unknown>[]): Set<string> {
  return new Set(
    extra
      .filter((o) => o['kind'] === 'Node' && o['apiVersion'] === 'v1')
      .map((o) => String((o['metadata'] as { name?: unknown } | undefined)?.name)),
  );
}

export function seed(claims: readonly Claim[], extra: Record<string, unknown>[] = []): SimSeed {
  const given = givenNodes(extra);
  const nodes = [...new Set(claims.map((c) => c.node ?? 'node-a'))].filter((n) => !given.has(n));
  const objects = [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard' },
      provisioner: 'example.csi.local',
      allowVolumeExpansion: true,
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fixed' },
      provisioner: 'example.csi.local',
    },
    ...nodes.map((name) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    })),
    ...[...new Set(claims.map((c) => c.namespace ?? 'db'))].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    })),
    ...claims.flatMap(claimObjects),
    ...extra,
  ];
  const usage = claims.map((c) => ({
    namespace: c.namespace ?? 'db',
    pvc: c.name,
    usedBytes: Math.round(((c.usedPercent ?? 50) / 100) * (c.sizeGi ?? 10) * GI),
    ...(c.inodes === undefined ? {} : { inodes: c.inodes, inodesUsed: c.inodesUsed ?? 0 }),
  }));
  return { objects, usage };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr parsed as JSON lines (a non-JSON line fails the parse on purpose). */
  logs: Record<string, unknown>[];
  durationMs: number;
}

export interface Harness {
  sim: SimCluster;
  kubeconfig: string;
  dir: string;
  cli(
    args: readonly string[],
    env?: Record<string, string>,
    onSpawn?: (pid: number) => void,
  ): Promise<CliResult>;
  close(): Promise<void>;
}

export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  onSpawn?: (pid: number) => void,
  nodeArgs: readonly string[] = [],
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stderr.split('\n').filter((line) => line.trim() !== '');
      let logs: Record<string, unknown>[] = [];
      try {
        logs = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs = [{ unparsable: stderr }];
      }
      resolve({ code, stdout, stderr, logs, durationMs: Date.now() - started });
    });
  });
}

export async function startHarness(
  simSeed: SimSeed,
  options: {
    resizeDelayMs?: number;
    latencyMs?: number;
    nodeArgs?: readonly string[];
    crds?: boolean;
    /**
     * A kubelet reached directly for each node (default true), as in a real cluster: the CLI's
     * default source reads them; false leaves the nodes without an address (only the proxy).
     */
    kubelets?: boolean;
  } = {},
): Promise<Harness> {
  const sim = await startSimCluster({
    seed: simSeed,
    kubelets: options.kubelets ?? true,
    ...(options.crds === true ? { crds: CRDS } : {}),
    resizeDelayMs: options.resizeDelayMs ?? 50,
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
  });
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  return {
    sim,
    kubeconfig,
    dir,
    cli: (args, env, onSpawn) =>
      runCli(['run', '--kubeconfig', kubeconfig, ...args], env, onSpawn, options.nodeArgs),
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The JSON report of a run. */
export function report(result: CliResult): Record<string, unknown>[] {
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

export function byName(
  rows: Record<string, unknown>[],
  name: string,
): Record<string, unknown> | undefined {
  return rows.find((row) => row['name'] === name);
}

/**
 * Whether a request may change something: every method but GET, except the reviews (a
 * TokenReview or an access review is a POST that asks a question and stores nothing; the
 * kubelets send them for every request, pvc-chonker's `auto` source one per pass).
 */
export function isWrite(request: { method: string; path: string }): boolean {
  return request.method !== 'GET' && !request.path.endsWith('reviews');
}

export function writes(sim: SimCluster): { method: string; path: string }[] {
  return sim.requests.filter(isWrite).map((r) => ({ method: r.method, path: r.path }));
}
