/**
 * One pass: list → gather → decide → check with the cloud → apply → report. Everything that
 * talks to the world comes in through `RunDeps`; decisions come from the pure core.
 */
import type { Logger } from 'pino';
import { expansionAnnotations } from './core/annotations.js';
import { decide, resizeState, type Decision } from './core/decision.js';
import { withProviderAnnotations, type PvcLayers } from './core/layers.js';
import type { PvcGroup } from './core/pvc-group.js';
import { policyKey } from './core/pvc-policy.js';
import type { PvcOutcome, Reason, RunSummary, UnmanagedReason } from './core/outcome.js';
import {
  pvcKey,
  type PersistentVolumeInfo,
  type PvcRef,
  type PvcSnapshot,
  type StatsLookup,
  type StorageClassInfo,
} from './core/pvc.js';
import { formatQuantity } from './core/quantity.js';
import type { SettingsLayer } from './core/settings.js';
import { describeForecast, forecastFigures } from './core/forecast.js';
import { firstSampleBudget, type UsageSample } from './core/usage-samples.js';
import { limitFirstSamples, samplesToWrite, writeSamples } from './samples.js';
import type { PriceTable } from './core/prices.js';
import {
  costAddedNote,
  volumeCost,
  type CostContext,
  type VolumeCost,
} from './core/volume-cost.js';
import {
  costContextFor,
  loadPassPricing,
  withCloudType,
  type PassPricing,
} from './cost/pass-pricing.js';
import { createBatcher, createLimiter, type Limiter } from './concurrency.js';
import { waitForBackups, type BackupCache } from './backups.js';
import { logRecord } from './log.js';
import {
  coordinateGroups,
  countMatches,
  govern,
  loadGovernance,
  sharedLayers,
  writeStatuses,
  type Governance,
  type Governed,
  type MemberResult,
} from './governance.js';
import type {
  Cluster,
  Coordination,
  CustomResources,
  ExpansionCandidate,
  KeyFilter,
  PatchOutcome,
  ProviderGate,
  ProviderVerdict,
  VolumeStatsSource,
} from './ports.js';

export interface RunConfig {
  namespaces: readonly string[];
  dryRun: boolean;
  /** Settings layers below the PVC annotations: the global flags (later a PVCPolicy). */
  layers: readonly SettingsLayer[];
  pageSize: number;
  /** Writes (PATCH + Event) in flight at once. */
  writeConcurrency: number;
  /** Expansions beyond this wait for the next run. */
  maxExpansionsPerRun: number;
  /** This run handles only PVCs whose shard matches (keyed by PVCGroup name if any); undefined: all. */
  shard: ((pvc: PvcSnapshot, group: string | undefined) => boolean) | undefined;
  /** Whether this run writes PVCPolicy status (one shard does); default true. */
  writesPolicyStatus?: boolean;
  /** --snapshot-wait: how long a snapshot or backup in flight holds an expansion (backups.ts). */
  snapshotWaitMs?: number;
  /** --sample-interval: a PVC's usage sample at most this often; undefined: none is written. */
  sampleIntervalMs?: number | undefined;
  /** The price table (docs/cost.md); undefined: no cost and no recommendations. */
  prices?: PriceTable | undefined;
}

export interface RunDeps {
  cluster: Cluster;
  stats: VolumeStatsSource;
  providers: ProviderGate;
  now: () => Date;
  log: Logger;
  runId: string;
  /** Aborted on SIGTERM: no new work is started, and what is left is reported as interrupted. */
  signal: AbortSignal;
  /** PVCPolicy and PVCGroup; undefined: none (as when the CRDs are not installed). */
  customResources?: CustomResources;
  /** VolumeSnapshots, Velero Backups and StatefulSets; undefined: no backup is waited for. */
  coordination?: Coordination;
}

/** A managed PVC with everything gathered for its decision. */
interface Subject {
  /** Its place among the managed PVCs in list order: where its report line goes. */
  position: number;
  pvc: PvcSnapshot;
  pv: PersistentVolumeInfo | undefined;
  storageClass: StorageClassInfo | undefined;
  stats: StatsLookup;
  governed: Governed;
  layers: PvcLayers;
}

/** A managed PVC as listed, with its "namespace/name" key made once (every map of the pass uses it). */
interface Managed {
  pvc: PvcSnapshot;
  governed: Governed;
  key: string;
}

interface Listing {
  managed: Managed[];
  seen: number;
  unmanaged: Record<UnmanagedReason, number>;
  /** Per policy ("ns/name"), the listed PVCs it selects. */
  matchCounts: Map<string, number>;
}

/** What is read before the PVCs: the classes (defaults) and the policies and groups. */
interface Context {
  classes: Map<string, StorageClassInfo>;
  governance: Governance;
}

/**
 * The PVCs listed so far, as the PV and pod lists (read beside the PVC list) see them: they keep
 * what belongs to a managed PVC, or to one not listed yet; once the PVC list is done, only the
 * managed PVCs' volumes and mounts.
 */
