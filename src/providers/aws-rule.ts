/**
 * The EBS modification rate rule, evaluated purely from DescribeVolumesModifications' latest
 * modification and the PVC's own expansion history. AWS refuses a ModifyVolume that breaks it
 * (VolumeModificationRateExceeded, IncorrectModificationState) and the CSI resizer then retries
 * with backoff; asking only when the rule allows keeps the PVC out of ControllerResizeError.
 */
import type { AwsModificationRule, HistoryEntry } from './types.js';

const HOUR_MS = 3_600_000;
/** Older ModifyVolume reference: one modification per volume per 6 hours. */
export const AWS_COOLDOWN_MS = 6 * HOUR_MS;
/** Current ModifyVolume reference: at most 4 modifications per volume in a rolling 24 hours. */
export const AWS_WINDOW_MS = 24 * HOUR_MS;
export const AWS_MAX_PER_WINDOW = 4;
/**
 * A history entry records when pvc-chonker patched the PVC; the resizer's ModifyVolume starts
 * seconds to minutes later. Within this distance they are taken to be the same modification.
 */
const SAME_MODIFICATION_MS = 15 * 60_000;

/** The latest modification of one volume, as DescribeVolumesModifications reports it. */
export interface EbsModification {
  volumeId: string;
  /** modifying | optimizing | completed | failed. */
  state: string | undefined;
  startTime: Date | undefined;
  endTime: Date | undefined;
  /** 0-100. */
  progress: number | undefined;
  targetSizeGib: number | undefined;
}

export type RuleOutcome =
  | { allowed: true; warnings: string[] }
  | { allowed: false; detail: string; retryAt: Date | undefined };

interface Refusal {
  detail: string;
  retryAt: Date | undefined;
}

function later(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

function addMs(time: Date, ms: number): Date {
  return new Date(time.getTime() + ms);
}

/** Start times of the modifications we know of: the history plus the API's latest if unmatched. */
export function knownModificationTimes(
  history: readonly HistoryEntry[],
  modification: EbsModification | undefined,
): Date[] {
  const times = history.map((h) => h.time);
  const start = modification?.startTime;
  if (start !== undefined) {
    const matched = times.some(
      (t) => Math.abs(t.getTime() - start.getTime()) <= SAME_MODIFICATION_MS,
    );
    if (!matched) times.push(start);
  }
  return times.sort((a, b) => a.getTime() - b.getTime());
}

function inProgressRefusal(
  rule: AwsModificationRule,
  modification: EbsModification | undefined,
  now: Date,
): Refusal | undefined {
  const state = modification?.state;
  // 'modifying' blocks under every rule; 'optimizing' is not yet "completed" for the current rule.
  const blocks = state === 'modifying' || (state === 'optimizing' && rule !== 'legacy');
  if (!blocks || modification === undefined) return undefined;
  const start = modification.startTime;
  const progress = modification.progress === undefined ? '' : `, ${modification.progress}%`;
  const since = start === undefined ? '' : ` since ${start.toISOString()}`;
  const cooldownEnd =
    start === undefined || rule === 'current' ? undefined : addMs(start, AWS_COOLDOWN_MS);
  return {
    detail: `EBS volume ${modification.volumeId} has a modification in progress (${state}${progress})${since}`,
    retryAt: cooldownEnd !== undefined && cooldownEnd > now ? cooldownEnd : undefined,
  };
}

function cooldownRefusal(volumeId: string, times: readonly Date[], now: Date): Refusal | undefined {
  const last = times[times.length - 1];
  if (last === undefined) return undefined;
  const end = addMs(last, AWS_COOLDOWN_MS);
  if (end <= now) return undefined;
  return {
    detail: `EBS volume ${volumeId} was last modified at ${last.toISOString()}; one modification per 6 h`,
    retryAt: end,
  };
}

function windowRefusal(volumeId: string, times: readonly Date[], now: Date): Refusal | undefined {
  const since = now.getTime() - AWS_WINDOW_MS;
  const recent = times.filter((t) => t.getTime() > since);
  if (recent.length < AWS_MAX_PER_WINDOW) return undefined;
  // The window frees a slot when the oldest modification that keeps it full leaves it.
  const freeing = recent[recent.length - AWS_MAX_PER_WINDOW];
  return {
    detail: `EBS volume ${volumeId} was modified ${recent.length} times in the last 24 h; at most ${AWS_MAX_PER_WINDOW}`,
    retryAt: freeing === undefined ? undefined : addMs(freeing, AWS_WINDOW_MS),
  };
}

/**
 * May the volume be modified now? `strict` applies the 6-hour cooldown and the 4-per-24-h window
 * together; `current` only the window (and completion); `legacy` only the cooldown.
 */
export interface RuleInput {
  rule: AwsModificationRule;
  volumeId: string;
  /** The latest modification from DescribeVolumesModifications; undefined if never modified. */
  modification: EbsModification | undefined;
  history: readonly HistoryEntry[];
}

export function evaluateModificationRule(input: RuleInput, now: Date): RuleOutcome {
  const { rule, volumeId, modification, history } = input;
  const times = knownModificationTimes(history, modification);
  const refusals = [
    inProgressRefusal(rule, modification, now),
    rule === 'current' ? undefined : cooldownRefusal(volumeId, times, now),
    rule === 'legacy' ? undefined : windowRefusal(volumeId, times, now),
  ].filter((r): r is Refusal => r !== undefined);
  if (refusals.length > 0) {
    return {
      allowed: false,
      detail: refusals.map((r) => r.detail).join('; '),
      retryAt: refusals.reduce<Date | undefined>((acc, r) => later(acc, r.retryAt), undefined),
    };
  }
  const warnings =
    modification?.state === 'failed'
      ? [`the last modification of EBS volume ${volumeId} failed`]
      : [];
  return { allowed: true, warnings };
}
