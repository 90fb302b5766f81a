/**
 * Runs the built CLI as a separate process, as a user would; seeds are built from a compact
 * description of claims. test-cluster.ts starts the cluster (simulated or real) a test runs against.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { SimSeed } from '../../sim/index.js';

export const CLI = new URL('../../dist/pvc-chonker.mjs', import.meta.url).pathname;
/** The project's own CRD manifests, installed in a test cluster on request. */
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

export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  onSpawn?: (pid: number) => void,
  nodeArgs: readonly string[] = [],
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
      // Usage samples (forecasts) are off unless a test asks for them (--sample-interval, or
      // this variable): every other test counts the pass's PATCHes, and a sample is one more.
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: tmpdir(),
        PVC_CHONKER_SAMPLE_INTERVAL: '0',
        ...env,
      },
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
 * The Events about PVCs, the ones pvc-chonker records: the real API server records its own too,
 * at a time of its choosing (ClusterIPNotAllocated for the `kubernetes` Service, in default).
 */
export function pvcEvents(events: readonly unknown[]): unknown[] {
  return events.filter(
    (event) =>
      (event as { involvedObject?: { kind?: string } }).involvedObject?.kind ===
      'PersistentVolumeClaim',
  );
}