class ListedSoFar {
  /** Managed: true; passed over: false. Keyed "ns/name". */
  readonly claims = new Map<string, boolean>();
  /** The same, by the PersistentVolume each listed PVC is bound to. */
  readonly volumes = new Map<string, boolean>();
  done = false;
  readonly claimFilter: KeyFilter = { has: (key) => this.claims.get(key) ?? !this.done };
  readonly volumeFilter: KeyFilter = { has: (name) => this.volumes.get(name) ?? !this.done };

  add(pvc: PvcSnapshot, key: string, managed: boolean): void {
    this.claims.set(key, managed);
    if (pvc.volumeName !== undefined) this.volumes.set(pvc.volumeName, managed);
  }

  /**
   * Every list is read: drops what the PV and pod lists kept for PVCs that turned out not to be
   * managed, and the entry per PVC of the cluster kept to answer the filters. What the pass holds
   * is then what its decisions need (fewer live objects, cheaper full collections).
   */
  dropUnmanaged(
    volumes: Map<string, unknown> | undefined,
    mounts: Map<string, unknown> | undefined,
  ): void {
    for (const name of volumes?.keys() ?? [])
      if (this.volumes.get(name) !== true) volumes?.delete(name);
    for (const key of mounts?.keys() ?? []) if (this.claims.get(key) !== true) mounts?.delete(key);
    this.claims.clear();
    this.volumes.clear();
  }
}

async function listManaged(
  deps: RunDeps,
  config: RunConfig,
  context: Context,
  soFar: ListedSoFar,
): Promise<Listing> {
  const managed = new Map<string, Managed>();
  // Keyed by namespace/name: a list restarted after an expired continue token counts each once.
  const passedOver = new Map<string, UnmanagedReason>();
  const matchCounts = new Map<string, number>();
  for await (const page of deps.cluster.listPvcs(config.namespaces, config.pageSize)) {
    for (const pvc of page) {
      const key = pvcKey(pvc);
      const storageClass = classOf(pvc, context.classes);
      const governed = govern(context.governance, pvc, storageClass);
      countMatches(context.governance, pvc, matchCounts);
      const { state } = governed.verdict;
      if (state !== 'managed') passedOver.set(key, state);
      else if (config.shard !== undefined && !config.shard(pvc, governed.group?.name))
        passedOver.set(key, 'other-shard');
      else managed.set(key, { pvc, governed, key });
      soFar.add(pvc, key, managed.has(key));
    }
  }
  soFar.done = true;
  const unmanaged: Record<UnmanagedReason, number> = {
    'not-enabled': 0,
    disabled: 0,
    'other-shard': 0,
  };
  for (const reason of passedOver.values()) unmanaged[reason]++;
  return {
    managed: [...managed.values()],
    seen: managed.size + passedOver.size,
    unmanaged,
    matchCounts,
  };
}

/** The lists that do not depend on the PVC list, asked for at once beside it. */
interface Reads {
  /** Not read up front when no PVC's provider is detected by default (a named --provider). */
  volumes: Promise<Map<string, PersistentVolumeInfo>> | undefined;
  /**
   * Each managed PVC's node, from the Running pods. Not read up front when the stats source
   * answers without nodes (Prometheus): then only if some PVC is left without stats, to say why.
   */
  mounts: Promise<Map<string, string>> | undefined;
}

/**
 * A list read beside the PVCs, or only once something needs it, and then once. The PVs: up front
 * when providers are detected from them (--provider auto), else once some PVC needs its PV (its
 * provider annotated `auto`, or a PVC to grow whose provider's check reads the volume). The pods:
 * up front for a per-node stats source, else once some PVC is left without stats.
 */
class OnDemand<T> {
  private listing: Promise<T> | undefined;
  private read: T | undefined;
  private readonly list: () => Promise<T>;

  constructor(upFront: Promise<T> | undefined, list: () => Promise<T>) {
    this.listing = upFront;
    this.list = list;
  }

  /** Whether the list is asked for already (up front, or by an earlier load). */
  get asked(): boolean {
    return this.listing !== undefined;
  }

  /** The list once loaded. */
  get value(): T | undefined {
    return this.read;
  }

  /** The list if it is asked for already, else nothing (and it is not asked for). */
  async ifAsked(): Promise<T | undefined> {
    return this.listing === undefined ? undefined : this.load();
  }

  async load(): Promise<T> {
    this.listing ??= this.list();
    this.read ??= await this.listing;
    return this.read;
  }
}

type Volumes = OnDemand<Map<string, PersistentVolumeInfo>>;

function volumeOf(volumes: Volumes, pvc: PvcSnapshot): PersistentVolumeInfo | undefined {
  return pvc.volumeName === undefined ? undefined : volumes.value?.get(pvc.volumeName);
}

