import {
  ANNOTATIONS,
  describeProblem,
  parseAnnotations,
  type PvcAnnotations,
} from './annotations.js';
import { formatDuration } from './duration.js';
import {
  describeForecast,
  fitOf,
  formatBytesShort,
  forecastOf,
  fullWithin,
  runwayBytes,
  type Forecast,
  type UsageFit,
  type UsagePoint,
} from './forecast.js';
import { formatTime, type ExpansionRecord } from './history.js';
import type { LayerProblem } from './layers.js';
import type { Reason, ThresholdType } from './outcome.js';
import { formatRatio, percentOf, ratio, reachesPercent } from './percent.js';
import type { PvcSnapshot, StatsLookup, StorageClassInfo, VolumeStats } from './pvc.js';
import type { UsageSample } from './usage-samples.js';
import { formatQuantity, maxBigint, minBigint, MiB, roundUpToGiB } from './quantity.js';
import {
  resolveSettingsOver,
  type ResolvedSettings,
  type Settings,
  type SettingsLayer,
} from './settings.js';

/** Everything one PVC's decision depends on. No I/O happens past this point. */
export interface DecisionInput {
  pvc: PvcSnapshot;
  storageClass: StorageClassInfo | undefined;
  stats: StatsLookup;
  /** Layers below the PVC's annotations: global flags, StorageClass, PVCPolicy (see layers.ts). */
  layers: readonly SettingsLayer[];
  /** A layer that cannot be used (an invalid PVCPolicy or StorageClass annotation). */
  layerProblem?: LayerProblem | undefined;
  now: Date;
  /**
   * The fit of the volume's used bytes over --forecast-window from Prometheus, when it is the
   * stats source; undefined: the forecast is fitted to the PVC's usage-samples annotation and
   * the stats now.
   */
  usageHistory?: UsageFit | undefined;
}

export interface Decision {
  action: 'expand' | 'skip' | 'error';
  reason: Reason;
  /** The numbers behind the reason, for the report, the log and the Event. */
  detail: string;
  /** Record a Warning Event: the PVC needs attention or cannot grow. */
  warn: boolean;
  /** The volume is in a state that needs a human (a failed resize). */
  unhealthy: boolean;
  thresholdsReached: ThresholdType[];
  /** status.capacity. */
  fromBytes: bigint | undefined;
  /** The new request, when expanding (or when expansion was wanted but held back). */
  toBytes: bigint | undefined;
  usedRatio: number | undefined;
  inodesUsedRatio: number | undefined;
  maxSizeBytes: bigint | undefined;
  /** The PVC's expansion history, for the providers' rate rules and the next history entry. */
  history: readonly ExpansionRecord[];
  /** The settings the decision was made with, each with its layer (what `explain` prints). */
  settings: ResolvedSettings;
  /** The PVCGroup whose coordination shaped this decision, if any. */
  group: string | undefined;
  /** The reason written to the expansion history; undefined: the decision's reason. */
  historyReason: string | undefined;
  /** The growth forecast, or why there is none. */
  forecast: Forecast;
  /** The kubelet's usedBytes now, when its stats are sound: the next usage sample. */
  usedBytes: bigint | undefined;
  /** The PVC's stored usage samples, oldest first (the next sample is appended to them). */
  usageSamples: readonly UsageSample[];
}

/** Stats this far below status.capacity mean the kubelet has not seen the last resize yet. */
function staleMarginBytes(capacityBytes: bigint): bigint {
  return maxBigint(capacityBytes / 25n, 512n * MiB);
}

const RESIZE_FAILED_CONDITIONS = new Set(['ControllerResizeError', 'NodeResizeError']);
const RESIZING_CONDITIONS = new Set(['Resizing', 'FileSystemResizePending']);
const RESIZING_STATUSES = new Set([
  'ControllerResizeInProgress',
  'NodeResizePending',
  'NodeResizeInProgress',
]);

/** Why a resize is failed or still in flight, or undefined when the PVC is at rest. */
export function resizeState(
  pvc: PvcSnapshot,
): { state: 'failed' | 'in-progress'; detail: string } | undefined {
  const failedCondition = pvc.conditionTypes.find((type) => RESIZE_FAILED_CONDITIONS.has(type));
  if (
    pvc.allocatedResourceStatus?.endsWith('Infeasible') === true ||
    failedCondition !== undefined
  ) {
    return {
      state: 'failed',
      detail: `resize failed: ${pvc.allocatedResourceStatus ?? failedCondition ?? ''}`,
    };
  }
  if (
    pvc.requestBytes !== undefined &&
    pvc.capacityBytes !== undefined &&
    pvc.requestBytes > pvc.capacityBytes
  ) {
    return {
      state: 'in-progress',
      detail: `requested ${formatQuantity(pvc.requestBytes)}, capacity still ${formatQuantity(pvc.capacityBytes)}`,
    };
  }
  const condition = pvc.conditionTypes.find((type) => RESIZING_CONDITIONS.has(type));
  if (condition !== undefined) return { state: 'in-progress', detail: `condition ${condition}` };
  if (
    pvc.allocatedResourceStatus !== undefined &&
    RESIZING_STATUSES.has(pvc.allocatedResourceStatus)
  ) {
    return { state: 'in-progress', detail: `resize status ${pvc.allocatedResourceStatus}` };
  }
  return undefined;
}

