/**
 * One on-premises cluster, run by both test clusters (test/integration/onprem.test.ts on the
 * simulator, test/real/onprem.test.ts on the real API server): TopoLVM volumes sharing a node's
 * free space, one node with a broken annotation, Longhorn volumes sharing a disk, a V2 volume
 * Longhorn v1.9 cannot expand online, and a plain volume.
 */
import type { SimSeed } from '../../sim/index.js';
import {
  LONGHORN_CRDS,
  LONGHORN_NAMESPACE,
  longhornNode,
  longhornReplica,
  longhornSetting,
  longhornVolume,
  namespace,
  storageClass,
  topolvmNode,
} from '../builders/onprem.js';
import { seed, type Claim } from './harness.js';

const GI = 1024 ** 3;
const GROW = { 'pvc-chonker.io/increase': '10Gi' };

function topolvm(name: string, node: string, usedPercent = 90): Claim {
  return {
    name,
    node,
    usedPercent,
    storageClass: 'topolvm-ssd',
    annotations: GROW,
    csi: { driver: 'topolvm.io', volumeHandle: `lv-${name}` },
    nodeAffinity: { 'topology.topolvm.io/node': [node] },
  };
}

function longhorn(name: string, node: string): Claim {
  return {
    name,
    node,
    usedPercent: 90,
    storageClass: 'longhorn',
    annotations: GROW,
    csi: { driver: 'driver.longhorn.io', volumeHandle: `pvc-${name}` },
  };
}

export const ONPREM_CLAIMS: readonly Claim[] = [
  // tnode-1 has 25 GiB free in device class ssd, 24 of them usable with the 1 GiB reserve.
  topolvm('tl-a', 'tnode-1'),
  topolvm('tl-b', 'tnode-1'),
  topolvm('tl-c', 'tnode-1'),
  topolvm('tl-d', 'tnode-1'),
  topolvm('tl-e', 'tnode-2'),
  // Longhorn's disk uuid-1 has room for 25 GiB more (75 of 100 scheduled), 24 with the reserve.
  longhorn('lh-a', 'worker-1'),
  longhorn('lh-b', 'worker-1'),
  longhorn('lh-c', 'worker-2'),
  longhorn('lh-d', 'worker-2'),
  longhorn('lh-e', 'worker-2'),
  { name: 'plain', usedPercent: 90, annotations: GROW },
];

export function onpremSeed(claims: readonly Claim[] = ONPREM_CLAIMS): SimSeed {
  return seed(claims, [
    ...LONGHORN_CRDS,
    namespace(LONGHORN_NAMESPACE),
    storageClass('topolvm-ssd', 'topolvm.io', { 'topolvm.io/device-class': 'ssd' }),
    storageClass('longhorn', 'driver.longhorn.io', { numberOfReplicas: '2' }),
    topolvmNode('tnode-1', { ssd: String(25 * GI), '00default': String(1024 * GI) }),
    topolvmNode('tnode-2', { ssd: 'lots' }),
    longhornSetting('current-longhorn-version', 'v1.9.1'),
    longhornSetting('storage-over-provisioning-percentage', '100'),
    longhornSetting('storage-minimal-available-percentage', '25'),
    // Longhorn's nodes have the names of the core nodes, as they do in a cluster.
    longhornNode('worker-1', [
      { name: 'disk-1', uuid: 'uuid-1', maxGi: 100, availableGi: 80, scheduledGi: 75 },
    ]),
    longhornNode('worker-2', [
      { name: 'disk-2', uuid: 'uuid-2', maxGi: 1000, availableGi: 900, scheduledGi: 20 },
    ]),
    longhornVolume('pvc-lh-a'),
    longhornVolume('pvc-lh-b'),
    longhornVolume('pvc-lh-c', { dataEngine: 'v2' }),
    longhornVolume('pvc-lh-d'),
    longhornVolume('pvc-lh-e'),
    // lh-a, b, d and e each have a replica on uuid-1 and one on uuid-2; lh-c one on uuid-2.
    ...['pvc-lh-a', 'pvc-lh-b', 'pvc-lh-d', 'pvc-lh-e'].flatMap((v) => [
      longhornReplica(v, 0, 'worker-1', 'uuid-1'),
      longhornReplica(v, 1, 'worker-2', 'uuid-2'),
    ]),
    longhornReplica('pvc-lh-c', 0, 'worker-2', 'uuid-2'),
  ]);
}

/** What one run decides for each PVC: action, reason, and the new request. */
export const EXPECTED: Readonly<
  Record<string, { action: string; reason: string; newSize?: string }>
> = {
  'tl-a': { action: 'expand', reason: 'threshold-reached', newSize: '20Gi' },
  'tl-b': { action: 'expand', reason: 'threshold-reached', newSize: '20Gi' },
  // 4 GiB were left on tnode-1: a partial step (min-increase 1Gi).
  'tl-c': { action: 'expand', reason: 'threshold-reached', newSize: '14Gi' },
  'tl-d': { action: 'skip', reason: 'provider-capacity' },
  'tl-e': { action: 'error', reason: 'provider-error' },
  'lh-a': { action: 'expand', reason: 'threshold-reached', newSize: '20Gi' },
  'lh-b': { action: 'expand', reason: 'threshold-reached', newSize: '20Gi' },
  'lh-c': { action: 'skip', reason: 'offline-expansion-required' },
  // 4 GiB were left on uuid-1.
  'lh-d': { action: 'expand', reason: 'threshold-reached', newSize: '14Gi' },
  'lh-e': { action: 'skip', reason: 'provider-capacity' },
  plain: { action: 'expand', reason: 'threshold-reached', newSize: '20Gi' },
};

/** The details that must name the node and its free bytes, and what to do. */
export const DETAILS: Readonly<Record<string, readonly string[]>> = {
  'tl-c': ['only +4Gi of +10Gi fits', 'node tnode-1'],
  'tl-d': [
    'topolvm: +10Gi does not fit on node tnode-1, device class ssd',
    '26843545600 bytes (25.0 GiB) free',
    '1Gi kept free by --onprem-reserve',
  ],
  'tl-e': ['node tnode-2 has capacity.topolvm.io/ssd: "lots", not a byte count'],
  'lh-c': ['Longhorn v1.9.1 expands V2 data engine volumes only while detached'],
  'lh-d': ['only +4Gi of +10Gi fits', 'disk disk-1 of Longhorn node worker-1'],
  'lh-e': ['longhorn: +10Gi does not fit on disk disk-1 of Longhorn node worker-1'],
};
