import { parseDuration } from './duration.js';
import { kept } from './kept.js';
import { parsePercent, type Percent } from './percent.js';
import { GiB, parseQuantity } from './quantity.js';
import { err, ok, type Result } from './result.js';

/** When to expand on storage: a share of capacity used, or free bytes left. */
export type Threshold =
  { kind: 'percent'; percent: Percent } | { kind: 'free-bytes'; bytes: bigint; text: string };

/** How much to grow: a share of the current capacity, or a fixed number of bytes. */
export type Increase =
  { kind: 'percent'; percent: Percent } | { kind: 'bytes'; bytes: bigint; text: string };

/** The rules one PVC is judged by, after every layer is applied. */
export interface Settings {
  threshold: Threshold;
  inodesThreshold: Percent;
  increase: Increase;
  minIncreaseBytes: bigint;
  maxSizeBytes: bigint | undefined;
  cooldownMs: number;
  /**
   * Hold an expansion while a CSI VolumeSnapshot of the PVC or a Velero Backup of its namespace
   * is in progress (reason backup-in-progress); see backups.ts.
   */
  waitForBackups: boolean;
  /**
   * pvc-chonker.io/min-runway: an expansion's step is at least the forecast growth over this
   * long (ms; 0: off), so a fast grower takes one large step, not several the cloud may refuse.
   */
  minRunwayMs: number;
  /**
   * pvc-chonker.io/expand-before-full: expand when the forecast says the volume is full within
   * this long (ms; 0: off), even under the threshold (reason forecast-full).
   */
  expandBeforeFullMs: number;
}

export type SettingName = keyof Settings;

/**
 * Where a setting came from; later layers win. The same words are printed by `explain` and the
 * webhook: a StorageClass layer names its class, a PVCPolicy layer its namespace and name.
 */
export type SettingsSource =
  'default' | 'flag' | `storageclass:${string}` | `policy:${string}/${string}` | 'annotation';

export interface SettingsLayer {
  source: SettingsSource;
  values: Partial<Settings>;
}

export interface ResolvedSettings {
  settings: Settings;
  sources: Readonly<Record<SettingName, SettingsSource>>;
}

export const DEFAULT_SETTINGS: Settings = {
  threshold: { kind: 'percent', percent: { text: '80%', numerator: 80n, denominator: 1n } },
  inodesThreshold: { text: '80%', numerator: 80n, denominator: 1n },
  increase: { kind: 'percent', percent: { text: '10%', numerator: 10n, denominator: 1n } },
  minIncreaseBytes: GiB,
  maxSizeBytes: undefined,
  cooldownMs: 15 * 60_000,
  waitForBackups: true,
  minRunwayMs: 0,
  expandBeforeFullMs: 0,
};

/**
 * Applies layers in order (built-in defaults < global flags < StorageClass < PVCPolicy < PVC
 * annotations); each value keeps the layer it came from.
 */
export function resolveSettings(layers: readonly SettingsLayer[]): ResolvedSettings {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const sources: Record<SettingName, SettingsSource> = {
    threshold: 'default',
    inodesThreshold: 'default',
    increase: 'default',
    minIncreaseBytes: 'default',
    maxSizeBytes: 'default',
    cooldownMs: 'default',
    waitForBackups: 'default',
    minRunwayMs: 'default',
    expandBeforeFullMs: 'default',
  };
  for (const layer of layers) {
    for (const name of Object.keys(layer.values) as SettingName[]) {
      if (copySetting(settings, layer.values, name)) sources[name] = layer.source;
    }
  }
  return { settings, sources };
}

/** Resolved per array of layers below a PVC's own (run.ts shares one per class and policy). */
const resolvedBelow = new WeakMap<readonly SettingsLayer[], ResolvedSettings>();

/**
 * resolveSettings([...below, own]) for a PVC whose own annotations are the layer `own`. Most PVCs
 * set no setting of their own; theirs are the settings of the layers below, resolved once per
 * `below` array and shared (read-only) by every decision made with it.
 */
export function resolveSettingsOver(
  below: readonly SettingsLayer[],
  own: SettingsLayer,
): ResolvedSettings {
  if (setsAny(own)) return resolveSettings([...below, own]);
  return kept(resolvedBelow, below, () => resolveSettings(below));
}

function setsAny(layer: SettingsLayer): boolean {
  for (const name in layer.values) if (layer.values[name as SettingName] !== undefined) return true;
  return false;
}

