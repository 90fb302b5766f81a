/** In-memory Cluster and stats source for tests of the pass itself; records every call. */
import { pino } from 'pino';
import {
  pvcKey,
  type PersistentVolumeInfo,
  type PvcRef,
  type PvcSnapshot,
  type StatsLookup,
  type StorageClassInfo,
} from '../../src/core/pvc.js';
import { parseQuantity } from '../../src/core/quantity.js';
import type {
  Cluster,
  ExpansionCandidate,
  KeyFilter,
  PatchOutcome,
  ProviderGate,
  ProviderVerdict,
  PvcEvent,
  PvcPatch,
  VolumeStatsSource,
} from '../../src/ports.js';
import type { RunConfig, RunDeps } from '../../src/run.js';

export class MemoryCluster implements Cluster {
  readonly pvcs = new Map<string, PvcSnapshot>();
  readonly classes = new Map<string, StorageClassInfo>();
  readonly mounts = new Map<string, string>();
  readonly patches: { ref: PvcRef; patch: PvcPatch }[] = [];
  readonly events: PvcEvent[] = [];
  readonly gets: PvcRef[] = [];
  /** Conflicts to answer before a patch of this key succeeds; the hook runs at each conflict. */
  conflicts = new Map<string, { count: number; onConflict?: () => void }>();
  /** Patches of this key go unanswered; 'applied': the patch applies all the same. */
  unanswered = new Map<string, 'applied' | 'not-applied'>();
  /** Every Event fails with it. */
  eventFailure: Error | undefined;
  /** How many times the pods were listed. */
  podLists = 0;
  /** PersistentVolumes by name, and how many times they were listed. */
  readonly volumes = new Map<string, PersistentVolumeInfo>();
  volumeLists = 0;

  add(pvc: PvcSnapshot, node = 'node-1'): void {
    this.pvcs.set(pvcKey(pvc), pvc);
    this.mounts.set(pvcKey(pvc), node);
  }

  async *listPvcs(): AsyncIterable<PvcSnapshot[]> {
    await Promise.resolve();
    yield [...this.pvcs.values()];
  }

  listPersistentVolumes(names: KeyFilter): Promise<Map<string, PersistentVolumeInfo>> {
    this.volumeLists++;
    return Promise.resolve(new Map([...this.volumes].filter(([name]) => names.has(name))));
  }

  listStorageClasses(): Promise<Map<string, StorageClassInfo>> {
    return Promise.resolve(this.classes);
  }

  listMountingNodes(claims: ReadonlySet<string>): Promise<Map<string, string>> {
    this.podLists++;
    return Promise.resolve(new Map([...this.mounts].filter(([key]) => claims.has(key))));
  }

  getPvc(ref: PvcRef): Promise<PvcSnapshot | undefined> {
    this.gets.push(ref);
    return Promise.resolve(this.pvcs.get(pvcKey(ref)));
  }

  patchPvc(ref: PvcRef, patch: PvcPatch): Promise<PatchOutcome> {
    this.patches.push({ ref, patch });
    const current = this.pvcs.get(pvcKey(ref));
    if (current === undefined) return Promise.resolve({ kind: 'not-found' });
    const conflict = this.conflicts.get(pvcKey(ref));
    if (conflict !== undefined && conflict.count > 0) {
      conflict.count--;
      conflict.onConflict?.();
      return Promise.resolve({ kind: 'conflict' });
    }
    if (patch.resourceVersion !== current.resourceVersion)
      return Promise.resolve({ kind: 'conflict' });
    const unanswered = this.unanswered.get(pvcKey(ref));
    if (unanswered === 'not-applied')
      return Promise.resolve({ kind: 'unanswered', pvc: undefined, detail: 'lost; not applied' });
    const requested =
      patch.requestStorage === undefined
        ? { ok: false as const }
        : parseQuantity(patch.requestStorage);
    const updated: PvcSnapshot = {
      ...current,
      resourceVersion: String(Number(current.resourceVersion) + 1),
      annotations: { ...current.annotations, ...patch.annotations },
      requestBytes: requested.ok ? requested.value : current.requestBytes,
    };
    this.pvcs.set(pvcKey(ref), updated);
    if (unanswered === 'applied')
      return Promise.resolve({ kind: 'unanswered', pvc: updated, detail: 'lost; applied' });
    return Promise.resolve({ kind: 'patched', pvc: updated });
  }

  recordEvent(event: PvcEvent): Promise<void> {
    if (this.eventFailure !== undefined) return Promise.reject(this.eventFailure);
    this.events.push(event);
    return Promise.resolve();
  }
}

/** `stats` for every PVC asked about; `perNode` false: as Prometheus, without nodes. */
export function fixedStats(
  stats: Map<string, StatsLookup>,
  perNode = true,
): VolumeStatsSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    perNode,
    collect(pvcsByNode) {
      asked.push(...pvcsByNode.keys());
      // A copy, as a source makes its own map: the pass may amend it.
      return Promise.resolve(new Map(stats));
    },
  };
}

/** A gate that names `provider` for every PVC and answers each candidate with `verdict`. */
export function gateOf(
  provider: string,
  verdict: (candidate: ExpansionCandidate) => ProviderVerdict,
): ProviderGate {
  return {
    providerFor: () => provider,
    check: (candidates) =>
      Promise.resolve(new Map(candidates.map((c) => [pvcKey(c.pvc), verdict(c)]))),
  };
}

export const allowAll: ProviderGate = gateOf('generic', (c) => ({
  ok: true,
  provider: 'generic',
  toBytes: c.toBytes,
  warnings: [],
}));

export const silentLog = pino({ level: 'silent' });

/** The pass's dependencies on these fakes: the clock stopped at `now`, a silent log. */
export function passDeps(
  cluster: Cluster,
  stats: Map<string, StatsLookup>,
  now: Date,
  providers: ProviderGate = allowAll,
): RunDeps {
  return {
    cluster,
    stats: fixedStats(stats),
    providers,
    now: () => now,
    log: silentLog,
    runId: 'test-run',
    signal: new AbortController().signal,
  };
}

/** A pass over every namespace that writes, with the flags' defaults, and `overrides`. */
export function passConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    namespaces: [],
    dryRun: false,
    layers: [],
    pageSize: 500,
    writeConcurrency: 2,
    maxExpansionsPerRun: 50,
    shard: undefined,
    ...overrides,
  };
}
