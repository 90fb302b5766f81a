import { describeProblem, parseAnnotations } from './annotations.js';
import { formatDuration } from './duration.js';
import type { ExpansionRecord } from './history.js';
import type { Reason, ThresholdType } from './outcome.js';
import { percentOf, ratio, reachesPercent } from './percent.js';
import type { PvcSnapshot, StatsLookup, StorageClassInfo, VolumeStats } from './pvc.js';
import { formatQuantity, maxBigint, minBigint, MiB, roundUpToGiB } from './quantity.js';
import { resolveSettings, type Settings, type SettingsLayer } from './settings.js';

/** Everything one PVC's decision depends on. No I/O happens past this point. */
export interface DecisionInput {
  pvc: PvcSnapshot;
  storageClass: StorageClassInfo | undefined;
  stats: StatsLookup;
  /** Layers below the PVC's annotations: built-in defaults, global flags, (later) PVCPolicy. */
  layers: readonly SettingsLayer[];
  now: Date;
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
}

/** Stats this far below status.capacity mean the kubelet has not seen the last resize yet. */
function staleMarginBytes(capacityBytes: bigint): bigint {
  return maxBigint(capacityBytes / 25n, 512n * MiB);
}

const RESIZE_FAILED_CONDITIONS = new Set(['ControllerResizeError', 'NodeResizeError']);
const RESIZING_CONDITIONS = new Set(['Resizing', 'FileSystemResizePending']);
const RESIZING_STATUSES = new Set(['ControllerResizeInProgress', 'NodeResizePending', 'NodeResizeInProgress']);

