/** Builders for provider tests: candidates, PVs and a logger that keeps its lines. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { PersistentVolumeInfo, PvcSnapshot, StorageClassInfo } from '../../src/core/pvc.js';
import { GIB } from '../../src/providers/limits.js';
import type {
  ExpansionCandidate,
  HistoryEntry,
  KubeReader,
  ProviderOptions,
} from '../../src/providers/types.js';

export function gi(n: number): bigint {
  return BigInt(n) * GIB;
}

export function pvc(
  name: string,
  annotations: Record<string, string> = {},
  namespace = 'default',
): PvcSnapshot {
  return {
    namespace,
    name,
    uid: `uid-${name}`,
    resourceVersion: '1',
    labels: {},
    annotations,
    phase: 'Bound',
    volumeMode: 'Filesystem',
    storageClassName: 'standard',
    volumeName: `pv-${name}`,
    requestBytes: gi(100),
    capacityBytes: gi(100),
    conditionTypes: [],
    allocatedResourceStatus: undefined,
  };
}

export function pv(over: Partial<PersistentVolumeInfo> = {}): PersistentVolumeInfo {
  return {
    name: 'pv',
    capacityBytes: gi(100),
    csiDriver: undefined,
    volumeHandle: undefined,
    awsElasticBlockStoreVolumeId: undefined,
    gcePersistentDiskName: undefined,
    zone: undefined,
    nodeAffinity: {},
    ...over,
  };
}

export function storageClass(
  provisioner: string,
  parameters: Record<string, string> = {},
): StorageClassInfo {
  return { name: 'sc', provisioner, allowVolumeExpansion: true, parameters, annotations: {} };
}

export interface CandidateOptions {
  fromGi?: number;
  toGi?: number;
  minIncreaseGi?: number;
  history?: HistoryEntry[];
  annotations?: Record<string, string>;
  storageClass?: StorageClassInfo;
}

export function candidate(
  name: string,
  volume: PersistentVolumeInfo | undefined,
  o: CandidateOptions = {},
): ExpansionCandidate {
  return {
    pvc: pvc(name, o.annotations ?? {}),
    pv: volume,
    storageClass: o.storageClass,
    fromBytes: gi(o.fromGi ?? 100),
    toBytes: gi(o.toGi ?? 120),
    minIncreaseBytes: gi(o.minIncreaseGi ?? 1),
    history: o.history ?? [],
  };
}

export function ebs(
  name: string,
  volumeId: string,
  o: CandidateOptions & { zone?: string } = {},
): ExpansionCandidate {
  return candidate(
    name,
    pv({ csiDriver: 'ebs.csi.aws.com', volumeHandle: volumeId, zone: o.zone ?? 'us-east-1a' }),
    o,
  );
}

export function gce(name: string, handle: string, o: CandidateOptions = {}): ExpansionCandidate {
  return candidate(name, pv({ csiDriver: 'pd.csi.storage.gke.io', volumeHandle: handle }), o);
}

export function history(...hoursAgo: number[]): (now: Date) => HistoryEntry[] {
  return (now) =>
    hoursAgo.map((h) => ({
      time: new Date(now.getTime() - h * 3_600_000),
      fromBytes: gi(90),
      toBytes: gi(100),
      reason: 'threshold-reached',
    }));
}

export function hoursBefore(now: Date, hours: number): Date {
  return new Date(now.getTime() - hours * 3_600_000);
}

export function options(over: Partial<ProviderOptions> = {}): ProviderOptions {
  return {
    provider: 'auto',
    gcpEndpoint: undefined,
    awsModificationRule: 'strict',
    breakerThreshold: 3,
    maxRetries: 3,
    retryBaseDelayMs: 1000,
    onpremReserveBytes: gi(1),
    longhornNamespace: 'longhorn-system',
    ...over,
  };
}

/** A debug-level pino logger whose JSON lines are kept for assertions. */
export function memoryLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      callback();
    },
  });
  const log = pino({ level: 'debug' }, stream);
  return { log, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Fake AWS credentials and endpoint, as the injected env. */
export function awsEnv(url: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_EC2: url,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-key',
    AWS_REGION: 'us-east-1',
  };
}

/**
 * A Kubernetes reader answering each list from `answer` (by operation and query), recording every
 * call; by default every list is empty.
 */
export function scriptedKube(
  answer: (operation: string, query: Readonly<Record<string, string>>) => unknown[] = () => [],
): { kube: KubeReader; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    kube: {
      list(operation, path, query) {
        calls.push(`${operation} ${path} ${new URLSearchParams(query).toString()}`);
        return Promise.resolve().then(() => answer(operation, query));
      },
    },
  };
}
