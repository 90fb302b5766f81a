/**
 * The PVCGroup custom resource (cluster-scoped): a set of PVCs that stay the same size. Parsing,
 * membership, the `largest` target and the coordination of one pass are pure functions here;
 * the pass, `explain` and the admission webhook call them, never a copy.
 */
import { ANNOTATION_PREFIX } from './annotations.js';
import type { Decision } from './decision.js';
import { nextSize, resizeState } from './decision.js';
import { formatDuration, parseDuration } from './duration.js';
import { formatTime, parseTime } from './history.js';
import { isRecord } from './json.js';
import { pvcKey, type PvcRef, type PvcSnapshot } from './pvc.js';
import { readValidCondition, validCondition, type PreviousCondition } from './conditions.js';
import { describeFieldProblem } from './describe.js';
import { readObjectMeta } from './pvc-policy.js';
import { formatQuantity, maxBigint, minBigint, parseQuantity } from './quantity.js';
import type { Reason } from './outcome.js';
import {
  parseLabelSelector,
  selectorMatches,
  showValue,
  type FieldProblem,
  type LabelSelector,
} from './selector.js';

/** A PVC annotated with this names the cluster-scoped PVCGroup it belongs to. */
export const GROUP_ANNOTATION = `${ANNOTATION_PREFIX}group`;

export type CoordinationPolicy = 'largest' | 'independent';

/** status.expansionHistory keeps at most this many entries, newest last. */
export const GROUP_HISTORY_LIMIT = 10;

export interface GroupExpansionRecord {
  timestamp: Date;
  fromBytes: bigint;
  toBytes: bigint;
  /** The member that crossed its threshold, "ns/name". */
  trigger: string;
}

export interface PvcGroupStatus {
  currentSizeBytes: bigint | undefined;
  lastExpansion: Date | undefined;
  history: readonly GroupExpansionRecord[];
}

export interface PvcGroup {
  name: string;
  generation: number;
  resourceVersion: string;
  coordinationPolicy: CoordinationPolicy;
  members: readonly PvcRef[];
  /** Undefined: membership is by the member list and the annotation only. */
  selector: LabelSelector | undefined;
  /** spec.cooldown; undefined: the largest member cooldown. */
  cooldownMs: number | undefined;
  status: PvcGroupStatus;
  /** A group with problems expands none of its members (they are reported invalid-policy). */
  problems: readonly FieldProblem[];
  previousValid: PreviousCondition | undefined;
}

function readMembers(value: unknown, problems: FieldProblem[]): PvcRef[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push({ field: 'spec.members', value: showValue(value), message: 'must be a list' });
    return [];
  }
  const members: PvcRef[] = [];
  for (const [index, entry] of value.entries()) {
    const namespace = isRecord(entry) ? entry['namespace'] : undefined;
    const name = isRecord(entry) ? entry['name'] : undefined;
    if (
      typeof namespace === 'string' &&
      namespace !== '' &&
      typeof name === 'string' &&
      name !== ''
    )
      members.push({ namespace, name });
    else
      problems.push({
        field: `spec.members[${index}]`,
        value: showValue(entry),
        message: 'needs a namespace and a name',
      });
  }
  return members;
}

function readHistory(value: unknown): GroupExpansionRecord[] {
  if (!Array.isArray(value)) return [];
  // Status is ours; an entry that does not read back is dropped, never fatal.
  return value.flatMap((entry): GroupExpansionRecord[] => {
    if (!isRecord(entry)) return [];
    const { timestamp, from, to, trigger } = entry;
    if (typeof timestamp !== 'string' || typeof from !== 'string' || typeof to !== 'string')
      return [];
    const time = parseTime(timestamp);
    const fromBytes = parseQuantity(from);
    const toBytes = parseQuantity(to);
    if (!time.ok || !fromBytes.ok || !toBytes.ok) return [];
    return [
      {
        timestamp: time.value,
        fromBytes: fromBytes.value,
        toBytes: toBytes.value,
        trigger: typeof trigger === 'string' ? trigger : '',
      },
    ];
  });
}

function readStatus(value: unknown): PvcGroupStatus {
  const status = isRecord(value) ? value : {};
  const size =
    typeof status['currentSize'] === 'string' ? parseQuantity(status['currentSize']) : undefined;
  const last =
    typeof status['lastExpansion'] === 'string' ? parseTime(status['lastExpansion']) : undefined;
  return {
    currentSizeBytes: size?.ok === true ? size.value : undefined,
    lastExpansion: last?.ok === true ? last.value : undefined,
    history: readHistory(status['expansionHistory']),
  };
}