/** Why a resize is failed or still in flight, or undefined when the PVC is at rest. */
export function resizeState(pvc: PvcSnapshot): { state: 'failed' | 'in-progress'; detail: string } | undefined {
  const failedCondition = pvc.conditionTypes.find((type) => RESIZE_FAILED_CONDITIONS.has(type));
  if (pvc.allocatedResourceStatus?.endsWith('Infeasible') === true || failedCondition !== undefined) {
    return { state: 'failed', detail: `resize failed: ${pvc.allocatedResourceStatus ?? failedCondition ?? ''}` };
  }
  if (pvc.requestBytes !== undefined && pvc.capacityBytes !== undefined && pvc.requestBytes > pvc.capacityBytes) {
    return {
      state: 'in-progress',
      detail: `requested ${formatQuantity(pvc.requestBytes)}, capacity still ${formatQuantity(pvc.capacityBytes)}`,
    };
  }
  const condition = pvc.conditionTypes.find((type) => RESIZING_CONDITIONS.has(type));
  if (condition !== undefined) return { state: 'in-progress', detail: `condition ${condition}` };
  if (pvc.allocatedResourceStatus !== undefined && RESIZING_STATUSES.has(pvc.allocatedResourceStatus)) {
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

function percentText(value: number): string {
  return `${(Math.floor(value * 1000) / 10).toString()}%`;
}

/** Which thresholds the stats cross, with the comparison spelled out. */
function measureUsage(stats: VolumeStats, settings: Settings): Usage {
  const used = stats.capacityBytes - stats.availableBytes;
  const usedRatio = ratio(used, stats.capacityBytes);
  const reached: ThresholdType[] = [];
  const parts: string[] = [];
  if (settings.threshold.kind === 'percent') {
    const hit = reachesPercent(used, stats.capacityBytes, settings.threshold.percent);
    if (hit) reached.push('storage');
    parts.push(`used ${percentText(usedRatio)} ${hit ? '>=' : '<'} ${settings.threshold.percent.text}`);
  } else {
    const hit = stats.availableBytes < settings.threshold.bytes;
    if (hit) reached.push('storage');
    parts.push(`free ${formatQuantity(stats.availableBytes)} ${hit ? '<' : '>='} ${settings.threshold.text}`);
  }
  let inodesUsedRatio: number | undefined;
  if (stats.inodes !== undefined && stats.inodesUsed !== undefined && stats.inodes > 0n) {
    inodesUsedRatio = ratio(stats.inodesUsed, stats.inodes);
    const hit = reachesPercent(stats.inodesUsed, stats.inodes, settings.inodesThreshold);
    if (hit) reached.push('inodes');
    parts.push(`inodes ${percentText(inodesUsedRatio)} ${hit ? '>=' : '<'} ${settings.inodesThreshold.text}`);
  }
  return { usedRatio, inodesUsedRatio, reached, detail: parts.join(', ') };
}

/** capacity + max(increase, min-increase), rounded up to a whole Gi, capped at max-size. */
export function nextSize(capacityBytes: bigint, settings: Settings): bigint {
  const step =
    settings.increase.kind === 'percent'
      ? percentOf(capacityBytes, settings.increase.percent)
      : settings.increase.bytes;
  const grown = roundUpToGiB(capacityBytes + maxBigint(step, settings.minIncreaseBytes));
  return settings.maxSizeBytes === undefined ? grown : minBigint(grown, settings.maxSizeBytes);
}

function invalidStats(stats: VolumeStats): string | undefined {
  if (stats.capacityBytes <= 0n) return `kubelet reports capacityBytes ${stats.capacityBytes}`;
  if (stats.availableBytes < 0n) return `kubelet reports availableBytes ${stats.availableBytes}`;
  return undefined;
}

/**
 * Decides what to do with one managed PVC. Pure: the same input always gives the same decision.
 * The checks run in order; the first that holds is the reason.
 */
export function decide(input: DecisionInput): Decision {
  const { pvc, storageClass, stats, now } = input;
  const annotations = parseAnnotations(pvc.annotations);
  const { settings, sources } = resolveSettings([...input.layers, annotations.layer]);
  const base: Decision = {
    action: 'skip',
    reason: 'below-threshold',
    detail: '',
    warn: false,
    unhealthy: false,
    thresholdsReached: [],
    fromBytes: pvc.capacityBytes,
    toBytes: undefined,
    usedRatio: undefined,
    inodesUsedRatio: undefined,
    maxSizeBytes: settings.maxSizeBytes,
    history: annotations.history,
  };
  const skip = (reason: Reason, detail: string, warn = false): Decision => ({ ...base, reason, detail, warn });

  const [problem] = annotations.problems;
  if (problem !== undefined) {
    return { ...base, action: 'error', reason: 'invalid-annotation', detail: describeProblem(problem), warn: true };
  }
  if (pvc.phase !== 'Bound' || pvc.capacityBytes === undefined) {
    return skip('not-bound', pvc.phase === 'Bound' ? 'no status.capacity yet' : `phase ${pvc.phase ?? 'unknown'}`);
  }
  const capacityBytes = pvc.capacityBytes;
  if (sources.maxSizeBytes === 'annotation' && settings.maxSizeBytes !== undefined && settings.maxSizeBytes < capacityBytes) {
    const detail = `pvc-chonker.io/max-size: ${formatQuantity(settings.maxSizeBytes)} is below the current size ${formatQuantity(capacityBytes)}`;
    return { ...base, action: 'error', reason: 'invalid-annotation', detail, warn: true };
  }
  const resize = resizeState(pvc);
  if (resize?.state === 'failed') {
    return { ...base, action: 'error', reason: 'resize-failed', detail: resize.detail, warn: true, unhealthy: true };
  }
  if (resize?.state === 'in-progress') return skip('resize-in-progress', resize.detail);
  if (storageClass?.allowVolumeExpansion !== true) {
    const detail =
      storageClass === undefined
        ? `StorageClass "${pvc.storageClassName ?? ''}" not found`
        : `StorageClass ${storageClass.name} does not set allowVolumeExpansion: true`;
    return skip('expansion-not-allowed', detail, true);
  }
  if (pvc.volumeMode === 'Block') return skip('block-mode', 'Block-mode volumes have no filesystem stats');
  if (stats.kind === 'unavailable') return skip('metrics-unavailable', stats.detail);
  const statsProblem = invalidStats(stats.stats);
  if (statsProblem !== undefined) return skip('metrics-unavailable', statsProblem);
  if (stats.stats.capacityBytes < capacityBytes - staleMarginBytes(capacityBytes)) {
    return skip(
      'stats-stale',
      `kubelet capacity ${formatQuantity(stats.stats.capacityBytes)} is well below status.capacity ${formatQuantity(capacityBytes)}; the kubelet has not seen the last resize`,
    );
  }

  const usage = measureUsage(stats.stats, settings);
  const measured: Decision = {
    ...base,
    usedRatio: usage.usedRatio,
    inodesUsedRatio: usage.inodesUsedRatio,
    thresholdsReached: usage.reached,
  };
  if (usage.reached.length === 0) return { ...measured, reason: 'below-threshold', detail: usage.detail };

  const toBytes = nextSize(capacityBytes, settings);
  const wanted: Decision = { ...measured, toBytes };
  const sinceLast = annotations.lastExpansion === undefined ? undefined : now.getTime() - annotations.lastExpansion.getTime();
  if (sinceLast !== undefined && sinceLast < settings.cooldownMs) {
    const detail = `${usage.detail}; last expansion ${formatDuration(Math.max(0, sinceLast))} ago, cooldown ${formatDuration(settings.cooldownMs)} (${formatDuration(settings.cooldownMs - sinceLast)} left)`;
    return { ...wanted, reason: 'cooldown', detail };
  }
  if (toBytes <= capacityBytes) {
    const detail = `${usage.detail}; already at max-size ${formatQuantity(settings.maxSizeBytes ?? capacityBytes)}`;
    return { ...wanted, toBytes: undefined, reason: 'max-size-reached', detail, warn: true };
  }
  const detail = `${usage.detail}; ${formatQuantity(capacityBytes)} -> ${formatQuantity(toBytes)}`;
  return { ...wanted, action: 'expand', reason: 'threshold-reached', detail };
}
