/**
 * The pass's side of PVCPolicies and PVCGroups: list them once each, say for every PVC whether it
 * is managed and by which policy and group, coordinate the groups' decisions, and write their
 * status afterwards. The rules themselves are the pure ones in core/; this module only carries
 * data to and from them.
 */
import type { Logger } from 'pino';
import type { Decision } from './core/decision.js';
import { kept } from './core/kept.js';
import {
  managementOf,
  PROVIDER_KEYS,
  pvcLayers,
  type ManagementVerdict,
  type PvcLayers,
} from './core/layers.js';
import {
  coordinateGroup,
  groupOf,
  groupStatusAfter,
  parsePvcGroup,
  type GroupPlan,
  type PvcGroup,
} from './core/pvc-group.js';
import {
  choosePolicy,
  parsePvcPolicy,
  policyKey,
  policySelects,
  policyStatus,
  type PolicyChoice,
  type PvcPolicy,
} from './core/pvc-policy.js';
import type { PvcSnapshot, StorageClassInfo } from './core/pvc.js';
import type { SettingsLayer } from './core/settings.js';
import type { CustomResourceRef, CustomResources } from './ports.js';

export interface Governance {
  policies: readonly PvcPolicy[];
  groups: readonly PvcGroup[];
}

export const NO_GOVERNANCE: Governance = { policies: [], groups: [] };

/**
 * Lists PVCPolicies and PVCGroups once each. A 404 (CRDs not installed) is normal: one info
 * line, and the pass goes on with annotations and class defaults. Any other failure throws,
 * since acting without the policies would apply the wrong settings.
 */
export async function loadGovernance(
  resources: CustomResources | undefined,
  scope: { namespaces: readonly string[]; pageSize: number },
  log: Logger,
): Promise<Governance> {
  if (resources === undefined) return NO_GOVERNANCE;
  const [policies, groups] = await Promise.all([
    resources.listPvcPolicies(scope.namespaces, scope.pageSize),
    resources.listPvcGroups(scope.pageSize),
  ]);
  if (!policies.installed || !groups.installed)
    log.info(
      { pvcpolicies: policies.installed, pvcgroups: groups.installed },
      'pvc-chonker custom resources not installed; using annotations and StorageClass defaults',
    );
  const parsedPolicies = policies.installed
    ? policies.items.flatMap((item) => parsePvcPolicy(item) ?? [])
    : [];
  const parsedGroups = groups.installed
    ? groups.items.flatMap((item) => parsePvcGroup(item) ?? [])
    : [];
  for (const policy of parsedPolicies.filter((p) => p.problems.length > 0))
    log.warn(
      { policy: policyKey(policy), problems: policy.problems },
      'invalid pvcpolicy: the PVCs it selects are not expanded',
    );
  for (const group of parsedGroups.filter((g) => g.problems.length > 0))
    log.warn(
      { group: group.name, problems: group.problems },
      'invalid pvcgroup: its members are not expanded',
    );
  return { policies: parsedPolicies, groups: parsedGroups };
}

/** What the policies and groups say about one PVC. */
export interface Governed {
  verdict: ManagementVerdict;
  choice: PolicyChoice;
  group: PvcGroup | undefined;
}

export function govern(
  governance: Governance,
  pvc: PvcSnapshot,
  storageClass: StorageClassInfo | undefined,
): Governed {
  const choice = choosePolicy(governance.policies, pvc);
  const group = groupOf(governance.groups, pvc);
  const verdict = managementOf({ pvc, storageClass, policy: choice.chosen, group: group?.name });
  return { verdict, choice, group };
}

/** The layers below the PVC's annotations: the run's own (global flags), class, policy. */
export function layersFor(
  base: readonly SettingsLayer[],
  governed: Governed,
  pvc: PvcSnapshot,
  storageClass: StorageClassInfo | undefined,
): PvcLayers {
  const built = pvcLayers({ flags: NO_FLAGS, storageClass, policy: governed.choice.chosen, pvc });
  // The array is this call's own: its placeholder first layer becomes the run's base layers.
  built.layers.splice(0, 1, ...base);
  return built;
}

/** The placeholder pvcLayers puts first, replaced by the run's base layers. */
const NO_FLAGS: SettingsLayer = { source: 'flag', values: {} };

function setsProviderKey(pvc: PvcSnapshot): boolean {
  for (const key of PROVIDER_KEYS) if (pvc.annotations[key] !== undefined) return true;
  return false;
}

/**
 * layersFor for every PVC of a pass, built once per StorageClass and chosen policy: a PVC that
 * sets no provider key of its own has the same layers as every other PVC of its class and
 * policy, so thousands of PVCs share a few (read-only) PvcLayers, and the settings resolved
 * from them (resolveSettingsOver) are resolved once per class and policy too.
 */
export function sharedLayers(
  base: readonly SettingsLayer[],
): (governed: Governed, pvc: PvcSnapshot, storageClass: StorageClassInfo | undefined) => PvcLayers {
  const built = new Map<StorageClassInfo | undefined, Map<PvcPolicy | undefined, PvcLayers>>();
  return (governed, pvc, storageClass) => {
    if (setsProviderKey(pvc)) return layersFor(base, governed, pvc, storageClass);
    const byPolicy = kept(built, storageClass, () => new Map<PvcPolicy | undefined, PvcLayers>());
    return kept(byPolicy, governed.choice.chosen, () =>
      layersFor(base, governed, pvc, storageClass),
    );
  };
}