/** A promise whose rejection is handled where it is awaited, not as an unhandled one meanwhile. */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function startReads(deps: RunDeps, config: RunConfig, soFar: ListedSoFar): Reads {
  return {
    volumes:
      deps.providers.detectsFromVolume?.(undefined) === false
        ? undefined
        : awaitedLater(deps.cluster.listPersistentVolumes(soFar.volumeFilter, config.pageSize)),
    mounts: deps.stats.perNode
      ? awaitedLater(
          deps.cluster.listMountingNodes(soFar.claimFilter, config.namespaces, config.pageSize),
        )
      : undefined,
  };
}

/**
 * PVs, classes and kubelet stats for the managed PVCs: a fixed number of lists and one call per
 * node. Each PVC goes on to `ready` as soon as its stats are known (its node answered), in
 * batches; PVCs no kubelet is asked about go first.
 */
async function gather(
  deps: RunDeps,
  config: RunConfig,
  sources: {
    listing: Listing;
    reads: Reads;
    soFar: ListedSoFar;
    classes: ReadonlyMap<string, StorageClassInfo>;
    volumes: Volumes;
  },
  ready: (subjects: Subject[]) => void,
): Promise<void> {
  const { listing, classes, soFar, volumes } = sources;
  const layersOf = sharedLayers(config.layers);
  // A provider detected from the PV needs it before its PVC is decided (or waits for all).
  const detects = (entry: Managed): boolean =>
    deps.providers.detectsFromVolume?.(
      withProviderAnnotations(
        entry.pvc,
        layersOf(entry.governed, entry.pvc, classOf(entry.pvc, classes)),
      ),
    ) ?? true;
  const listed = volumes.asked || listing.managed.some(detects) ? await volumes.load() : undefined;
  // Read late, the pods are kept for the managed PVCs only.
  const mounts = new OnDemand(sources.reads.mounts, () =>
    deps.cluster.listMountingNodes(
      { has: (key) => position.has(key) },
      config.namespaces,
      config.pageSize,
    ),
  );
  const upFront = await mounts.ifAsked();
  soFar.dropUnmanaged(listed, upFront);
  const { position, pvcsByNode, unasked } = whomToAsk(listing.managed, upFront);
  /** Adds the managed PVC at `index` to `into`, with its stats. */
  const subject = (index: number, stats: StatsLookup | undefined, into: Subject[]): void => {
    const entry = listing.managed[index];
    if (entry === undefined) return;
    const { pvc, governed, key } = entry;
    const storageClass = classOf(pvc, classes);
    into.push({
      position: index,
      pvc,
      pv: volumeOf(volumes, pvc),
      storageClass,
      governed,
      layers: layersOf(governed, pvc, storageClass),
      stats: stats ?? unavailable(mounts.value?.has(key) ?? false),
    });
  };
  if (unasked.length > 0) await mounts.load();
  const first: Subject[] = [];
  for (const index of unasked) subject(index, undefined, first);
  ready(first);
  const delivered = new Set<string>();
  const deliver = (stats: ReadonlyMap<string, StatsLookup>): void => {
    const subjects: Subject[] = [];
    for (const [key, lookup] of stats) {
      const index = position.get(key);
      if (index === undefined || delivered.has(key)) continue;
      delivered.add(key);
      subject(index, lookup, subjects);
    }
    ready(subjects);
  };
  const stats = await deps.stats.collect(pvcsByNode, deps.stats.perNode ? deliver : undefined);
  if (upFront === undefined && !allFound(pvcsByNode, stats))
    markUnmounted(stats, await mounts.load());
  deliver(stats);
  // A PVC its node did not report on at all (a source that leaves it out of the map).
  const missing: Subject[] = [];
  for (const pvcs of pvcsByNode.values())
    for (const pvc of pvcs) {
      const key = pvcKey(pvc);
      if (delivered.has(key)) continue;
      delivered.add(key);
      subject(position.get(key) ?? -1, undefined, missing);
    }
  ready(missing);
}

function classOf(
  pvc: PvcSnapshot,
  classes: ReadonlyMap<string, StorageClassInfo>,
): StorageClassInfo | undefined {
  return pvc.storageClassName === undefined ? undefined : classes.get(pvc.storageClassName);
}

/** The one key of `pvcsByNode` for a stats source that needs no nodes. */
const ANY_NODE = '';

/**
 * Each managed PVC's place in the listing, and whom to ask for its stats: its node's kubelet;
 * with no `mounts` (a source that needs no nodes) the source, under ANY_NODE; or nobody (not
 * mounted, a block volume, not bound).
 */