interface Usage {
  usedRatio: number;
  inodesUsedRatio: number | undefined;
  reached: ThresholdType[];
  detail: string;
}

/** Which thresholds the stats cross, with the comparison spelled out. */
function measureUsage(stats: VolumeStats, settings: Settings): Usage {
  const used = stats.capacityBytes - stats.availableBytes;
  const usedRatio = ratio(used, stats.capacityBytes);
  const reached: ThresholdType[] = [];
  let detail: string;
  if (settings.threshold.kind === 'percent') {
    const hit = reachesPercent(used, stats.capacityBytes, settings.threshold.percent);
    if (hit) reached.push('storage');
    detail = `used ${formatRatio(usedRatio)} ${hit ? '>=' : '<'} ${settings.threshold.percent.text}`;
  } else {
    const hit = stats.availableBytes < settings.threshold.bytes;
    if (hit) reached.push('storage');
    detail = `free ${formatQuantity(stats.availableBytes)} ${hit ? '<' : '>='} ${settings.threshold.text}`;
  }
  let inodesUsedRatio: number | undefined;
  if (stats.inodes !== undefined && stats.inodesUsed !== undefined && stats.inodes > 0n) {
    inodesUsedRatio = ratio(stats.inodesUsed, stats.inodes);
    const hit = reachesPercent(stats.inodesUsed, stats.inodes, settings.inodesThreshold);
    if (hit) reached.push('inodes');
    detail += `, inodes ${formatRatio(inodesUsedRatio)} ${hit ? '>=' : '<'} ${settings.inodesThreshold.text}`;
  }
  return { usedRatio, inodesUsedRatio, reached, detail };
}

/**
 * capacity + max(increase, min-increase, runway), rounded up to a whole Gi, capped at max-size.
 * `runwayBytes` is the forecast growth over min-runway (0 without one).
 */
export function nextSize(capacityBytes: bigint, settings: Settings, runwayBytes = 0n): bigint {
  const step =
    settings.increase.kind === 'percent'
      ? percentOf(capacityBytes, settings.increase.percent)
      : settings.increase.bytes;
  const wanted = maxBigint(maxBigint(step, settings.minIncreaseBytes), runwayBytes);
  const grown = roundUpToGiB(capacityBytes + wanted);
  return settings.maxSizeBytes === undefined ? grown : minBigint(grown, settings.maxSizeBytes);
}

/** The step's runway note, when min-runway made it larger than the plain step. */
function runwayNote(context: Context, capacityBytes: bigint, toBytes: bigint): string {
  const { settings } = context.resolved;
  const runway = runwayBytes(context.base.forecast, settings.minRunwayMs);
  if (runway === 0n || nextSize(capacityBytes, settings) >= toBytes) return '';
  return `; step sized for min-runway ${formatDuration(settings.minRunwayMs)} at the forecast rate (${formatBytesShort(Number(runway))})`;
}

/** Under the threshold: whether the forecast says full within expand-before-full. */
function forecastTrigger(context: Context, stats: VolumeStats): string | undefined {
  const { expandBeforeFullMs } = context.resolved.settings;
  const { forecast } = context.base;
  if (!fullWithin(forecast, stats.availableBytes, expandBeforeFullMs)) return undefined;
  return `${describeForecast(forecast)}: full within expand-before-full ${formatDuration(expandBeforeFullMs)}`;
}

function invalidStats(stats: VolumeStats): string | undefined {
  if (stats.capacityBytes <= 0n) return `kubelet reports capacityBytes ${stats.capacityBytes}`;
  if (stats.availableBytes < 0n) return `kubelet reports availableBytes ${stats.availableBytes}`;
  return undefined;
}

/** What the checks share: the PVC's parsed state and settings, and the decision so far. */
interface Context {
  input: DecisionInput;
  annotations: PvcAnnotations;
  resolved: ResolvedSettings;
  base: Decision;
}

/** A check either settles the decision or lets the next one look. */
type Check = (context: Context) => Decision | undefined;

function skip(context: Context, reason: Reason, detail: string, warn = false): Decision {
  return { ...context.base, reason, detail, warn };
}

function failure(context: Context, reason: Reason, detail: string, unhealthy = false): Decision {
  return { ...context.base, action: 'error', reason, detail, warn: true, unhealthy };
}