/**
 * settings[name] = values[name] when the layer sets it. A plain assignment: this runs for every
 * setting of every layer of every PVC of a pass, where a computed-key object per value showed.
 */
function copySetting<K extends SettingName>(
  settings: Settings,
  values: Partial<Pick<Settings, K>>,
  name: K,
): boolean {
  const value = values[name];
  if (value === undefined) return false;
  settings[name] = value;
  return true;
}

/*
 * Parsers for each setting's text form, shared by the annotations and the global flags so that a
 * value means the same wherever it is written.
 */

export function parseThreshold(text: string): Result<Threshold> {
  if (text.endsWith('%')) {
    const percent = parsePercent(text, 100);
    return percent.ok ? ok({ kind: 'percent', percent: percent.value }) : percent;
  }
  const bytes = parseQuantity(text);
  if (!bytes.ok)
    return err(`${JSON.stringify(text)} is neither a percentage (80%) nor a quantity (10Gi)`);
  if (bytes.value === 0n) return err(`${JSON.stringify(text)} must be above 0`);
  return ok({ kind: 'free-bytes', bytes: bytes.value, text });
}

export function parseInodesThreshold(text: string): Result<Percent> {
  return parsePercent(text, 100);
}

export function parseIncrease(text: string): Result<Increase> {
  if (text.endsWith('%')) {
    // Growing by more than 10x in one step is a typo, not a policy.
    const percent = parsePercent(text, 1000);
    return percent.ok ? ok({ kind: 'percent', percent: percent.value }) : percent;
  }
  const bytes = parseQuantity(text);
  if (!bytes.ok)
    return err(`${JSON.stringify(text)} is neither a percentage (10%) nor a quantity (5Gi)`);
  if (bytes.value === 0n) return err(`${JSON.stringify(text)} must be above 0`);
  return ok({ kind: 'bytes', bytes: bytes.value, text });
}

export function parseMinIncrease(text: string): Result<bigint> {
  return parseQuantity(text);
}

export function parseMaxSize(text: string): Result<bigint> {
  const bytes = parseQuantity(text);
  if (bytes.ok && bytes.value === 0n) return err(`${JSON.stringify(text)} must be above 0`);
  return bytes;
}

export function parseCooldown(text: string): Result<number> {
  return parseDuration(text);
}

/** "true" or "false", exactly: an annotation that switches a behaviour on or off. */
export function parseSwitch(text: string): Result<boolean> {
  if (text === 'true') return ok(true);
  if (text === 'false') return ok(false);
  return err(`${JSON.stringify(text)} is not "true" or "false"`);
}

/** Text forms of the settings, keyed as the annotations and flags name them. */
export const SETTING_PARSERS = {
  threshold: { setting: 'threshold', parse: parseThreshold },
  'inodes-threshold': { setting: 'inodesThreshold', parse: parseInodesThreshold },
  increase: { setting: 'increase', parse: parseIncrease },
  'min-increase': { setting: 'minIncreaseBytes', parse: parseMinIncrease },
  'max-size': { setting: 'maxSizeBytes', parse: parseMaxSize },
  cooldown: { setting: 'cooldownMs', parse: parseCooldown },
  'wait-for-backups': { setting: 'waitForBackups', parse: parseSwitch },
  'min-runway': { setting: 'minRunwayMs', parse: parseDuration },
  'expand-before-full': { setting: 'expandBeforeFullMs', parse: parseDuration },
} as const satisfies Record<
  string,
  { setting: SettingName; parse: (text: string) => Result<unknown> }
>;

export type SettingKey = keyof typeof SETTING_PARSERS;

/** Parses text values keyed by setting key into one layer; every bad value is reported. */
export function parseSettingsLayer(
  source: SettingsSource,
  texts: Partial<Record<SettingKey, string>>,
): Result<SettingsLayer, { key: SettingKey; value: string; message: string }[]> {
  const values: Partial<Settings> = {};
  const problems: { key: SettingKey; value: string; message: string }[] = [];
  for (const key of Object.keys(texts) as SettingKey[]) {
    const text = texts[key];
    if (text === undefined) continue;
    const { setting, parse } = SETTING_PARSERS[key];
    const parsed = parse(text);
    if (parsed.ok) Object.assign(values, { [setting]: parsed.value });
    else problems.push({ key, value: text, message: parsed.error });
  }
  return problems.length > 0 ? err(problems) : ok({ source, values });
}
