/**
 * The PVCPolicy custom resource (pvc-chonker.io/v1alpha1): validated from the API server's JSON
 * into typed values once, then matched against PVCs. A template field means exactly what the
 * annotation of the same name means: each one is parsed by that annotation's parser.
 */
import { isRecord } from './json.js';
import type { PvcSnapshot } from './pvc.js';
import { parseQuantity } from './quantity.js';
import { readValidCondition, validCondition, type PreviousCondition } from './conditions.js';
import { formatTime } from './history.js';
import { err, ok, type Result } from './result.js';
import {
  parseLabelSelector,
  selectorMatches,
  showValue,
  type FieldProblem,
  type LabelSelector,
} from './selector.js';
import { parseSettingsLayer, type SettingKey, type SettingsLayer } from './settings.js';

export const CRD_GROUP = 'pvc-chonker.io';
export const CRD_VERSION = 'v1alpha1';

/** Values of the `provider` annotation and template field (ProviderName plus auto-detection). */
export const PROVIDER_VALUES = ['auto', 'aws', 'gcp', 'azure', 'generic'] as const;

/** Template fields (camelCase, as in the CRD) and the annotation keys they stand for. */
export const TEMPLATE_SETTING_FIELDS = {
  threshold: 'threshold',
  inodesThreshold: 'inodes-threshold',
  increase: 'increase',
  minIncrease: 'min-increase',
  maxSize: 'max-size',
  cooldown: 'cooldown',
  waitForBackups: 'wait-for-backups',
  minRunway: 'min-runway',
  expandBeforeFull: 'expand-before-full',
} as const satisfies Record<string, SettingKey>;

type TemplateSettingField = keyof typeof TEMPLATE_SETTING_FIELDS;

/** What a policy sets beside the expansion settings: read by the providers and the webhook. */
export interface PolicyExtras {
  /** Used when a PVC is created (the admission webhook); bytes. */
  initialSizeBytes: bigint | undefined;
  provider: (typeof PROVIDER_VALUES)[number] | undefined;
  volumeType: string | undefined;
  iops: number | undefined;
  throughput: number | undefined;
}

export { describeFieldProblem } from './describe.js';

export interface PvcPolicy {
  namespace: string;
  name: string;
  generation: number;
  resourceVersion: string;
  priority: number;
  enabled: boolean;
  /** Undefined: the field is absent, and the policy selects no PVC (null-selector convention). */
  selector: LabelSelector | undefined;
  /** Undefined: every class. */
  storageClassNames: readonly string[] | undefined;
  /** The template's settings as a layer whose source is `policy:<ns>/<name>`. */
  layer: SettingsLayer;
  extras: PolicyExtras;
  /**
   * What is wrong with the spec. A policy with problems still selects its PVCs (they are reported
   * invalid-policy) unless its selector itself is broken, but it never expands anything.
   */
  problems: readonly FieldProblem[];
  /** The Valid condition as last written, so its transition time is kept. */
  previousValid: PreviousCondition | undefined;
}

export function policySource(policy: {
  namespace: string;
  name: string;
}): `policy:${string}/${string}` {
  return `policy:${policy.namespace}/${policy.name}`;
}

export function policyKey(policy: { namespace: string; name: string }): string {
  return `${policy.namespace}/${policy.name}`;
}

interface ObjectMeta {
  namespace: string;
  name: string;
  generation: number;
  resourceVersion: string;
}

/** metadata of a custom resource; undefined when it has no name (the API server never sends that). */
export function readObjectMeta(object: unknown): ObjectMeta | undefined {
  if (!isRecord(object) || !isRecord(object['metadata'])) return undefined;
  const { namespace, name, generation, resourceVersion } = object['metadata'];
  if (typeof name !== 'string' || name === '') return undefined;
  return {
    namespace: typeof namespace === 'string' ? namespace : '',
    name,
    generation: typeof generation === 'number' ? generation : 0,
    resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '',
  };
}

function optionalString(
  value: unknown,
  field: string,
  problems: FieldProblem[],
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  problems.push({ field, value: showValue(value), message: 'must be a string' });
  return undefined;
}

function positiveInteger(
  value: unknown,
  field: string,
  problems: FieldProblem[],
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  problems.push({ field, value: showValue(value), message: 'must be a whole number above 0' });
  return undefined;
}

/**
 * A template setting's text: a string as written, or a boolean (waitForBackups: false in YAML)
 * as the annotation would spell it; the setting's own parser then judges it.
 */
function settingText(value: unknown, field: string, problems: FieldProblem[]): string | undefined {
  return typeof value === 'boolean' ? String(value) : optionalString(value, field, problems);
}