/** Counts, per policy, the listed PVCs it selects (status.matchedPVCs). */
export function countMatches(
  governance: Governance,
  pvc: PvcSnapshot,
  counts: Map<string, number>,
): void {
  for (const policy of governance.policies) {
    if (policySelects(policy, pvc))
      counts.set(policyKey(policy), (counts.get(policyKey(policy)) ?? 0) + 1);
  }
}

export interface GroupedItem {
  pvc: PvcSnapshot;
  decision: Decision;
  group: PvcGroup | undefined;
}

/** Coordinates each group's members; other decisions pass through. Plans are keyed by group. */
export function coordinateGroups(
  items: readonly GroupedItem[],
  now: Date,
): { decisions: Decision[]; plans: Map<string, { group: PvcGroup; plan: GroupPlan }> } {
  const decisions = items.map((item) => item.decision);
  const byGroup = new Map<string, { group: PvcGroup; indexes: number[] }>();
  items.forEach((item, index) => {
    if (item.group === undefined) return;
    const entry = byGroup.get(item.group.name) ?? { group: item.group, indexes: [] };
    entry.indexes.push(index);
    byGroup.set(item.group.name, entry);
  });
  const plans = new Map<string, { group: PvcGroup; plan: GroupPlan }>();
  for (const { group, indexes } of byGroup.values()) {
    const members = indexes.flatMap((i) => {
      const item = items[i];
      return item === undefined ? [] : [{ pvc: item.pvc, decision: item.decision }];
    });
    const plan = coordinateGroup(group, members, now);
    plan.decisions.forEach((decision, j) => {
      const index = indexes[j];
      if (index !== undefined) decisions[index] = decision;
    });
    plans.set(group.name, { group, plan });
  }
  return { decisions, plans };
}

/** One member after the writes: its request and whether the group expanded it. */
export interface MemberResult {
  pvc: PvcSnapshot;
  expandedByGroup: boolean;
}

async function writeOnce(
  resources: CustomResources,
  ref: CustomResourceRef,
  build: (
    object: unknown,
  ) => { resourceVersion: string; status: Record<string, unknown> } | undefined,
  first: unknown,
): Promise<string> {
  let object = first;
  for (let attempt = 0; attempt < 2; attempt++) {
    const built = build(object);
    if (built === undefined) return 'not-found';
    const outcome = await resources.writeStatus(ref, built.resourceVersion, built.status);
    if (outcome !== 'conflict') return outcome;
    // 409: someone else wrote it; read it again and retry once.
    object = await resources.get(ref);
    if (object === undefined) return 'not-found';
  }
  return 'conflict';
}

export interface StatusWrites {
  policies: boolean;
  matchCounts: ReadonlyMap<string, number>;
  plans: ReadonlyMap<string, { group: PvcGroup; plan: GroupPlan }>;
  members: ReadonlyMap<string, readonly MemberResult[]>;
  now: Date;
}

function groupBuild(
  entry: { group: PvcGroup; plan: GroupPlan },
  members: readonly MemberResult[],
  now: Date,
): (object: unknown) => { resourceVersion: string; status: Record<string, unknown> } | undefined {
  return (object) => {
    const group = object === undefined ? entry.group : parsePvcGroup(object);
    if (group === undefined) return undefined;
    const sizesAfter = members.flatMap(({ pvc }) =>
      pvc.requestBytes === undefined ? [] : [pvc.requestBytes],
    );
    const status = groupStatusAfter(group, entry.plan, {
      memberCount: members.length,
      sizesAfter,
      expanded: members.some((member) => member.expandedByGroup),
      now,
    });
    return { resourceVersion: group.resourceVersion, status };
  };
}

/** Status of the policies (when this run owns them) and of the groups this run coordinated. */
export async function writeStatuses(
  resources: CustomResources | undefined,
  governance: Governance,
  writes: StatusWrites,
  log: Logger,
): Promise<void> {
  if (resources === undefined) return;
  const jobs: Promise<void>[] = [];
  const guarded = async (ref: CustomResourceRef, job: () => Promise<string>): Promise<void> => {
    try {
      const outcome = await job();
      if (outcome !== 'written') log.warn({ ...ref, outcome }, 'status not written');
    } catch (error) {
      log.warn(
        { ...ref, err: error instanceof Error ? error.message : String(error) },
        'status write failed',
      );
    }
  };
  if (writes.policies) {
    for (const policy of governance.policies) {
      const ref: CustomResourceRef = {
        kind: 'pvcpolicies',
        namespace: policy.namespace,
        name: policy.name,
      };
      const build = (
        object: unknown,
      ): { resourceVersion: string; status: Record<string, unknown> } | undefined => {
        const current = object === undefined ? policy : parsePvcPolicy(object);
        if (current === undefined) return undefined;
        const matched = writes.matchCounts.get(policyKey(current)) ?? 0;
        return {
          resourceVersion: current.resourceVersion,
          status: policyStatus(current, matched, writes.now),
        };
      };
      jobs.push(guarded(ref, () => writeOnce(resources, ref, build, undefined)));
    }
  }
  for (const [name, entry] of writes.plans) {
    const ref: CustomResourceRef = { kind: 'pvcgroups', namespace: undefined, name };
    const build = groupBuild(entry, writes.members.get(name) ?? [], writes.now);
    jobs.push(guarded(ref, () => writeOnce(resources, ref, build, undefined)));
  }
  await Promise.all(jobs);
}