function readCooldown(value: unknown, problems: FieldProblem[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
  if (parsed?.ok === true) return parsed.value;
  const message = parsed === undefined ? 'must be a duration string (e.g. 30m)' : parsed.error;
  problems.push({ field: 'spec.cooldown', value: showValue(value), message });
  return undefined;
}

/** A PVCGroup from the API server's JSON; problems are collected, never thrown. */
export function parsePvcGroup(object: unknown): PvcGroup | undefined {
  const metadata = readObjectMeta(object);
  if (metadata === undefined || !isRecord(object)) return undefined;
  const problems: FieldProblem[] = [];
  const spec = isRecord(object['spec']) ? object['spec'] : {};
  const policy = spec['coordinationPolicy'] ?? 'largest';
  if (policy !== 'largest' && policy !== 'independent')
    problems.push({
      field: 'spec.coordinationPolicy',
      value: showValue(policy),
      message: 'must be largest or independent',
    });
  const selector = parseLabelSelector(spec['selector'], 'spec.selector');
  if (!selector.ok) problems.push(selector.error);
  return {
    name: metadata.name,
    generation: metadata.generation,
    resourceVersion: metadata.resourceVersion,
    coordinationPolicy: policy === 'independent' ? 'independent' : 'largest',
    members: readMembers(spec['members'], problems),
    selector: selector.ok ? selector.value : undefined,
    cooldownMs: readCooldown(spec['cooldown'], problems),
    status: readStatus(object['status']),
    problems,
    previousValid: readValidCondition(object['status']),
  };
}

/** Listed in spec.members, selected by spec.selector (any namespace), or annotated with the name. */
export function groupHolds(group: PvcGroup, pvc: PvcSnapshot): boolean {
  if (pvc.annotations[GROUP_ANNOTATION] === group.name) return true;
  if (group.members.some((m) => m.namespace === pvc.namespace && m.name === pvc.name)) return true;
  return selectorMatches(group.selector, pvc.labels);
}

/** The group a PVC belongs to; if several hold it, the alphabetically first name. */
export function groupOf(groups: readonly PvcGroup[], pvc: PvcSnapshot): PvcGroup | undefined {
  let found: PvcGroup | undefined;
  for (const group of groups) {
    if (groupHolds(group, pvc) && (found === undefined || group.name < found.name)) found = group;
  }
  return found;
}

export interface TargetMember {
  key: string;
  /** The member's own next size (capacity + its increase, whole Gi, capped at its max-size). */
  nextBytes: bigint;
  maxSizeBytes: bigint | undefined;
  /** The most its cloud allows, when known. */
  cloudLimitBytes?: bigint | undefined;
}

export interface GroupTarget {
  /** The largest of the members' own next sizes. */
  targetBytes: bigint;
  /** Each member's new request: the target, capped at its own max-size and cloud limit. */
  requests: ReadonlyMap<string, bigint>;
}

function largestOf(values: readonly bigint[]): bigint | undefined {
  let largest: bigint | undefined;
  for (const value of values) largest = largest === undefined ? value : maxBigint(largest, value);
  return largest;
}

/** The `largest` rule. Undefined for a group without members. */
export function groupTarget(members: readonly TargetMember[]): GroupTarget | undefined {
  if (members.length === 0) return undefined;
  const targetBytes = largestOf(members.map((member) => member.nextBytes)) ?? 0n;
  const requests = new Map<string, bigint>();
  for (const member of members) {
    let request = targetBytes;
    if (member.maxSizeBytes !== undefined) request = minBigint(request, member.maxSizeBytes);
    if (member.cloudLimitBytes !== undefined) request = minBigint(request, member.cloudLimitBytes);
    requests.set(member.key, request);
  }
  return { targetBytes, requests };
}

export interface GroupMember {
  pvc: PvcSnapshot;
  /** The member's own decision, as decide() made it. */
  decision: Decision;
}

export interface GroupPlan {
  /** One per member, in the order given. */
  decisions: Decision[];
  /** The group's size before this pass: status.currentSize or the largest member's capacity. */
  currentBytes: bigint | undefined;
  /** Set when a member crossed its threshold and the group expands. */
  expansion: { trigger: string; targetBytes: bigint } | undefined;
}

/** Member decisions the group may turn into a resize: the PVC is bound and judged sound. */
const ADJUSTABLE: ReadonlySet<Reason> = new Set<Reason>([
  'below-threshold',
  'threshold-reached',
  'cooldown',
  'max-size-reached',
  'metrics-unavailable',
  'stats-stale',
]);

function adjustable(member: GroupMember): boolean {
  return member.pvc.capacityBytes !== undefined && ADJUSTABLE.has(member.decision.reason);
}

function tagged(group: PvcGroup, decision: Decision): Decision {
  return { ...decision, group: group.name };
}

function waitFor(
  group: PvcGroup,
  members: readonly GroupMember[],
  reason: Reason,
  detail: string,
): Decision[] {
  return members.map((member): Decision =>
    adjustable(member)
      ? {
          ...tagged(group, member.decision),
          action: 'skip',
          reason,
          detail: `group ${group.name} waits: ${detail}`,
          warn: false,
          toBytes: undefined,
        }
      : tagged(group, member.decision),
  );
}

/** Why the group cannot expand now (a member resizing or failed, the group cooldown), if so. */
function groupWait(
  group: PvcGroup,
  members: readonly GroupMember[],
  now: Date,
): { reason: Reason; detail: string } | undefined {
  for (const { pvc } of members) {
    const resize = resizeState(pvc);
    if (resize === undefined) continue;
    const reason = resize.state === 'failed' ? 'resize-failed' : 'resize-in-progress';
    return { reason, detail: `member ${pvcKey(pvc)}: ${resize.detail}` };
  }
  const cooldownMs =
    group.cooldownMs ??
    Math.max(0, ...members.map((member) => member.decision.settings.settings.cooldownMs));
  const last = group.status.lastExpansion;
  if (last === undefined) return undefined;
  const since = now.getTime() - last.getTime();
  if (since >= cooldownMs) return undefined;
  return {
    reason: 'cooldown',
    detail: `last group expansion ${formatDuration(Math.max(0, since))} ago, cooldown ${formatDuration(cooldownMs)} (${formatDuration(cooldownMs - since)} left)`,
  };
}

/** A member's own detail without the size change it proposed alone (the group's replaces it). */
function usageText(decision: Decision): string {
  if (decision.toBytes === undefined) return decision.detail;
  const own = `; ${formatQuantity(decision.fromBytes ?? 0n)} -> ${formatQuantity(decision.toBytes)}`;
  return decision.detail.endsWith(own) ? decision.detail.slice(0, -own.length) : decision.detail;
}

function resized(
  group: PvcGroup,
  decision: Decision,
  change: { toBytes: bigint; reason: Reason; detail: string },
): Decision {
  const fromBytes = decision.fromBytes ?? 0n;
  if (change.toBytes <= fromBytes) {
    const atMax = decision.maxSizeBytes !== undefined && fromBytes >= decision.maxSizeBytes;
    if (!atMax) return { ...tagged(group, decision) };
    return {
      ...tagged(group, decision),
      action: 'skip',
      reason: 'max-size-reached',
      detail: `${change.detail}; already at its max-size ${formatQuantity(fromBytes)}`,
      toBytes: undefined,
      warn: true,
    };
  }
  return {
    ...tagged(group, decision),
    action: 'expand',
    reason: change.reason,
    toBytes: change.toBytes,
    historyReason: 'group',
    detail: `${change.detail}; ${formatQuantity(fromBytes)} -> ${formatQuantity(change.toBytes)}`,
  };
}

function invalidGroup(group: PvcGroup, members: readonly GroupMember[]): GroupPlan | undefined {
  const [first] = group.problems;
  if (first === undefined) return undefined;
  const detail = `PVCGroup ${group.name}: ${describeFieldProblem(first)}`;
  const decisions = members.map(({ decision }): Decision =>
    decision.action === 'error'
      ? tagged(group, decision)
      : {
          ...tagged(group, decision),
          action: 'error',
          reason: 'invalid-policy',
          detail,
          warn: true,
          toBytes: undefined,
        },
  );
  return { decisions, currentBytes: undefined, expansion: undefined };
}

function expandTogether(
  group: PvcGroup,
  members: readonly GroupMember[],
  trigger: GroupMember,
  now: Date,
): GroupPlan {
  const currentBytes = groupSize(group, members);
  const wait = groupWait(group, members, now);
  if (wait !== undefined)
    return {
      decisions: waitFor(group, members, wait.reason, wait.detail),
      currentBytes,
      expansion: undefined,
    };
  const sound = members.filter(adjustable);
  const target = groupTarget(
    sound.map(({ pvc, decision }) => ({
      key: pvcKey(pvc),
      nextBytes: nextSize(pvc.capacityBytes ?? 0n, decision.settings.settings),
      maxSizeBytes: decision.maxSizeBytes,
    })),
  );
  if (target === undefined)
    return {
      decisions: members.map((m) => tagged(group, m.decision)),
      currentBytes,
      expansion: undefined,
    };
  const triggerKey = pvcKey(trigger.pvc);
  const decisions = members.map(({ pvc, decision }) => {
    const request = target.requests.get(pvcKey(pvc));
    if (request === undefined) return tagged(group, decision);
    const crossed = decision.thresholdsReached.length > 0;
    const detail = crossed
      ? `${usageText(decision)}; group ${group.name} grows to ${formatQuantity(target.targetBytes)}`
      : `group ${group.name} grows to ${formatQuantity(target.targetBytes)} (${triggerKey} reached its threshold)`;
    return resized(group, decision, {
      toBytes: request,
      reason: crossed ? 'threshold-reached' : 'group-sync',
      detail,
    });
  });
  return {
    decisions,
    currentBytes,
    expansion: { trigger: triggerKey, targetBytes: target.targetBytes },
  };
}

/** The group's size: status.currentSize, or the largest member capacity if that is larger. */
export function groupSize(group: PvcGroup, members: readonly GroupMember[]): bigint | undefined {
  const sizes = members.flatMap(({ pvc }) =>
    pvc.capacityBytes === undefined ? [] : [pvc.capacityBytes],
  );
  if (group.status.currentSizeBytes !== undefined) sizes.push(group.status.currentSizeBytes);
  return largestOf(sizes);
}

/**
 * One pass of a group. `largest`: when a member crosses its threshold, every member is resized
 * to the group target in this pass (unless a member is resizing or failed, or the group is in
 * cooldown); otherwise members smaller than the group are raised to its size (group-sync).
 * `independent`: the members' own decisions, unchanged.
 */
export function coordinateGroup(
  group: PvcGroup,
  members: readonly GroupMember[],
  now: Date,
): GroupPlan {
  const invalid = invalidGroup(group, members);
  if (invalid !== undefined) return invalid;
  if (group.coordinationPolicy === 'independent')
    return {
      decisions: members.map((m) => tagged(group, m.decision)),
      currentBytes: groupSize(group, members),
      expansion: undefined,
    };
  const trigger = members.find(
    (member) => adjustable(member) && member.decision.thresholdsReached.length > 0,
  );
  if (trigger !== undefined) return expandTogether(group, members, trigger, now);
  const currentBytes = groupSize(group, members);
  const decisions = members.map(({ pvc, decision }) => {
    const capacity = pvc.capacityBytes;
    if (
      currentBytes === undefined ||
      capacity === undefined ||
      capacity >= currentBytes ||
      !adjustable({ pvc, decision })
    )
      return tagged(group, decision);
    const request =
      decision.maxSizeBytes === undefined
        ? currentBytes
        : minBigint(currentBytes, decision.maxSizeBytes);
    return resized(group, decision, {
      toBytes: request,
      reason: 'group-sync',
      detail: `group ${group.name} is ${formatQuantity(currentBytes)}`,
    });
  });
  return { decisions, currentBytes, expansion: undefined };
}

/** The group's status after a pass, as written through the status subresource (JSON). */
export function groupStatusAfter(
  group: PvcGroup,
  plan: GroupPlan,
  result: { memberCount: number; sizesAfter: readonly bigint[]; expanded: boolean; now: Date },
): Record<string, unknown> {
  const sizes = [...result.sizesAfter];
  if (group.status.currentSizeBytes !== undefined) sizes.push(group.status.currentSizeBytes);
  const current = largestOf(sizes);
  let history = group.status.history;
  let lastExpansion = group.status.lastExpansion;
  if (result.expanded && plan.expansion !== undefined && current !== undefined) {
    lastExpansion = result.now;
    const record = {
      timestamp: result.now,
      fromBytes: plan.currentBytes ?? current,
      toBytes: current,
      trigger: plan.expansion.trigger,
    };
    history = [...history, record].slice(-GROUP_HISTORY_LIMIT);
  }
  const status: Record<string, unknown> = {
    memberCount: result.memberCount,
    observedGeneration: group.generation,
    expansionHistory: history.map((entry) => ({
      timestamp: formatTime(entry.timestamp),
      from: formatQuantity(entry.fromBytes),
      to: formatQuantity(entry.toBytes),
      trigger: entry.trigger,
    })),
  };
  if (current !== undefined) status['currentSize'] = formatQuantity(current);
  if (lastExpansion !== undefined) status['lastExpansion'] = formatTime(lastExpansion);
  status['conditions'] = [
    validCondition(group.problems, group.generation, result.now, group.previousValid),
  ];
  return status;
}