function whomToAsk(
  managed: readonly Managed[],
  mounts: ReadonlyMap<string, string> | undefined,
): { position: Map<string, number>; pvcsByNode: Map<string, PvcRef[]>; unasked: number[] } {
  const position = new Map<string, number>();
  const pvcsByNode = new Map<string, PvcRef[]>();
  const unasked: number[] = [];
  for (const [index, { pvc, key }] of managed.entries()) {
    position.set(key, index);
    const node = mounts === undefined ? ANY_NODE : mounts.get(key);
    if (node === undefined || pvc.volumeMode === 'Block' || pvc.phase !== 'Bound') {
      unasked.push(index);
      continue;
    }
    const list = pvcsByNode.get(node) ?? [];
    list.push(pvc);
    pvcsByNode.set(node, list);
  }
  return { position, pvcsByNode, unasked };
}

/**
 * Said as the kubelet sources say it: a PVC no running pod mounts is "not mounted", whatever
 * the source's own reason for having no stats.
 */
function markUnmounted(
  stats: Map<string, StatsLookup>,
  mounted: ReadonlyMap<string, string>,
): void {
  for (const [key, lookup] of stats)
    if (lookup.kind !== 'found' && !mounted.has(key)) stats.set(key, unavailable(false));
}

function allFound(
  pvcsByNode: ReadonlyMap<string, readonly PvcRef[]>,
  stats: ReadonlyMap<string, StatsLookup>,
): boolean {
  for (const pvcs of pvcsByNode.values())
    for (const pvc of pvcs) if (stats.get(pvcKey(pvc))?.kind !== 'found') return false;
  return true;
}

function unavailable(mounted: boolean): StatsLookup {
  return {
    kind: 'unavailable',
    detail: mounted ? 'no kubelet stats for the volume' : 'not mounted by a running pod',
  };
}

/** A decision being carried through the cloud check and the write, towards its report line. */
interface Pending {
  subject: Subject;
  decision: Decision;
  provider: string;
  /** The usage samples to store (this pass's reading appended) when a sample is due. */
  samples?: UsageSample[] | undefined;
  /** The volume's type and the prices, for its cost; undefined without a price table. */
  costing?: CostContext | undefined;
}

/** The PVC as the providers see it: with the provider keys its class and policy set. */
function providerView(subject: Subject): PvcSnapshot {
  return withProviderAnnotations(subject.pvc, subject.layers);
}

function decideOne(subject: Subject, now: Date): Decision {
  return decide({
    pvc: subject.pvc,
    storageClass: subject.storageClass,
    stats: subject.stats,
    layers: subject.layers.layers,
    layerProblem: subject.layers.problem,
    now,
    // Prometheus' used bytes over --forecast-window, when it is the source.
    usageHistory: subject.stats.kind === 'found' ? subject.stats.history : undefined,
  });
}

function historyOf(subject: Subject): boolean {
  return subject.stats.kind === 'found' && subject.stats.history !== undefined;
}

function decideAll(
  deps: RunDeps,
  config: RunConfig,
  subjects: readonly Subject[],
  pass: { pricing: PassPricing | undefined; firstSamples: { left: number } },
): { pending: Pending[]; plans: ReturnType<typeof coordinateGroups>['plans'] } {
  const now = deps.now();
  const { decisions, plans } = coordinateGroups(
    subjects.map((subject) => ({
      pvc: subject.pvc,
      decision: decideOne(subject, now),
      group: subject.governed.group,
    })),
    now,
  );
  const decided = subjects.map((subject, index) => {
    const decision = decisions[index] ?? decideOne(subject, now);
    return {
      subject,
      decision,
      provider: deps.providers.providerFor(providerView(subject), subject.pv, subject.storageClass),
      costing: costContextFor(pass.pricing, subject.pvc, subject.storageClass),
      // With a history from Prometheus, the PVC needs no samples of its own.
      samples: samplesToWrite(
        subject.pvc,
        decision,
        now,
        historyOf(subject) ? undefined : config.sampleIntervalMs,
      ),
    };
  });
  return { pending: limitFirstSamples(decided, pass.firstSamples), plans };
}

/** The expansion does not happen, for `reason`; a Warning event unless `warn` is false. */
function held(
  item: Pending,
  reason: Reason,
  detail: string,
  how: { action?: Decision['action']; warn?: boolean } = {},
): Pending {
  const { action = 'skip', warn = true } = how;
  return { ...item, decision: { ...item.decision, action, reason, detail, warn } };
}

function applyVerdict(item: Pending, verdict: ProviderVerdict | undefined): Pending {
  // Every candidate gets a verdict; without one, the cloud's limits are unknown: do not expand.
  if (verdict === undefined) {
    return held(item, 'provider-error', 'the provider gave no verdict for the volume', {
      action: 'error',
    });
  }
  if (verdict.ok) {
    const decision = { ...item.decision, toBytes: verdict.toBytes };
    const costing = withCloudType(item.costing, verdict.provider, verdict.volumeType);
    if (verdict.toBytes <= (item.decision.fromBytes ?? 0n)) {
      return held(
        { ...item, provider: verdict.provider, costing },
        'max-size-reached',
        `${verdict.provider}: already at the volume's maximum size`,
      );
    }
    const notes = verdict.warnings.length > 0 ? `; ${verdict.warnings.join('; ')}` : '';
    return {
      ...item,
      costing,
      provider: verdict.provider,
      decision: { ...decision, detail: `${decision.detail}${notes}` },
    };
  }
  const when =
    verdict.retryAt === undefined ? '' : ` (possible after ${verdict.retryAt.toISOString()})`;
  const action = verdict.reason === 'provider-error' ? 'error' : 'skip';
  return held(
    { ...item, provider: verdict.provider },
    verdict.reason,
    `${verdict.provider}: ${verdict.detail}${when}`,
    { action },
  );
}

