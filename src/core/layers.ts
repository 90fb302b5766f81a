/**
 * Which PVCs are managed, and the settings layers below a PVC's own annotations: built-in
 * defaults < global flags < StorageClass annotations < the chosen PVCPolicy's template. The pass,
 * `explain` and the admission webhook all build layers here, so a value has one meaning and one
 * source wherever it is shown.
 */
import { ANNOTATION_PREFIX, ANNOTATIONS } from './annotations.js';
import type { Reason } from './outcome.js';
import { kept } from './kept.js';
import type { PvcPolicy } from './pvc-policy.js';
import { describeFieldProblem, policySource } from './pvc-policy.js';
import type { PvcSnapshot, StorageClassInfo } from './pvc.js';
import {
  parseSettingsLayer,
  SETTING_PARSERS,
  type SettingKey,
  type SettingsLayer,
  type SettingsSource,
} from './settings.js';

export type ManagementState = 'managed' | 'not-enabled' | 'disabled';

export interface ManagementVerdict {
  state: ManagementState;
  /** What opts the PVC in: 'annotation', 'policy:ns/name', 'group:name', 'storageclass:name'. */
  optedInBy: readonly string[];
  /** One sentence for `explain`. */
  why: string;
}

export interface ManagementInput {
  pvc: PvcSnapshot;
  storageClass: StorageClassInfo | undefined;
  /** The enabled policy that selected the PVC (policy choice already skips disabled ones). */
  policy: PvcPolicy | undefined;
  /** The PVCGroup the PVC belongs to. */
  group: string | undefined;
}

/**
 * A PVC is managed when its enabled annotation is "true", an enabled PVCPolicy selects it, it is a
 * PVCGroup member, or its StorageClass is annotated enabled "true"; its own enabled "false"
 * always wins.
 */
export function managementOf(input: ManagementInput): ManagementVerdict {
  const own = input.pvc.annotations[ANNOTATIONS.enabled];
  if (own === 'false')
    return {
      state: 'disabled',
      optedInBy: [],
      why: `the PVC is annotated ${ANNOTATIONS.enabled}: "false", which always wins`,
    };
  // Most managed PVCs of a fleet: one verdict shared by all of them.
  if (own === 'true' && byAnnotationOnly(input)) return BY_ANNOTATION;
  const optedInBy: string[] = [];
  if (own === 'true') optedInBy.push('annotation');
  if (input.policy !== undefined) optedInBy.push(policySource(input.policy));
  if (input.group !== undefined) optedInBy.push(`group:${input.group}`);
  if (input.storageClass?.annotations[ANNOTATIONS.enabled] === 'true')
    optedInBy.push(`storageclass:${input.storageClass.name}`);
  if (optedInBy.length === 0)
    return {
      state: 'not-enabled',
      optedInBy,
      why: 'no enabled annotation, no PVCPolicy selects it, no PVCGroup holds it, and its StorageClass is not enabled',
    };
  return { state: 'managed', optedInBy, why: `opted in by ${optedInBy.join(', ')}` };
}

/** Nothing but the PVC's own enabled annotation could opt it in. */
function byAnnotationOnly(input: ManagementInput): boolean {
  return (
    input.policy === undefined &&
    input.group === undefined &&
    input.storageClass?.annotations[ANNOTATIONS.enabled] !== 'true'
  );
}

const BY_ANNOTATION: ManagementVerdict = {
  state: 'managed',
  optedInBy: ['annotation'],
  why: 'opted in by annotation',
};

/** Why no decision can be made from the layers: reported as the PVC's error. */
export interface LayerProblem {
  reason: Extract<Reason, 'invalid-policy' | 'invalid-annotation'>;
  detail: string;
}

export interface PvcLayers {
  /** Layers below the PVC's own annotations, in order. */
  layers: SettingsLayer[];
  problem: LayerProblem | undefined;
  /** provider / aws-volume-type as the layers set them (the PVC's own annotations win). */
  providerAnnotations: Readonly<Record<string, string>>;
  /** Where each of providerAnnotations came from. */
  providerSources: Readonly<Record<string, SettingsSource>>;
}

