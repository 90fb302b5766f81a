// The kubelet Summary API (/stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1) for one node,
// in the shape of the real responses in /work/shared/samples: pods[].volume[] holds FsStats plus
// `name` and, for PVC-backed volumes, `pvcRef`. Block-mode PVCs get no entry: the kubelet only
// collects filesystem stats for mounted filesystem volumes (it only adds block volume metrics
// to Prometheus, never to the summary).
import { arr, meta, nameOf, namespaceOf, obj, readPath, str, type JsonObject } from './json.js';
import { capacityBytes } from './pvc-rules.js';
import { parseQuantity } from './quantity.js';
import type { SimVolumeUsage, SizeInput } from './seed.js';
import { kubeTime } from './store.js';

export interface VolumeUsage {
  usedBytes: bigint;
  inodes?: number;
  inodesUsed?: number;
  fsOverheadBytes: bigint;
  kubeletFails: boolean;
  /** Filesystem size when `inodes` was given, so the inode total scales as ext4 grows. */
  inodesAtBytes?: bigint;
}

function toBytes(value: SizeInput | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const parsed = parseQuantity(
    typeof value === 'bigint' ? value : typeof value === 'number' ? Math.round(value) : value,
  );
  if (!parsed) throw new Error(`invalid size ${String(value)}`);
  return parsed.bytes;
}

const NO_USAGE: VolumeUsage = { usedBytes: 0n, fsOverheadBytes: 0n, kubeletFails: false };

/**
 * Merges a partial update into the previous usage; a new inode total is pinned to the claim's
 * size now (`pvc`'s status.capacity), so it scales as the filesystem grows. The simulated
 * cluster and the real tier's fake kubelets both keep usage this way.
 */
export function usageFrom(
  input: Partial<SimVolumeUsage>,
  previous: VolumeUsage = NO_USAGE,
  pvc?: JsonObject,
): VolumeUsage {
  const usage: VolumeUsage = {
    ...previous,
    usedBytes: toBytes(input.usedBytes) ?? previous.usedBytes,
    fsOverheadBytes: toBytes(input.fsOverheadBytes) ?? previous.fsOverheadBytes,
    kubeletFails: input.kubeletFails ?? previous.kubeletFails,
  };
  if (input.inodes !== undefined) {
    usage.inodes = input.inodes;
    usage.inodesAtBytes = pvc ? capacityBytes(pvc) : 0n;
  }
  if (input.inodesUsed !== undefined) usage.inodesUsed = input.inodesUsed;
  return usage;
}

export interface SummaryInputs {
  node: JsonObject;
  pods: readonly JsonObject[];
  findPvc(namespace: string, name: string): JsonObject | undefined;
  usageOf(namespace: string, pvc: string): VolumeUsage | undefined;
  /** Filesystem size the kubelet currently sees for the claim (lags status.capacity). */
  kubeletCapacityBytes(pvc: JsonObject): bigint;
  now: Date;
}

const NODE_FS_CAPACITY = 107_361_579_008n; // a 100 GiB root disk, as on the sample GKE node
const BYTES_PER_INODE = 16_384n; // mkfs.ext4 default inode_ratio
const BYTES_PER_USED_INODE = 262_144n;

function n(value: bigint): number {
  return Number(value);
}

function fsStats(
  capacity: bigint,
  used: bigint,
  inodes: [total: bigint, used: bigint],
  time?: string,
): JsonObject {
  const [totalInodes, inodesUsed] = inodes;
  const out: JsonObject = {};
  if (time !== undefined) out['time'] = time;
  const available = capacity > used ? capacity - used : 0n;
  const freeInodes = totalInodes > inodesUsed ? totalInodes - inodesUsed : 0n;
  Object.assign(out, {
    availableBytes: n(available),
    capacityBytes: n(capacity),
    usedBytes: n(used),
    inodesFree: n(freeInodes),
    inodes: n(totalInodes),
    inodesUsed: n(inodesUsed),
  });
  return out;
}

function pvcVolumeStats(
  pvc: JsonObject,
  usage: VolumeUsage | undefined,
  inputs: SummaryInputs,
  time: string,
): JsonObject {
  const overhead = usage?.fsOverheadBytes ?? 0n;
  const raw = inputs.kubeletCapacityBytes(pvc);
  const capacity = raw > overhead ? raw - overhead : 0n;
  const used = usage?.usedBytes ?? 0n;
  let inodes = capacity / BYTES_PER_INODE;
  if (usage?.inodes !== undefined) {
    const base = usage.inodesAtBytes ?? raw;
    inodes = base > 0n ? (BigInt(usage.inodes) * raw) / base : BigInt(usage.inodes);
  }
  const inodesUsed =
    usage?.inodesUsed !== undefined ? BigInt(usage.inodesUsed) : 11n + used / BYTES_PER_USED_INODE;
  return fsStats(capacity, used, [inodes, inodesUsed], time);
}