/** The cloud's last word on each wanted expansion, then the per-run cap (`cap`: the run's count). */
async function checkWithProviders(
  deps: RunDeps,
  config: RunConfig,
  pending: Pending[],
  state: { cap: { expansions: number }; volumes: Volumes },
): Promise<Pending[]> {
  const { cap } = state;
  const wanted = pending.filter((item) => item.decision.action === 'expand');
  // A cloud check that reads the volume needs the PVs: listed now if they were not up front.
  const { providers } = deps;
  if (wanted.some((item) => providers.checksVolume?.(item.provider) ?? true))
    await state.volumes.load();
  const candidates: ExpansionCandidate[] = wanted.map(({ subject, decision }) => ({
    pvc: providerView(subject),
    pv: subject.pv ?? volumeOf(state.volumes, subject.pvc),
    storageClass: subject.storageClass,
    fromBytes: decision.fromBytes ?? 0n,
    toBytes: decision.toBytes ?? 0n,
    minIncreaseBytes: decision.settings.settings.minIncreaseBytes,
    history: decision.history,
  }));
  const verdicts =
    candidates.length === 0
      ? new Map<string, ProviderVerdict>()
      : await deps.providers.check(candidates, deps.now());
  return pending.map((item) => {
    if (item.decision.action !== 'expand') return item;
    const checked = applyVerdict(item, verdicts.get(pvcKey(item.subject.pvc)));
    if (checked.decision.action !== 'expand') return checked;
    cap.expansions++;
    if (cap.expansions <= config.maxExpansionsPerRun) return checked;
    const detail = `${config.maxExpansionsPerRun} expansions already made this run; the next run picks it up`;
    return held(checked, 'max-expansions-per-run', detail);
  });
}

const DELETED = 'the PVC was deleted after it was listed';

/** After a 409: the PVC as it is now, decided again; never more than the cloud already agreed to. */
async function redecide(deps: RunDeps, item: Pending): Promise<Pending> {
  const { pvc } = item.subject;
  deps.log.info(
    { namespace: pvc.namespace, name: pvc.name },
    'conflict on patch, re-reading the pvc',
  );
  const fresh = await deps.cluster.getPvc(pvc);
  if (fresh === undefined) return held(item, 'api-error', DELETED, { warn: false });
  const subject = { ...item.subject, pvc: fresh };
  if (item.decision.group !== undefined) return regroup(item, fresh);
  const decision = decideOne(subject, deps.now());
  const allowed = item.decision.toBytes ?? 0n;
  if (
    decision.action !== 'expand' ||
    decision.toBytes === undefined ||
    decision.toBytes <= allowed
  ) {
    return { ...item, subject, decision };
  }
  return { ...item, subject, decision: { ...decision, toBytes: allowed } };
}

/** A group member after a 409: the group's size still holds, unless the PVC is now resizing. */
function regroup(item: Pending, fresh: PvcSnapshot): Pending {
  const subject = { ...item.subject, pvc: fresh };
  const resize = resizeState(fresh);
  if (resize !== undefined)
    return held({ ...item, subject }, 'resize-in-progress', resize.detail, { warn: false });
  return { ...item, subject, decision: { ...item.decision, fromBytes: fresh.capacityBytes } };
}

/** A PATCH that went unanswered is not sent again: the re-read said whether it applied. */
function unansweredPatch(
  item: Pending,
  outcome: { pvc: PvcSnapshot | undefined; detail: string },
): Pending {
  const note = `PATCH unanswered: ${outcome.detail}`;
  if (outcome.pvc === undefined)
    return held(item, 'api-error', `${note}; the next run tries again`, { action: 'error' });
  return {
    ...item,
    subject: { ...item.subject, pvc: outcome.pvc },
    decision: { ...item.decision, detail: `${item.decision.detail}; ${note}` },
  };
}

/** The PVC's record after a PATCH that did not conflict. */
function patched(item: Pending, outcome: Exclude<PatchOutcome, { kind: 'conflict' }>): Pending {
  switch (outcome.kind) {
    case 'patched':
      return { ...item, subject: { ...item.subject, pvc: outcome.pvc } };
    case 'not-found':
      return held(item, 'api-error', DELETED, { warn: false });
    case 'rejected':
      return held(
        item,
        'api-error',
        `the API server refused the resize (HTTP ${outcome.status}): ${outcome.message}`,
        { action: 'error' },
      );
    case 'unanswered':
      return unansweredPatch(item, outcome);
  }
}