function templateLayer(
  template: Record<string, unknown>,
  source: SettingsLayer['source'],
  problems: FieldProblem[],
): SettingsLayer {
  const texts: Partial<Record<SettingKey, string>> = {};
  const fieldOf = new Map<SettingKey, string>();
  for (const field of Object.keys(TEMPLATE_SETTING_FIELDS) as TemplateSettingField[]) {
    const text = settingText(template[field], `spec.template.${field}`, problems);
    if (text === undefined) continue;
    texts[TEMPLATE_SETTING_FIELDS[field]] = text;
    fieldOf.set(TEMPLATE_SETTING_FIELDS[field], `spec.template.${field}`);
  }
  const layer = parseSettingsLayer(source, texts);
  if (layer.ok) return layer.value;
  for (const bad of layer.error) {
    problems.push({
      field: fieldOf.get(bad.key) ?? bad.key,
      value: showValue(bad.value),
      message: bad.message,
    });
  }
  return { source, values: {} };
}

function readExtras(template: Record<string, unknown>, problems: FieldProblem[]): PolicyExtras {
  const initialText = optionalString(
    template['initialSize'],
    'spec.template.initialSize',
    problems,
  );
  let initialSizeBytes: bigint | undefined;
  if (initialText !== undefined) {
    const parsed = parseQuantity(initialText);
    if (parsed.ok && parsed.value > 0n) initialSizeBytes = parsed.value;
    else
      problems.push({
        field: 'spec.template.initialSize',
        value: showValue(initialText),
        message: parsed.ok ? 'must be above 0' : parsed.error,
      });
  }
  const providerText = optionalString(template['provider'], 'spec.template.provider', problems);
  const provider = PROVIDER_VALUES.find((value) => value === providerText?.toLowerCase());
  if (providerText !== undefined && provider === undefined) {
    const message = `must be one of ${PROVIDER_VALUES.join(', ')}`;
    problems.push({ field: 'spec.template.provider', value: showValue(providerText), message });
  }
  const config = template['providerConfig'] ?? {};
  const providerConfig = isRecord(config) ? config : {};
  if (!isRecord(config))
    problems.push({
      field: 'spec.template.providerConfig',
      value: showValue(config),
      message: 'must be an object',
    });
  return {
    initialSizeBytes,
    provider,
    volumeType: optionalString(
      providerConfig['volumeType'],
      'spec.template.providerConfig.volumeType',
      problems,
    ),
    iops: positiveInteger(providerConfig['iops'], 'spec.template.providerConfig.iops', problems),
    throughput: positiveInteger(
      providerConfig['throughput'],
      'spec.template.providerConfig.throughput',
      problems,
    ),
  };
}

function readStorageClassNames(value: unknown, problems: FieldProblem[]): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((entry): entry is string => typeof entry === 'string'))
    return value;
  problems.push({
    field: 'spec.storageClassNames',
    value: showValue(value),
    message: 'must be a list of strings',
  });
  return undefined;
}

function readPriority(value: unknown, problems: FieldProblem[]): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  problems.push({
    field: 'spec.priority',
    value: showValue(value),
    message: 'must be a whole number',
  });
  return 0;
}

/**
 * A volume created at initialSize could never stay within maxSize: the policy is invalid (the
 * pass and the admission webhook both read this rule from here). Only when both parsed.
 */
function checkSizes(
  template: Record<string, unknown>,
  layer: SettingsLayer,
  extras: PolicyExtras,
  problems: FieldProblem[],
): void {
  const max = layer.values.maxSizeBytes;
  const initial = extras.initialSizeBytes;
  if (max === undefined || initial === undefined || max >= initial) return;
  problems.push({
    field: 'spec.template.maxSize',
    value: showValue(template['maxSize']),
    message: `is below spec.template.initialSize ${showValue(template['initialSize'])}`,
  });
}

/**
 * A PVCPolicy from the API server's JSON. Errors are values: every problem is collected on the
 * policy (field, value, message) rather than thrown, so one bad policy never stops the pass.
 * Undefined only for an object without metadata.name.
 */