/** The annotations a layer may set for the providers (provider, aws-volume-type). */
export const PROVIDER_KEYS = [ANNOTATIONS.provider, ANNOTATIONS.awsVolumeType] as const;

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_PARSERS, key);
}

interface ClassLayer {
  layer: SettingsLayer;
  problem: LayerProblem | undefined;
}

/** Per StorageClass object: a pass builds the layers of thousands of PVCs from a few classes. */
const classLayers = new WeakMap<StorageClassInfo, ClassLayer>();

/** A StorageClass's pvc-chonker.io/* setting annotations as a layer; bad values are problems. */
export function storageClassLayer(storageClass: StorageClassInfo): ClassLayer {
  return kept(classLayers, storageClass, () => buildClassLayer(storageClass));
}

function buildClassLayer(storageClass: StorageClassInfo): ClassLayer {
  const source: SettingsSource = `storageclass:${storageClass.name}`;
  const texts: Partial<Record<SettingKey, string>> = {};
  for (const [fullKey, value] of Object.entries(storageClass.annotations)) {
    const key = fullKey.startsWith(ANNOTATION_PREFIX)
      ? fullKey.slice(ANNOTATION_PREFIX.length)
      : '';
    if (isSettingKey(key)) texts[key] = value;
  }
  const parsed = parseSettingsLayer(source, texts);
  if (parsed.ok) return { layer: parsed.value, problem: undefined };
  const [first] = parsed.error;
  const detail = `StorageClass ${storageClass.name}: ${ANNOTATION_PREFIX}${first?.key ?? ''}: ${first?.message ?? ''}`;
  return { layer: { source, values: {} }, problem: { reason: 'invalid-annotation', detail } };
}

function policyProviderAnnotations(policy: PvcPolicy): Record<string, string> {
  const values: Record<string, string> = {};
  if (policy.extras.provider !== undefined) values[ANNOTATIONS.provider] = policy.extras.provider;
  if (policy.extras.volumeType !== undefined)
    values[ANNOTATIONS.awsVolumeType] = policy.extras.volumeType;
  return values;
}

export interface LayersInput {
  /** The global flags' layer. */
  flags: SettingsLayer;
  storageClass: StorageClassInfo | undefined;
  policy: PvcPolicy | undefined;
  pvc: PvcSnapshot;
}

/** The layers below the PVC's annotations, the provider keys they set, and any problem. */
export function pvcLayers(input: LayersInput): PvcLayers {
  const layers: SettingsLayer[] = [input.flags];
  let problem: LayerProblem | undefined;
  const providerAnnotations: Record<string, string> = {};
  const providerSources: Record<string, SettingsSource> = {};
  const setProvider = (
    values: Readonly<Record<string, string | undefined>>,
    source: SettingsSource,
  ): void => {
    for (const key of PROVIDER_KEYS) {
      const value = values[key];
      if (value === undefined) continue;
      providerAnnotations[key] = value;
      providerSources[key] = source;
    }
  };
  if (input.storageClass !== undefined) {
    const fromClass = storageClassLayer(input.storageClass);
    layers.push(fromClass.layer);
    problem = fromClass.problem;
    setProvider(input.storageClass.annotations, fromClass.layer.source);
  }
  if (input.policy !== undefined) {
    const [first] = input.policy.problems;
    // An invalid policy governs the PVC (it won the choice) but must not expand it.
    if (first !== undefined)
      problem = {
        reason: 'invalid-policy',
        detail: `PVCPolicy ${input.policy.namespace}/${input.policy.name}: ${describeFieldProblem(first)}`,
      };
    layers.push(input.policy.layer);
    setProvider(policyProviderAnnotations(input.policy), input.policy.layer.source);
  }
  setProvider(input.pvc.annotations, 'annotation');
  return { layers, problem, providerAnnotations, providerSources };
}

/** The PVC as the providers see it: provider keys from the layers, its own annotations winning. */
export function withProviderAnnotations(pvc: PvcSnapshot, layers: PvcLayers): PvcSnapshot {
  const { providerAnnotations } = layers;
  // Called for every PVC of a pass, most with no provider key set by any layer.
  for (const key in providerAnnotations)
    if (pvc.annotations[key] !== providerAnnotations[key])
      return { ...pvc, annotations: { ...providerAnnotations, ...pvc.annotations } };
  return pvc;
}