const checkLayers: Check = (context) => {
  const problem = context.input.layerProblem;
  return problem === undefined ? undefined : failure(context, problem.reason, problem.detail);
};

const checkAnnotations: Check = (context) => {
  const [problem] = context.annotations.problems;
  return problem === undefined
    ? undefined
    : failure(context, 'invalid-annotation', describeProblem(problem));
};

const checkBound: Check = (context) => {
  const { pvc } = context.input;
  if (pvc.phase !== 'Bound') return skip(context, 'not-bound', `phase ${pvc.phase ?? 'unknown'}`);
  return pvc.capacityBytes === undefined
    ? skip(context, 'not-bound', 'no status.capacity yet')
    : undefined;
};

/**
 * The request below the size pvc-chonker last wrote: an owner (an operator, a GitOps tool, a
 * restore) set it back. Growing it again would fight that owner, so the PVC waits for a person:
 * fix the owner, or accept the smaller size with the ack annotation naming that expansion.
 */
const checkSizeReverted: Check = (context) => {
  const last = context.annotations.history.at(-1);
  const request = context.input.pvc.requestBytes;
  if (last === undefined || request === undefined || request >= last.toBytes) return undefined;
  const when = formatTime(last.time);
  const ack = context.annotations.sizeRevertedAck;
  if (ack?.getTime() === last.time.getTime()) return undefined;
  const detail = `spec.resources.requests.storage is ${formatQuantity(request)}, below the ${formatQuantity(last.toBytes)} pvc-chonker wrote at ${when}: something set it back; no expansion until the owner keeps the new size or the PVC is annotated ${ANNOTATIONS.sizeRevertedAck}=${when}`;
  return skip(context, 'size-reverted', detail, true);
};

/** A max-size annotation below the current size is a mistake, not a limit reached. */
const checkMaxSizeAnnotation: Check = (context) => {
  const { settings, sources } = context.resolved;
  const capacityBytes = context.input.pvc.capacityBytes ?? 0n;
  if (sources.maxSizeBytes !== 'annotation' || settings.maxSizeBytes === undefined)
    return undefined;
  if (settings.maxSizeBytes >= capacityBytes) return undefined;
  const detail = `pvc-chonker.io/max-size: ${formatQuantity(settings.maxSizeBytes)} is below the current size ${formatQuantity(capacityBytes)}`;
  return failure(context, 'invalid-annotation', detail);
};

const checkResize: Check = (context) => {
  const resize = resizeState(context.input.pvc);
  if (resize === undefined) return undefined;
  return resize.state === 'failed'
    ? failure(context, 'resize-failed', resize.detail, true)
    : skip(context, 'resize-in-progress', resize.detail);
};

const checkStorageClass: Check = (context) => {
  const { storageClass, pvc } = context.input;
  if (storageClass?.allowVolumeExpansion === true) return undefined;
  const detail =
    storageClass === undefined
      ? `StorageClass "${pvc.storageClassName ?? ''}" not found`
      : `StorageClass ${storageClass.name} does not set allowVolumeExpansion: true`;
  return skip(context, 'expansion-not-allowed', detail, true);
};

const checkBlockMode: Check = (context) =>
  context.input.pvc.volumeMode === 'Block'
    ? skip(context, 'block-mode', 'Block-mode volumes have no filesystem stats')
    : undefined;

const checkStats: Check = (context) => {
  const { stats } = context.input;
  if (stats.kind === 'unavailable') return skip(context, 'metrics-unavailable', stats.detail);
  const problem = invalidStats(stats.stats);
  if (problem !== undefined) return skip(context, 'metrics-unavailable', problem);
  const capacityBytes = context.input.pvc.capacityBytes ?? 0n;
  if (stats.stats.capacityBytes >= capacityBytes - staleMarginBytes(capacityBytes))
    return undefined;
  const detail = `kubelet capacity ${formatQuantity(stats.stats.capacityBytes)} is well below status.capacity ${formatQuantity(capacityBytes)}; the kubelet has not seen the last resize`;
  return skip(context, 'stats-stale', detail);
};