/** PATCH size and state together, guarded by resourceVersion; on 409 re-read and decide once more. */
async function expand(deps: RunDeps, item: Pending): Promise<Pending> {
  let current = item;
  for (let attempt = 0; attempt < 2; attempt++) {
    const { pvc } = current.subject;
    const { fromBytes, toBytes, history } = current.decision;
    const reason = current.decision.historyReason ?? current.decision.reason;
    if (current.decision.action !== 'expand' || fromBytes === undefined || toBytes === undefined)
      return current;
    if (toBytes <= fromBytes)
      return held(
        current,
        'max-size-reached',
        `already at ${formatQuantity(fromBytes)}, the most the provider allowed`,
      );
    // A sample due rides on the expansion's PATCH; the history entry records used bytes.
    const annotations = expansionAnnotations(
      history,
      { time: deps.now(), fromBytes, toBytes, reason, usedBytes: current.decision.usedBytes },
      current.samples,
    );
    const outcome = await deps.cluster.patchPvc(pvc, {
      resourceVersion: pvc.resourceVersion,
      requestStorage: formatQuantity(toBytes),
      annotations,
    });
    if (outcome.kind !== 'conflict') return patched(current, outcome);
    // The samples were built from the PVC as listed; another writer may have added one since.
    // The retry carries none, and the next pass writes the sample still due.
    current = { ...(await redecide(deps, current)), samples: undefined };
  }
  if (current.decision.action !== 'expand') return current;
  return held(
    current,
    'conflict',
    'the PVC kept changing while it was being patched; the next run tries again',
    { action: 'error' },
  );
}

function messageFor(item: Pending): string {
  const message = `${item.decision.reason}: ${item.decision.detail}`;
  if (item.decision.action !== 'expand') return message;
  const cost = costOf(item, 'expand');
  const note = cost === undefined ? undefined : costAddedNote(cost);
  return note === undefined ? message : `${message}; ${note}`;
}

/**
 * The volume's cost: its size after the pass, and what an expansion (or would-be one) adds;
 * undefined without a price table.
 */
function costOf(item: Pending, action: PvcOutcome['action']): VolumeCost | undefined {
  if (item.costing === undefined) return undefined;
  const { pvc } = item.subject;
  const { fromBytes, toBytes } = item.decision;
  const expanding = action === 'expand' || action === 'would-expand';
  return volumeCost(item.costing, {
    sizeBytes: pvc.requestBytes ?? pvc.capacityBytes,
    expansion:
      expanding && fromBytes !== undefined && toBytes !== undefined
        ? { fromBytes, toBytes }
        : undefined,
  });
}

/** An expansion's Normal Event also says how fast the volume grows, when that is known. */
function expansionMessage(item: Pending): string {
  const { forecast } = item.decision;
  return forecast.kind === 'rate'
    ? `${messageFor(item)}; ${describeForecast(forecast)}`
    : messageFor(item);
}

/** Records the PVC's Event; when that fails, the PVC's record says so too. */
async function recordEvent(
  deps: RunDeps,
  item: Pending,
  type: 'Normal' | 'Warning',
  action: string,
): Promise<Pending> {
  const { pvc } = item.subject;
  try {
    await deps.cluster.recordEvent({
      pvc,
      type,
      reason: item.decision.reason,
      action,
      message: type === 'Normal' ? expansionMessage(item) : messageFor(item),
    });
    return item;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.log.warn(
      { namespace: pvc.namespace, name: pvc.name, err: message },
      'recording event failed',
    );
    const detail = `${item.decision.detail}; its ${type} Event was not recorded: ${message}`;
    return { ...item, decision: { ...item.decision, detail } };
  }
}

/** The PVC's writes, then its usage sample when one is due and no expansion carried it. */
async function applyOne(deps: RunDeps, item: Pending): Promise<Pending> {
  const result = await applyDecision(deps, item);
  const carried = item.decision.action === 'expand' && result.decision.action === 'expand';
  if (item.samples !== undefined && !carried && !deps.signal.aborted)
    await writeSamples(deps, result.subject.pvc, item.samples);
  return result;
}

async function applyDecision(deps: RunDeps, item: Pending): Promise<Pending> {
  if (item.decision.action === 'expand') {
    if (deps.signal.aborted)
      return held(item, 'interrupted', 'the run was stopped before this PVC was patched', {
        warn: false,
      });
    let result: Pending;
    try {
      result = await expand(deps, item);
    } catch (error) {
      result = held(
        item,
        'api-error',
        `patch failed: ${error instanceof Error ? error.message : String(error)}`,
        { action: 'error' },
      );
    }
    if (result.decision.action === 'expand') return recordEvent(deps, result, 'Normal', 'expand');
    if (result.decision.warn) return recordEvent(deps, result, 'Warning', result.decision.action);
    return result;
  }
  if (item.decision.warn && !deps.signal.aborted)
    return recordEvent(deps, item, 'Warning', item.decision.action);
  return item;
}