export function parsePvcPolicy(object: unknown): PvcPolicy | undefined {
  const metadata = readObjectMeta(object);
  if (metadata === undefined || !isRecord(object)) return undefined;
  const problems: FieldProblem[] = [];
  const spec = isRecord(object['spec']) ? object['spec'] : {};
  if (!isRecord(object['spec']))
    problems.push({
      field: 'spec',
      value: showValue(object['spec']),
      message: 'must be an object',
    });
  const selector = parseLabelSelector(spec['selector'], 'spec.selector');
  if (!selector.ok) problems.push(selector.error);
  const enabled = spec['enabled'] ?? true;
  if (typeof enabled !== 'boolean')
    problems.push({
      field: 'spec.enabled',
      value: showValue(enabled),
      message: 'must be true or false',
    });
  const rawTemplate = spec['template'] ?? {};
  if (!isRecord(rawTemplate))
    problems.push({
      field: 'spec.template',
      value: showValue(rawTemplate),
      message: 'must be an object',
    });
  const template = isRecord(rawTemplate) ? rawTemplate : {};
  const priority = readPriority(spec['priority'], problems);
  const storageClassNames = readStorageClassNames(spec['storageClassNames'], problems);
  const layer = templateLayer(template, policySource(metadata), problems);
  const extras = readExtras(template, problems);
  checkSizes(template, layer, extras, problems);
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    generation: metadata.generation,
    resourceVersion: metadata.resourceVersion,
    priority,
    enabled: enabled !== false,
    selector: selector.ok ? selector.value : undefined,
    storageClassNames,
    layer,
    extras,
    problems,
    previousValid: readValidCondition(object['status']),
  };
}

/** Whether the policy selects the PVC: enabled, same namespace, class listed, labels matched. */
export function policySelects(policy: PvcPolicy, pvc: PvcSnapshot): boolean {
  if (!policy.enabled || policy.namespace !== pvc.namespace) return false;
  if (
    policy.storageClassNames !== undefined &&
    !policy.storageClassNames.includes(pvc.storageClassName ?? '')
  )
    return false;
  return selectorMatches(policy.selector, pvc.labels);
}

/** Highest priority first, then the alphabetically first name. */
export function comparePolicies(a: PvcPolicy, b: PvcPolicy): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

export interface PolicyChoice {
  /** The policy whose template applies, if any selected the PVC. */
  chosen: PvcPolicy | undefined;
  /** Every policy that selected the PVC, the chosen one first. */
  matched: readonly PvcPolicy[];
}

/**
 * Policies grouped so that a PVC is checked against only those that could select it: each
 * policy with matchLabels is filed under one of its pairs (a PVC without that label and value
 * cannot match it); the others are always checked. choosePolicy still decides on the result.
 */
export interface PolicyIndex {
  readonly always: readonly PvcPolicy[];
  /** `key=value` of one matchLabels pair → the policies filed under it. */
  readonly byLabel: ReadonlyMap<string, readonly PvcPolicy[]>;
}

function labelKey(key: string, value: string): string {
  // A label key cannot contain '=', so the pair is unambiguous.
  return `${key}=${value}`;
}

export function indexPolicies(policies: readonly PvcPolicy[]): PolicyIndex {
  const always: PvcPolicy[] = [];
  const byLabel = new Map<string, PvcPolicy[]>();
  for (const policy of policies) {
    const [pair] = Object.entries(policy.selector?.matchLabels ?? {});
    if (pair === undefined) {
      always.push(policy);
      continue;
    }
    const key = labelKey(pair[0], pair[1]);
    const filed = byLabel.get(key);
    if (filed === undefined) byLabel.set(key, [policy]);
    else filed.push(policy);
  }
  return { always, byLabel };
}

/** A superset of the indexed policies that select a PVC with these labels. */
export function policyCandidates(
  index: PolicyIndex,
  labels: Readonly<Record<string, string>>,
): PvcPolicy[] {
  const candidates = [...index.always];
  for (const [key, value] of Object.entries(labels)) {
    const filed = index.byLabel.get(labelKey(key, value));
    if (filed !== undefined) candidates.push(...filed);
  }
  return candidates;
}

/** The policy that governs a PVC, and the others that also selected it. */
export function choosePolicy(policies: readonly PvcPolicy[], pvc: PvcSnapshot): PolicyChoice {
  const matched = policies.filter((policy) => policySelects(policy, pvc)).sort(comparePolicies);
  return { chosen: matched[0], matched };
}

/** A policy's problems as one Result: its settings layer, or the first problem. */
export function policyLayer(policy: PvcPolicy): Result<SettingsLayer, FieldProblem> {
  const [first] = policy.problems;
  return first === undefined ? ok(policy.layer) : err(first);
}

/** The status written after a pass: how many PVCs the policy selected and whether it is valid. */
export function policyStatus(
  policy: PvcPolicy,
  matchedPvcs: number,
  now: Date,
): Record<string, unknown> {
  return {
    observedGeneration: policy.generation,
    matchedPVCs: matchedPvcs,
    lastEvaluated: formatTime(now),
    conditions: [validCondition(policy.problems, policy.generation, now, policy.previousValid)],
  };
}