/** Usage against the thresholds, then cooldown and max-size, then the new size. */
function judgeUsage(context: Context, stats: VolumeStats): Decision {
  const { settings } = context.resolved;
  const capacityBytes = context.input.pvc.capacityBytes ?? 0n;
  const usage = measureUsage(stats, settings);
  const predicted = usage.reached.length === 0 ? forecastTrigger(context, stats) : undefined;
  // Most PVCs of a pass: one decision object, not a measured one copied again.
  if (usage.reached.length === 0 && predicted === undefined)
    return {
      ...context.base,
      reason: 'below-threshold',
      detail: usage.detail,
      usedRatio: usage.usedRatio,
      inodesUsedRatio: usage.inodesUsedRatio,
      thresholdsReached: usage.reached,
    };
  const measured: Decision = {
    ...context.base,
    usedRatio: usage.usedRatio,
    inodesUsedRatio: usage.inodesUsedRatio,
    thresholdsReached: usage.reached,
  };
  const why = predicted === undefined ? usage.detail : `${usage.detail}; ${predicted}`;
  const reason: Reason = predicted === undefined ? 'threshold-reached' : 'forecast-full';

  const toBytes = nextSize(
    capacityBytes,
    settings,
    runwayBytes(context.base.forecast, settings.minRunwayMs),
  );
  const wanted: Decision = { ...measured, toBytes };
  const last = context.annotations.lastExpansion;
  const sinceLast = last === undefined ? undefined : context.input.now.getTime() - last.getTime();
  if (sinceLast !== undefined && sinceLast < settings.cooldownMs) {
    const detail = `${why}; last expansion ${formatDuration(Math.max(0, sinceLast))} ago, cooldown ${formatDuration(settings.cooldownMs)} (${formatDuration(settings.cooldownMs - sinceLast)} left)`;
    return { ...wanted, reason: 'cooldown', detail };
  }
  if (toBytes <= capacityBytes) {
    const detail = `${why}; already at max-size ${formatQuantity(settings.maxSizeBytes ?? capacityBytes)}`;
    return { ...wanted, toBytes: undefined, reason: 'max-size-reached', detail, warn: true };
  }
  return {
    ...wanted,
    action: 'expand',
    reason,
    detail: `${why}; ${formatQuantity(capacityBytes)} -> ${formatQuantity(toBytes)}${runwayNote(context, capacityBytes, toBytes)}`,
  };
}

/** In order; the first check that settles the decision gives its reason. */
const CHECKS: readonly Check[] = [
  checkLayers,
  checkAnnotations,
  checkBound,
  checkSizeReverted,
  checkMaxSizeAnnotation,
  checkResize,
  checkStorageClass,
  checkBlockMode,
  checkStats,
];

/** Stats that can be used: found, and not nonsense. */
function soundStats(stats: StatsLookup): VolumeStats | undefined {
  return stats.kind === 'found' && invalidStats(stats.stats) === undefined
    ? stats.stats
    : undefined;
}

/**
 * The forecast: fitted to Prometheus's history when given, else to the stored usage samples
 * plus the reading now. Without sound stats there is nothing to measure the room left against.
 */
function forecastFor(
  input: DecisionInput,
  annotations: PvcAnnotations,
  settings: Settings,
): Pick<Decision, 'forecast' | 'usedBytes'> {
  const stats = soundStats(input.stats);
  if (stats === undefined)
    return { forecast: { kind: 'none', why: 'no usage stats' }, usedBytes: undefined };
  const fromPrometheus = input.usageHistory !== undefined;
  if (!fromPrometheus && annotations.usageSamplesProblem !== undefined)
    return {
      forecast: { kind: 'none', why: annotations.usageSamplesProblem },
      usedBytes: stats.usedBytes,
    };
  const now: UsagePoint = { time: input.now, usedBytes: stats.usedBytes };
  const fit =
    input.usageHistory ??
    fitOf([...annotations.usageSamples.filter((s) => s.time < input.now), now]);
  const forecast = forecastOf({
    fit,
    source: fromPrometheus ? 'prometheus' : 'samples',
    availableBytes: stats.availableBytes,
    usedBytes: stats.usedBytes,
    maxSizeBytes: settings.maxSizeBytes,
  });
  return { forecast, usedBytes: stats.usedBytes };
}

/**
 * Decides what to do with one managed PVC. Pure: the same input always gives the same decision.
 */
export function decide(input: DecisionInput): Decision {
  const annotations = parseAnnotations(input.pvc.annotations);
  const resolved = resolveSettingsOver(input.layers, annotations.layer);
  const base: Decision = {
    action: 'skip',
    reason: 'below-threshold',
    detail: '',
    warn: false,
    unhealthy: false,
    thresholdsReached: [],
    fromBytes: input.pvc.capacityBytes,
    toBytes: undefined,
    usedRatio: undefined,
    inodesUsedRatio: undefined,
    maxSizeBytes: resolved.settings.maxSizeBytes,
    history: annotations.history,
    settings: resolved,
    group: undefined,
    historyReason: undefined,
    ...forecastFor(input, annotations, resolved.settings),
    usageSamples: annotations.usageSamples,
  };
  const context: Context = { input, annotations, resolved, base };
  for (const check of CHECKS) {
    const settled = check(context);
    if (settled !== undefined) return settled;
  }
  // checkStats let it through, so the stats were found and sound.
  if (input.stats.kind !== 'found') return skip(context, 'metrics-unavailable', 'no stats');
  return judgeUsage(context, input.stats.stats);
}