const NO_POLICIES: readonly string[] = [];

/** The matched policies not chosen; most PVCs have none, and share one empty list. */
function otherPolicies(governed: Governed): readonly string[] {
  const { matched } = governed.choice;
  return matched.length <= 1 ? NO_POLICIES : matched.slice(1).map(policyKey);
}

function toOutcome(item: Pending, dryRun: boolean): PvcOutcome {
  const { pvc } = item.subject;
  const { decision } = item;
  const action = decision.action === 'expand' && dryRun ? 'would-expand' : decision.action;
  return {
    namespace: pvc.namespace,
    name: pvc.name,
    action,
    reason: decision.reason,
    detail: decision.detail,
    thresholdsReached: decision.thresholdsReached,
    currentBytes: pvc.capacityBytes,
    requestBytes: pvc.requestBytes,
    newBytes: decision.toBytes,
    maxSizeBytes: decision.maxSizeBytes,
    usedRatio: decision.usedRatio,
    inodesUsedRatio: decision.inodesUsedRatio,
    provider: item.provider,
    unhealthy: decision.unhealthy,
    policy: item.subject.governed.choice.chosen?.name,
    otherPolicies: otherPolicies(item.subject.governed),
    group: item.subject.governed.group?.name,
    source: item.subject.stats.source,
    cost: costOf(item, action),
    forecast: forecastFigures(decision.forecast),
  };
}

/** The report lines by position, and the group members' final state, filled as PVCs settle. */
interface Settled {
  outcomes: (PvcOutcome | undefined)[];
  /** Group members only (a few per group): their final state feeds the PVCGroup status. */
  final: Pending[];
  plans: ReturnType<typeof coordinateGroups>['plans'];
}

/**
 * Applies what needs a write (an expansion, a Warning event), at most `writeConcurrency` at
 * once across batches, and turns every decision into its report line as soon as it is final, so
 * the snapshots, volumes and stats behind a decision are let go once its outcome is known.
 * Resolves when the batch's writes are queued; `writing` collects them.
 */
function settle(
  deps: RunDeps,
  config: RunConfig,
  decided: readonly Pending[],
  into: { settled: Settled; writes: Limiter; writing: Promise<void>[] },
): void {
  const { settled } = into;
  for (const item of decided) {
    const { position } = item.subject;
    settled.outcomes[position] = toOutcome(item, config.dryRun);
    const write =
      !config.dryRun &&
      (item.decision.action === 'expand' || item.decision.warn || item.samples !== undefined);
    if (!write) {
      if (item.subject.governed.group !== undefined) settled.final.push(item);
      continue;
    }
    into.writing.push(
      into.writes.run(async () => {
        const result = await applyOne(deps, item);
        if (result.subject.governed.group !== undefined) settled.final.push(result);
        settled.outcomes[position] = toOutcome(result, config.dryRun);
      }),
    );
  }
}

/**
 * Whether a PVC waits for the last kubelet before it is decided: a PVCGroup decides with all its
 * members, and some providers check all their candidates together (ProviderGate.checksTogether).
 */
function waitsForAll(deps: RunDeps, subject: Subject): boolean {
  if (subject.governed.group !== undefined) return true;
  const { providers } = deps;
  if (providers.checksTogether === undefined) return false;
  return providers.checksTogether(
    providers.providerFor(providerView(subject), subject.pv, subject.storageClass),
  );
}

/**
 * Decides a batch of gathered PVCs, holds those that wait for a backup, asks the cloud, applies
 * the per-run cap and queues the writes. Batches run one at a time (createBatcher).
 */
async function processBatch(
  deps: RunDeps,
  config: RunConfig,
  subjects: Subject[],
  state: {
    pricing: Promise<PassPricing | undefined>;
    /** First usage samples the pass may still give (limitFirstSamples), across its batches. */
    firstSamples: { left: number };
    settled: Settled;
    writes: Limiter;
    writing: Promise<void>[];
    cap: { expansions: number };
    backups: BackupCache;
    volumes: Volumes;
  },
): Promise<void> {
  // In list order: the per-run cap lets the first ones through.
  subjects.sort((a, b) => a.position - b.position);
  const pricing = await state.pricing;
  const { pending, plans } = decideAll(deps, config, subjects, {
    pricing,
    firstSamples: state.firstSamples,
  });
  for (const [name, plan] of plans) state.settled.plans.set(name, plan);
  await waitForBackups(deps, config, pending, state.backups);
  const checked = await checkWithProviders(deps, config, pending, state);
  settle(deps, config, checked, state);
}

