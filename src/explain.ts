/**
 * `pvc-chonker explain NAMESPACE/NAME`: why a PVC is (not) managed, every effective setting with
 * the layer it came from, the policies and group, the latest stats, and the decision the pass
 * would make now. Read-only: the decision is the pass's own, made as a dry run limited to the PVC
 * and its group's members; the settings are the ones decide() resolved.
 */
import { decide } from './core/decision.js';
import { templateDriftOf, type TemplateDrift } from './core/drift.js';
import { formatDuration } from './core/duration.js';
import type { PvcOutcome } from './core/outcome.js';
import { formatRatio } from './core/percent.js';
import type { PvcGroup } from './core/pvc-group.js';
import { pvcKey, type PvcRef } from './core/pvc.js';
import { formatQuantity } from './core/quantity.js';
import type { ResolvedSettings, SettingName, Settings } from './core/settings.js';
import { loadOwners } from './drift.js';
import { costLines, explainCost, type CostExplanation } from './cost/explain.js';
import { govern, layersFor, loadGovernance } from './governance.js';
import { templateDriftJson, type TemplateDriftJson } from './report.js';
import { run, type RunConfig, type RunDeps } from './run.js';

export interface Explanation extends CostExplanation {
  pvc: string;
  managed: boolean;
  why: string;
  settings: { name: string; value: string; source: string }[];
  policies: { chosen: string | null; matched: string[] };
  group: { name: string; coordinationPolicy: string; size: string | null; members: number } | null;
  stats: {
    capacity: string | null;
    usedRatio: number | null;
    inodesUsedRatio: number | null;
    /** Where the usage was read (kubelet, kubelet-proxy, prometheus), or null when not asked. */
    source: string | null;
  };
  /** The provider that checks the volume (aws, gcp, azure, topolvm, longhorn, generic). */
  provider: string | null;
  decision: { action: string; reason: string; detail: string; newSize: string | null } | null;
  /** The growth forecast the decision was made with (the report's figures and its line). */
  forecast: {
    summary: string;
    growthBytesPerDay: number | null;
    daysUntilFull: number | null;
    daysUntilMaxSize: number | null;
  } | null;
  /** For a PVC created from a StatefulSet's volumeClaimTemplates. */
  templateDrift: TemplateDriftJson | null;
}

const SETTING_LABELS: Record<SettingName, string> = {
  threshold: 'threshold',
  inodesThreshold: 'inodes-threshold',
  increase: 'increase',
  minIncreaseBytes: 'min-increase',
  maxSizeBytes: 'max-size',
  cooldownMs: 'cooldown',
  waitForBackups: 'wait-for-backups',
  minRunwayMs: 'min-runway',
  expandBeforeFullMs: 'expand-before-full',
};

/** A duration that is off at 0. */
function optionalDuration(ms: number): string {
  return ms === 0 ? 'none' : formatDuration(ms);
}

/** Each setting as `explain` prints it. */
const SHOW_SETTING: { [K in SettingName]: (settings: Settings) => string } = {
  threshold: ({ threshold }) =>
    threshold.kind === 'percent' ? threshold.percent.text : `${threshold.text} free`,
  inodesThreshold: (settings) => settings.inodesThreshold.text,
  increase: ({ increase }) => (increase.kind === 'percent' ? increase.percent.text : increase.text),
  minIncreaseBytes: (settings) => formatQuantity(settings.minIncreaseBytes),
  maxSizeBytes: ({ maxSizeBytes }) =>
    maxSizeBytes === undefined ? 'none' : formatQuantity(maxSizeBytes),
  cooldownMs: (settings) => formatDuration(settings.cooldownMs),
  waitForBackups: (settings) => String(settings.waitForBackups),
  minRunwayMs: (settings) => optionalDuration(settings.minRunwayMs),
  expandBeforeFullMs: (settings) => optionalDuration(settings.expandBeforeFullMs),
};