function volumeEntry(
  pod: JsonObject,
  volume: JsonObject,
  inputs: SummaryInputs,
  time: string,
): JsonObject | undefined {
  const volName = str(volume['name']) ?? '';
  const claim = str(readPath(volume, 'persistentVolumeClaim.claimName'));
  if (claim === undefined) {
    // emptyDir, secret, configMap, projected: small real-looking entries without pvcRef.
    return { ...fsStats(1_939_701_760n, 12_288n, [473_560n, 9n], time), name: volName };
  }
  const ns = namespaceOf(pod) ?? 'default';
  const pvc = inputs.findPvc(ns, claim);
  // An unbound or missing claim keeps the pod from starting; a Block volume has no filesystem.
  if (!pvc || readPath(pvc, 'status.phase') !== 'Bound') return undefined;
  if (readPath(pvc, 'spec.volumeMode') === 'Block') return undefined;
  const stats = pvcVolumeStats(pvc, inputs.usageOf(ns, claim), inputs, time);
  return { ...stats, name: volName, pvcRef: { name: claim, namespace: ns } };
}

/** CPU and memory of a container or pod: fixed figures from the real GKE sample. */
function workloadUsage(time: string): JsonObject {
  return {
    cpu: { time, usageNanoCores: 1_263_994, usageCoreNanoSeconds: 43_959_424 },
    memory: {
      time,
      usageBytes: 1_462_272,
      workingSetBytes: 1_454_080,
      rssBytes: 1_409_024,
      pageFaults: 841,
      majorPageFaults: 0,
    },
  };
}

function containerStats(name: string, started: string, time: string): JsonObject {
  return {
    name,
    startTime: started,
    ...workloadUsage(time),
    rootfs: { time, ...fsStats(NODE_FS_CAPACITY, 61_440n, [6_258_720n, 21n]) },
    logs: { time, ...fsStats(NODE_FS_CAPACITY, 28_672n, [6_258_720n, 138_624n]) },
  };
}

function podStats(pod: JsonObject, inputs: SummaryInputs, time: string): JsonObject {
  const md = meta(pod);
  const started = str(readPath(pod, 'status.startTime')) ?? str(md['creationTimestamp']) ?? time;
  const volumes = arr(readPath(pod, 'spec.volumes'))
    .map((v) => volumeEntry(pod, obj(v), inputs, time))
    .filter((v): v is JsonObject => v !== undefined);
  const containers = arr(readPath(pod, 'spec.containers')).map((c) =>
    containerStats(str(obj(c)['name']) ?? 'main', started, time),
  );
  const out: JsonObject = {
    podRef: {
      name: nameOf(pod),
      namespace: namespaceOf(pod) ?? 'default',
      uid: str(md['uid']) ?? '',
    },
    startTime: started,
    containers,
    ...workloadUsage(time),
    network: { time, name: 'eth0', rxBytes: 107_056, rxErrors: 0, txBytes: 72_447, txErrors: 0 },
  };
  // The kubelet omits `volume` entirely for pods without volume stats.
  if (volumes.length > 0) out['volume'] = volumes;
  out['ephemeral-storage'] = { time, ...fsStats(NODE_FS_CAPACITY, 90_112n, [6_258_720n, 30n]) };
  out['process_stats'] = { process_count: containers.length };
  return out;
}

export function buildSummary(inputs: SummaryInputs): JsonObject {
  const time = kubeTime(inputs.now);
  const nodeName = nameOf(inputs.node);
  const started = str(meta(inputs.node)['creationTimestamp']) ?? time;
  return {
    node: {
      nodeName,
      systemContainers: [
        {
          name: 'kubelet',
          startTime: started,
          cpu: { time, usageNanoCores: 11_263_994, usageCoreNanoSeconds: 2_357_800_908_948 },
          memory: {
            time,
            usageBytes: 36_683_776,
            workingSetBytes: 36_495_360,
            rssBytes: 35_512_320,
            pageFaults: 100_835_242,
            majorPageFaults: 0,
          },
        },
      ],
      startTime: started,
      cpu: { time, usageNanoCores: 18_691_146, usageCoreNanoSeconds: 4_189_523_881_380 },
      memory: {
        time,
        availableBytes: 1_768_316_928,
        usageBytes: 2_764_943_360,
        workingSetBytes: 2_111_090_688,
        rssBytes: 2_150_400,
        pageFaults: 131_567,
        majorPageFaults: 103,
      },
      network: {
        time,
        name: 'eth0',
        rxBytes: 1_115_133_198,
        rxErrors: 0,
        txBytes: 812_729_002,
        txErrors: 0,
      },
      fs: { time, ...fsStats(NODE_FS_CAPACITY, 2_514_276_352n, [6_258_720n, 138_624n]) },
      runtime: {
        imageFs: { time, ...fsStats(NODE_FS_CAPACITY, 860_204_379n, [6_258_720n, 138_624n]) },
      },
      rlimit: { time, maxpid: 4_194_304, curproc: 312 },
    },
    pods: inputs.pods.map((p) => podStats(p, inputs, time)),
  };
}

/** True when a pod on this node mounts a claim whose usage document says the kubelet fails. */
export function nodeKubeletFails(inputs: SummaryInputs): boolean {
  return inputs.pods.some((pod) =>
    arr(readPath(pod, 'spec.volumes')).some((v) => {
      const claim = str(readPath(v, 'persistentVolumeClaim.claimName'));
      return (
        claim !== undefined &&
        inputs.usageOf(namespaceOf(pod) ?? 'default', claim)?.kubeletFails === true
      );
    }),
  );
}
