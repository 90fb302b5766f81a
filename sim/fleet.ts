// Synthetic fleets for benchmarks and scale tests: N nodes, M annotated PVCs, one pod each.
import type { JsonObject } from './json.js';
import type { SimSeed } from './seed.js';

export interface FleetOptions {
  nodes: number;
  pvcs: number;
  namespaces?: number;
  /** Claim size in GiB (default 10). */
  sizeGi?: number;
  /** Used fraction for claim i (default: every third claim at 91 %, the rest at 40 %). */
  usedFraction?: (index: number) => number;
  storageClass?: string;
}

const GI = 1024 ** 3;

function pad(i: number): string {
  return String(i).padStart(5, '0');
}

export function generateFleet(options: FleetOptions): SimSeed {
  const sizeGi = options.sizeGi ?? 10;
  const nsCount = options.namespaces ?? Math.max(1, Math.min(10, Math.ceil(options.pvcs / 50)));
  const sc = options.storageClass ?? 'standard';
  const used = options.usedFraction ?? ((i: number) => (i % 3 === 0 ? 0.91 : 0.4));
  const objects: JsonObject[] = [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: sc },
      provisioner: 'ebs.csi.aws.com',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  ];
  for (let n = 0; n < options.nodes; n++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node-${pad(n)}`, labels: { 'kubernetes.io/hostname': `node-${pad(n)}` } },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        nodeInfo: { kubeletVersion: 'v1.33.4' },
      },
    });
  }
  for (let k = 0; k < nsCount; k++)
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `fleet-${k}` } });
  const usage: SimSeed['usage'] = [];
  for (let i = 0; i < options.pvcs; i++) {
    const ns = `fleet-${i % nsCount}`;
    const name = `data-${pad(i)}`;
    const pv = `pvc-fleet-${pad(i)}`;
    const node = `node-${pad(options.nodes > 0 ? i % options.nodes : 0)}`;
    objects.push(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pv },
        spec: {
          capacity: { storage: `${sizeGi}Gi` },
          accessModes: ['ReadWriteOnce'],
          storageClassName: sc,
          claimRef: { kind: 'PersistentVolumeClaim', namespace: ns, name },
          csi: { driver: 'ebs.csi.aws.com', volumeHandle: `vol-${pad(i)}` },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns, annotations: { 'pvc-chonker.io/enabled': 'true' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: sc,
          volumeName: pv,
          resources: { requests: { storage: `${sizeGi}Gi` } },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `app-${pad(i)}`, namespace: ns },
        spec: {
          nodeName: node,
          containers: [{ name: 'app', image: 'busybox' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
        },
        status: { phase: 'Running' },
      },
    );
    usage.push({ namespace: ns, pvc: name, usedBytes: Math.round(used(i) * sizeGi * GI) });
  }
  return { objects, usage };
}