function showSetting(name: SettingName, settings: Settings): string {
  return SHOW_SETTING[name](settings);
}

function settingsRows(resolved: ResolvedSettings): Explanation['settings'] {
  return (Object.keys(SETTING_LABELS) as SettingName[]).map((name) => ({
    name: SETTING_LABELS[name],
    value: showSetting(name, resolved.settings),
    source: resolved.sources[name],
  }));
}

function decisionOf(outcome: PvcOutcome | undefined): Explanation['decision'] {
  if (outcome === undefined) return null;
  return {
    action: outcome.action,
    reason: outcome.reason,
    detail: outcome.detail,
    newSize: outcome.newBytes === undefined ? null : formatQuantity(outcome.newBytes),
  };
}

/** The PVC's StatefulSet template, from the StatefulSets of its namespace. */
async function templateDriftFor(
  deps: RunDeps,
  config: RunConfig,
  pvc: { namespace: string; name: string; requestBytes: bigint | undefined },
): Promise<TemplateDrift | undefined> {
  if (deps.coordination === undefined) return undefined;
  try {
    const owners = await loadOwners(deps.coordination, {
      namespaces: [pvc.namespace],
      pageSize: config.pageSize,
    });
    return templateDriftOf(owners, pvc);
  } catch (error) {
    // The rest of the explanation does not depend on it.
    deps.log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'listing statefulsets failed: no templateDrift',
    );
    return undefined;
  }
}

/** Undefined when the PVC does not exist. */
export async function explain(
  deps: RunDeps,
  config: RunConfig,
  ref: PvcRef,
): Promise<Explanation | undefined> {
  const pvc = await deps.cluster.getPvc(ref);
  if (pvc === undefined) return undefined;
  const [classes, governance, drift] = await Promise.all([
    deps.cluster.listStorageClasses(),
    loadGovernance(deps.customResources, { namespaces: [], pageSize: config.pageSize }, deps.log),
    templateDriftFor(deps, config, pvc),
  ]);
  const storageClass =
    pvc.storageClassName === undefined ? undefined : classes.get(pvc.storageClassName);
  const governed = govern(governance, pvc, storageClass);
  const layers = layersFor(config.layers, governed, pvc, storageClass);
  const resolved = decide({
    pvc,
    storageClass,
    stats: { kind: 'unavailable', detail: 'not read' },
    layers: layers.layers,
    layerProblem: layers.problem,
    now: deps.now(),
  }).settings;
  const key = pvcKey(pvc);
  const groupName = governed.group?.name;
  const summary = await run(deps, {
    ...config,
    dryRun: true,
    namespaces: [],
    writesPolicyStatus: false,
    shard: (candidate, group) =>
      pvcKey(candidate) === key || (groupName !== undefined && group === groupName),
  });
  const outcome = summary.pvcs.find((o) => pvcKey(o) === key);
  return {
    pvc: key,
    managed: governed.verdict.state === 'managed',
    why: governed.verdict.why,
    settings: settingsRows(resolved),
    policies: {
      chosen:
        governed.choice.chosen === undefined
          ? null
          : `${pvc.namespace}/${governed.choice.chosen.name}`,
      matched: governed.choice.matched.map((p) => `${p.namespace}/${p.name}`),
    },
    group: groupOf(governed.group, summary.pvcs),
    ...observed(pvc.capacityBytes, outcome),
    decision: governed.verdict.state === 'managed' ? decisionOf(outcome) : null,
    forecast: forecastOf(outcome),
    templateDrift: templateDriftJson(drift),
    ...explainCost(outcome?.cost),
  };
}

/** What the pass saw of the volume: its stats and their source, and the provider that checks it. */
function observed(
  capacityBytes: bigint | undefined,
  outcome: PvcOutcome | undefined,
): Pick<Explanation, 'stats' | 'provider'> {
  return {
    stats: {
      capacity: capacityBytes === undefined ? null : formatQuantity(capacityBytes),
      usedRatio: outcome?.usedRatio ?? null,
      inodesUsedRatio: outcome?.inodesUsedRatio ?? null,
      source: outcome?.source ?? null,
    },
    provider: outcome?.provider ?? null,
  };
}

