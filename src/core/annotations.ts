import {
  appendHistory,
  formatTime,
  parseHistory,
  parseTime,
  type ExpansionRecord,
} from './history.js';
import { formatUsageSamples, parseUsageSamples, type UsageSample } from './usage-samples.js';
import {
  SETTING_PARSERS,
  parseSettingsLayer,
  type SettingKey,
  type SettingsLayer,
} from './settings.js';

/** Every annotation pvc-chonker reads or writes lives under this prefix. */
export const ANNOTATION_PREFIX = 'pvc-chonker.io/';

export const ANNOTATIONS = {
  enabled: `${ANNOTATION_PREFIX}enabled`,
  lastExpansion: `${ANNOTATION_PREFIX}last-expansion`,
  expansionHistory: `${ANNOTATION_PREFIX}expansion-history`,
  provider: `${ANNOTATION_PREFIX}provider`,
  awsVolumeType: `${ANNOTATION_PREFIX}aws-volume-type`,
  /**
   * Written by a person: the time of the expansion whose size was set back (size-reverted) that
   * they accept, so the PVC may grow again. It names one expansion: a later revert warns again.
   */
  sizeRevertedAck: `${ANNOTATION_PREFIX}size-reverted-ack`,
  /** Written by the pass: the PVC's usage samples for the forecast (usage-samples.ts). */
  usageSamples: `${ANNOTATION_PREFIX}usage-samples`,
} as const;

/** Keys that are read by other parts (providers) or written as state, beside the settings. */
const OTHER_KEYS = new Set([
  'enabled',
  'last-expansion',
  'expansion-history',
  'provider',
  'aws-volume-type',
  'group',
  // Written by the admission webhook: the PVCPolicy that selected the PVC at creation.
  'policy',
  'size-reverted-ack',
  'usage-samples',
]);

/** A bad annotation: the key, the value as written, and what is wrong with it. */
export interface AnnotationProblem {
  key: string;
  value: string;
  message: string;
}

export interface PvcAnnotations {
  /** The PVC's own settings, the last layer. */
  layer: SettingsLayer;
  lastExpansion: Date | undefined;
  history: ExpansionRecord[];
  /** pvc-chonker.io/size-reverted-ack: the reverted expansion a person accepted. */
  sizeRevertedAck: Date | undefined;
  /** pvc-chonker.io/usage-samples, oldest first; empty when absent or malformed. */
  usageSamples: UsageSample[];
  /**
   * Why the usage samples could not be read. Not a problem that stops the PVC: the forecast
   * says it has none, and the next sample written replaces the value.
   */
  usageSamplesProblem: string | undefined;
  /** Malformed values: the PVC is skipped and nothing is patched. */
  problems: AnnotationProblem[];
  /** Keys under the prefix that mean nothing to this version: warned about, not fatal. */
  unknownKeys: string[];
}

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_PARSERS, key);
}

/**
 * The prefix's setting annotations (undefined: none, as on most PVCs) and its unknown keys. Once
 * per PVC of a pass: no array of entries.
 */
function prefixedKeys(annotations: Readonly<Record<string, string>>): {
  texts: Partial<Record<SettingKey, string>> | undefined;
  unknownKeys: string[];
} {
  let texts: Partial<Record<SettingKey, string>> | undefined;
  const unknownKeys: string[] = [];
  for (const fullKey in annotations) {
    if (!fullKey.startsWith(ANNOTATION_PREFIX)) continue;
    const key = fullKey.slice(ANNOTATION_PREFIX.length);
    const value = annotations[fullKey];
    if (isSettingKey(key)) {
      if (value !== undefined) (texts ??= {})[key] = value;
    } else if (!OTHER_KEYS.has(key)) unknownKeys.push(fullKey);
  }
  return { texts, unknownKeys };
}

/** Reads the prefix's annotations into a settings layer and the expansion state. Pure. */
export function parseAnnotations(annotations: Readonly<Record<string, string>>): PvcAnnotations {
  const { texts, unknownKeys } = prefixedKeys(annotations);
  const problems: AnnotationProblem[] = [];
  const parsedLayer = texts === undefined ? undefined : parseSettingsLayer('annotation', texts);
  const layer: SettingsLayer =
    parsedLayer?.ok === true ? parsedLayer.value : { source: 'annotation', values: {} };
  if (parsedLayer?.ok === false) {
    for (const problem of parsedLayer.error) {
      problems.push({ ...problem, key: `${ANNOTATION_PREFIX}${problem.key}` });
    }
  }

  const lastExpansion = readTime(annotations, ANNOTATIONS.lastExpansion, problems);

  const sizeRevertedAck = readTime(annotations, ANNOTATIONS.sizeRevertedAck, problems);

  let history: ExpansionRecord[] = [];
  const historyText = annotations[ANNOTATIONS.expansionHistory];
  if (historyText !== undefined) {
    const parsed = parseHistory(historyText);
    if (parsed.ok) history = parsed.value;
    else {
      const message = `${JSON.stringify(historyText)} ${parsed.error}`;
      problems.push({ key: ANNOTATIONS.expansionHistory, value: historyText, message });
    }
  }

  const samples = readUsageSamples(annotations);
  return { layer, lastExpansion, history, sizeRevertedAck, ...samples, problems, unknownKeys };
}

function readUsageSamples(
  annotations: Readonly<Record<string, string>>,
): Pick<PvcAnnotations, 'usageSamples' | 'usageSamplesProblem'> {
  const text = annotations[ANNOTATIONS.usageSamples];
  if (text === undefined) return { usageSamples: [], usageSamplesProblem: undefined };
  const parsed = parseUsageSamples(text);
  return parsed.ok
    ? { usageSamples: parsed.value, usageSamplesProblem: undefined }
    : {
        usageSamples: [],
        usageSamplesProblem: `${ANNOTATIONS.usageSamples} ${parsed.error}`,
      };
}

/** An RFC 3339 time annotation; a bad value is a problem. */
function readTime(
  annotations: Readonly<Record<string, string>>,
  key: string,
  problems: AnnotationProblem[],
): Date | undefined {
  const text = annotations[key];
  if (text === undefined) return undefined;
  const parsed = parseTime(text);
  if (parsed.ok) return parsed.value;
  problems.push({ key, value: text, message: parsed.error });
  return undefined;
}

/** 'pvc-chonker.io/threshold: "eighty" is not a percentage', cut so a report line stays readable. */
export function describeProblem(problem: AnnotationProblem): string {
  const text = `${problem.key}: ${problem.message}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * The state annotations written together with the new size, in the same PATCH; with `samples`
 * (a sample is due) the usage samples ride along, saving a PATCH of their own.
 */
export function expansionAnnotations(
  history: readonly ExpansionRecord[],
  expansion: ExpansionRecord,
  samples?: readonly UsageSample[],
): Record<string, string> {
  return {
    [ANNOTATIONS.lastExpansion]: formatTime(expansion.time),
    [ANNOTATIONS.expansionHistory]: appendHistory(history, expansion),
    ...(samples === undefined ? {} : usageSamplesAnnotation(samples)),
  };
}

/** The usage-samples annotation holding `samples`. */
export function usageSamplesAnnotation(samples: readonly UsageSample[]): Record<string, string> {
  return { [ANNOTATIONS.usageSamples]: formatUsageSamples(samples) };
}