function logOutcome(log: Logger, outcome: PvcOutcome): void {
  const { namespace, name, action, reason, detail } = outcome;
  const fields = {
    namespace,
    name,
    action,
    reason,
    detail,
    currentSize: outcome.currentBytes === undefined ? null : formatQuantity(outcome.currentBytes),
    newSize: outcome.newBytes === undefined ? null : formatQuantity(outcome.newBytes),
    policy: outcome.policy ?? null,
    otherPolicies: outcome.otherPolicies,
    group: outcome.group ?? null,
  };
  // One line per managed PVC: written by logRecord, the same line as pino's at half its CPU.
  logRecord(log, action === 'error' ? 'warn' : 'info', fields, 'pvc decision');
}

function membersByGroup(applied: readonly Pending[]): Map<string, MemberResult[]> {
  const members = new Map<string, MemberResult[]>();
  for (const item of applied) {
    const group: PvcGroup | undefined = item.subject.governed.group;
    if (group === undefined) continue;
    const list = members.get(group.name) ?? [];
    list.push({
      pvc: item.subject.pvc,
      expandedByGroup: item.decision.action === 'expand' && item.decision.historyReason === 'group',
    });
    members.set(group.name, list);
  }
  return members;
}

export async function run(deps: RunDeps, config: RunConfig): Promise<RunSummary> {
  const startedAt = deps.now();
  const base = { runId: deps.runId, startedAt, dryRun: config.dryRun };
  let listing: Listing = {
    managed: [],
    seen: 0,
    unmanaged: { 'not-enabled': 0, disabled: 0, 'other-shard': 0 },
    matchCounts: new Map(),
  };
  // The records decided so far, by position: a pass that fails later still reports them.
  const settled: Settled = { outcomes: [], final: [], plans: new Map() };
  const writing: Promise<void>[] = [];
  try {
    const soFar = new ListedSoFar();
    // Everything that does not depend on the PVC list is asked for beside it.
    const reads = startReads(deps, config, soFar);
    const [classes, governance] = await Promise.all([
      deps.cluster.listStorageClasses(),
      loadGovernance(deps.customResources, config, deps.log),
    ]);
    listing = await listManaged(deps, config, { classes, governance }, soFar);
    const names = new Set(listing.managed.flatMap(({ pvc }) => pvc.volumeName ?? []));
    const volumes: Volumes = new OnDemand(reads.volumes, () =>
      deps.cluster.listPersistentVolumes({ has: (name) => names.has(name) }, config.pageSize),
    );
    const state = {
      // Asked for beside the kubelets; the first batch waits for it.
      pricing: awaitedLater(loadPassPricing(deps, config, listing.managed, classes)),
      firstSamples: { left: firstSampleBudget(listing.managed.length) },
      settled,
      writes: createLimiter(config.writeConcurrency),
      writing,
      cap: { expansions: 0 },
      backups: {},
      volumes,
    };
    const batches = createBatcher<Subject>((batch) => processBatch(deps, config, batch, state));
    // A PVCGroup decides with all its members, so they wait for the last stats. So does every
    // PVC when the per-run cap could bind: it lets through the first expansions in list order.
    const streaming = listing.managed.length <= config.maxExpansionsPerRun;
    const held: Subject[] = [];
    await gather(deps, config, { listing, reads, soFar, classes, volumes }, (subjects) => {
      if (!streaming) {
        held.push(...subjects);
        return;
      }
      const alone: Subject[] = [];
      for (const subject of subjects) (waitsForAll(deps, subject) ? held : alone).push(subject);
      batches.push(alone);
    });
    // From here the decisions hold the PVCs; settle() lets each go once its outcome is known.
    listing.managed = [];
    batches.push(held);
    held.length = 0;
    await batches.drain();
    await Promise.all(writing);
    await state.pricing;
    const pvcs = settled.outcomes.filter((outcome) => outcome !== undefined);
    // Dry run writes nothing, status included.
    if (!config.dryRun)
      await writeStatuses(
        deps.customResources,
        governance,
        {
          policies: config.writesPolicyStatus ?? true,
          matchCounts: listing.matchCounts,
          plans: settled.plans,
          members: membersByGroup(settled.final),
          now: deps.now(),
        },
        deps.log,
      );
    for (const outcome of pvcs) logOutcome(deps.log, outcome);
    const status = deps.signal.aborted ? 'interrupted' : 'success';
    return {
      ...base,
      finishedAt: deps.now(),
      status,
      error: undefined,
      pvcsSeen: listing.seen,
      unmanaged: listing.unmanaged,
      pvcs,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const status = deps.signal.aborted ? 'interrupted' : 'failed';
    deps.log.error({ err: message }, 'the pass could not complete');
    // Writes already under way finish (or fail) before the pass reports.
    await Promise.allSettled(writing);
    return {
      ...base,
      finishedAt: deps.now(),
      status,
      error: message,
      pvcsSeen: listing.seen,
      unmanaged: listing.unmanaged,
      pvcs: settled.outcomes.filter((outcome) => outcome !== undefined),
    };
  }
}