function groupOf(
  group: PvcGroup | undefined,
  outcomes: readonly PvcOutcome[],
): Explanation['group'] {
  if (group === undefined) return null;
  const size = group.status.currentSizeBytes;
  return {
    name: group.name,
    coordinationPolicy: group.coordinationPolicy,
    size: size === undefined ? null : formatQuantity(size),
    members: outcomes.filter((o) => o.group === group.name).length,
  };
}

function forecastOf(outcome: PvcOutcome | undefined): Explanation['forecast'] {
  const figures = outcome?.forecast;
  if (figures === undefined) return null;
  return {
    summary: figures.summary,
    growthBytesPerDay: figures.growthBytesPerDay ?? null,
    daysUntilFull: figures.daysUntilFull ?? null,
    daysUntilMaxSize: figures.daysUntilMaxSize ?? null,
  };
}

function ratio(value: number | null): string {
  return value === null ? '-' : formatRatio(value);
}

/** Capacity, usage and where the usage was read. */
function statsLine(stats: Explanation['stats']): string {
  const from = stats.source === null ? '' : `, from ${stats.source}`;
  return `Stats      capacity ${stats.capacity ?? '-'}, used ${ratio(stats.usedRatio)}, inodes ${ratio(stats.inodesUsedRatio)}${from}`;
}

/** The text form: aligned, within 80 columns except for long details, which wrap. */
export function formatExplanation(e: Explanation): string {
  const lines: string[] = [
    `PVC        ${e.pvc}`,
    `Managed    ${e.managed ? 'yes' : 'no'}: ${e.why}`,
    '',
  ];
  lines.push('Settings');
  for (const s of e.settings)
    lines.push(`  ${s.name.padEnd(20)}${s.value.padEnd(12)}from ${s.source}`);
  lines.push('');
  lines.push(`Policy     ${e.policies.chosen ?? 'none'}`);
  const others = e.policies.matched.slice(1);
  if (others.length > 0) lines.push(`           also matched: ${others.join(', ')}`);
  lines.push(
    e.group === null
      ? 'Group      none'
      : `Group      ${e.group.name} (${e.group.coordinationPolicy}), size ${e.group.size ?? 'unknown'}, ${e.group.members} managed members`,
  );
  lines.push(statsLine(e.stats));
  if (e.provider !== null) lines.push(`Provider   ${e.provider}`);
  if (e.forecast !== null) lines.push(`Forecast   ${e.forecast.summary}`);
  if (e.templateDrift !== null) lines.push(templateLine(e.templateDrift));
  lines.push(...decisionLines(e.decision));
  for (const { label, text } of costLines(e)) {
    const [first = '', ...rest] = wrap(text, 68);
    lines.push(`${label.padEnd(11)}${first}`, ...rest.map((part) => `           ${part}`));
  }
  return `${lines.join('\n')}\n`;
}

function decisionLines(decision: Explanation['decision']): string[] {
  if (decision === null) return ['Decision   none (not managed)'];
  const size = decision.newSize === null ? '' : ` -> ${decision.newSize}`;
  return [
    `Decision   ${decision.action} (${decision.reason})${size}`,
    ...wrap(decision.detail, 68).map((part) => `           ${part}`),
  ];
}

function templateLine(d: NonNullable<Explanation['templateDrift']>): string {
  const state = d.drifted ? 'drifted: run pvc-chonker drift' : 'in sync';
  return `Template   statefulset ${d.statefulSet}, volumeClaimTemplate ${d.template}: ${d.templateSize ?? '-'} (PVC ${d.pvcSize ?? '-'}; ${state})`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}
