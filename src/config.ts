/**
 * Flags and their PVC_CHONKER_* environment variables, validated once into typed values. Pure:
 * a bad value becomes a one-line message that names the flag and the value.
 */
import { DEFAULT_SNAPSHOT_WAIT_MS } from './core/backups.js';
import { parseDuration } from './core/duration.js';
import { parseTime } from './core/history.js';
import { combine, err, ok, type Result } from './core/result.js';
import { parseSettingsLayer, type SettingKey, type SettingsLayer } from './core/settings.js';
import type { OutputFormat } from './report.js';
import { DEFAULT_SAMPLE_INTERVAL_MS } from './core/usage-samples.js';

/** The flag values as commander hands them over (strings; --namespace repeatable). */
export interface RawRunOptions {
  kubeconfig?: string;
  /** `run` collects repeated --context flags into a list. */
  context?: string | string[];
  allContexts?: boolean;
  clusterConcurrency?: string;
  snapshotWait?: string;
  waitForBackups?: string;
  namespace?: string[];
  dryRun?: boolean;
  output?: string;
  logLevel?: string;
  threshold?: string;
  inodesThreshold?: string;
  increase?: string;
  minIncrease?: string;
  maxSize?: string;
  cooldown?: string;
  minRunway?: string;
  expandBeforeFull?: string;
  /** --sample-interval: how often a PVC's usage sample is written. */
  sampleInterval?: string;
  /** --now: the time the pass takes as now (replay and tests). */
  now?: string;
  pageSize?: string;
  apiTimeout?: string;
  kubeApiContentType?: string;
  statsTimeout?: string;
  runDeadline?: string;
  statsConcurrency?: string;
  writeConcurrency?: string;
  maxExpansionsPerRun?: string;
  shardIndex?: string;
  shardCount?: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** --log-level, `info` when not given. */
export function parseLogLevel(text: string | undefined): Result<LogLevel> {
  const level = LOG_LEVELS.find((known) => known === (text ?? 'info'));
  if (level === undefined)
    return err(`--log-level: "${text ?? ''}" is not one of ${LOG_LEVELS.join(', ')}`);
  return ok(level);
}

export interface RunOptions {
  kubeconfig: string | undefined;
  /** The one context given; undefined with none or several (see `contexts`). */
  context: string | undefined;
  /** Every --context given, in order, once each: one cluster each. */
  contexts: string[];
  /** --all-contexts: one cluster per context of the kubeconfig. */
  allContexts: boolean;
  /** Clusters whose passes run at once. */
  clusterConcurrency: number;
  /** --snapshot-wait: how long a snapshot or backup in flight holds an expansion. */
  snapshotWaitMs: number;
  namespaces: string[];
  dryRun: boolean;
  output: OutputFormat;
  logLevel: LogLevel;
  /** The global-flags layer of the settings. */
  flagSettings: SettingsLayer;
  pageSize: number;
  apiTimeoutMs: number;
  /** --kube-api-content-type: how the PVC, PV and Pod lists are read. */
  kubeApiContentType: KubeApiContentType;
  statsTimeoutMs: number;
  /** When the whole pass stops as on SIGTERM: the last resort against anything that hangs. */
  runDeadlineMs: number;
  statsConcurrency: number;
  writeConcurrency: number;
  maxExpansionsPerRun: number;
  shard: { index: number; count: number } | undefined;
  /** --sample-interval: a PVC's usage sample is written at most this often; undefined: never. */
  sampleIntervalMs: number | undefined;
  /** --now: the pass's clock is fixed at this time (replay, tests); undefined: the wall clock. */
  now: Date | undefined;
}

interface IntegerRange {
  fallback: number;
  min: number;
  max: number;
}

function integer(
  flag: string,
  text: string | undefined,
  { fallback, min, max }: IntegerRange,
): Result<number> {
  if (text === undefined) return ok(fallback);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    return err(`--${flag}: "${text}" is not a whole number from ${min} to ${max}`);
  }
  return ok(value);
}

/** A duration flag in milliseconds, longer than 0; `fallbackMs` when it is not given. */
export function durationFlag(
  flag: string,
  text: string | undefined,
  fallbackMs: number,
): Result<number> {
  if (text === undefined) return ok(fallbackMs);
  const parsed = parseDuration(text);
  if (!parsed.ok) return err(`--${flag}: ${parsed.error}`);
  if (parsed.value <= 0) return err(`--${flag}: "${text}" must be longer than 0`);
  return parsed;
}

export type KubeApiContentType = 'json' | 'protobuf';

/** --kube-api-content-type: protobuf unless a proxy in front of the API server needs json. */
function kubeApiContentType(text: string | undefined): Result<KubeApiContentType> {
  const value = text ?? 'protobuf';
  if (value !== 'json' && value !== 'protobuf')
    return err(`--kube-api-content-type: "${value}" is not one of protobuf, json`);
  return ok(value);
}

/** A namespace name: an RFC 1123 DNS label. */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
export const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function namespaces(values: readonly string[] | undefined): Result<string[]> {
  // Repeated flags, or one comma-separated env value.
  const list = (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((v) => v !== '');
  const bad = list.find((value) => !NAMESPACE.test(value));
  return bad === undefined
    ? ok([...new Set(list)])
    : err(`--namespace: "${bad}" is not a valid namespace name`);
}

function shard(
  raw: RawRunOptions,
  env: Readonly<Record<string, string | undefined>>,
): Result<RunOptions['shard']> {
  const countText = raw.shardCount;
  if (countText === undefined) {
    if (raw.shardIndex !== undefined) return err('--shard-index needs --shard-count');
    return ok(undefined);
  }
  const count = integer('shard-count', countText, { fallback: 1, min: 1, max: 10_000 });
  if (!count.ok) return count;
  // An Indexed Job gives each pod its index in JOB_COMPLETION_INDEX.
  const indexText = raw.shardIndex ?? env['JOB_COMPLETION_INDEX'];
  if (indexText === undefined)
    return err('--shard-count needs --shard-index (or JOB_COMPLETION_INDEX from an Indexed Job)');
  const index = integer('shard-index', indexText, { fallback: 0, min: 0, max: count.value - 1 });
  return index.ok ? ok({ index: index.value, count: count.value }) : index;
}

/**
 * A boolean switch: the flag wins; else the environment variable, which must say yes or no
 * unambiguously (commander would read PVC_CHONKER_DRY_RUN=false as true).
 */
export function booleanSwitch(
  flag: boolean | undefined,
  variable: string,
  env: Readonly<Record<string, string | undefined>>,
): Result<boolean> {
  if (flag === true) return ok(true);
  const text = env[variable] ?? '';
  if (text === '' || /^(false|0|no)$/i.test(text)) return ok(false);
  if (/^(true|1|yes)$/i.test(text)) return ok(true);
  return err(`${variable}: ${JSON.stringify(text)} is not true or false`);
}

const SETTING_FLAGS: readonly [SettingKey, keyof RawRunOptions][] = [
  ['threshold', 'threshold'],
  ['inodes-threshold', 'inodesThreshold'],
  ['increase', 'increase'],
  ['min-increase', 'minIncrease'],
  ['max-size', 'maxSize'],
  ['cooldown', 'cooldown'],
  ['wait-for-backups', 'waitForBackups'],
  ['min-runway', 'minRunway'],
  ['expand-before-full', 'expandBeforeFull'],
];

function flagSettings(raw: RawRunOptions): Result<SettingsLayer> {
  const texts: Partial<Record<SettingKey, string>> = {};
  for (const [key, option] of SETTING_FLAGS) {
    const value = raw[option];
    if (typeof value === 'string') texts[key] = value;
  }
  const layer = parseSettingsLayer('flag', texts);
  if (layer.ok) return layer;
  const [problem] = layer.error;
  return err(`--${problem?.key ?? ''}: ${problem?.message ?? ''}`);
}

/** --sample-interval: a duration, or 0 for no samples at all (undefined). */
function sampleInterval(text: string | undefined): Result<number | undefined> {
  if (text === '0') return ok(undefined);
  return durationFlag('sample-interval', text, DEFAULT_SAMPLE_INTERVAL_MS);
}

/** --now: an RFC 3339 time, or not given. */
function fixedNow(text: string | undefined): Result<Date | undefined> {
  if (text === undefined) return ok(undefined);
  const time = parseTime(text);
  return time.ok ? time : err(`--now: ${time.error}`);
}

function contexts(value: string | string[] | undefined): Result<string[]> {
  const list = (typeof value === 'string' ? [value] : (value ?? [])).map((name) => name.trim());
  if (list.includes('')) return err('--context: must not be empty');
  return ok([...new Set(list)]);
}

/** Every check, first failure reported. */
export function parseRunOptions(
  raw: RawRunOptions,
  env: Readonly<Record<string, string | undefined>>,
): Result<RunOptions> {
  const output = raw.output ?? 'table';
  if (output !== 'table' && output !== 'json')
    return err(`--output: "${output}" is not one of table, json`);
  const logLevel = parseLogLevel(raw.logLevel);
  if (!logLevel.ok) return logLevel;
  const checked = combine({
    namespaces: namespaces(raw.namespace),
    flagSettings: flagSettings(raw),
    pageSize: integer('page-size', raw.pageSize, { fallback: 500, min: 1, max: 10_000 }),
    apiTimeoutMs: durationFlag('api-timeout', raw.apiTimeout, 15_000),
    kubeApiContentType: kubeApiContentType(raw.kubeApiContentType),
    statsTimeoutMs: durationFlag('stats-timeout', raw.statsTimeout, 10_000),
    // 80% of the shipped CronJob's activeDeadlineSeconds (240 s): the pass ends on its own terms,
    // with a report and metrics, before Kubernetes kills the pod.
    runDeadlineMs: durationFlag('run-deadline', raw.runDeadline, 190_000),
    statsConcurrency: integer('stats-concurrency', raw.statsConcurrency, {
      fallback: 16,
      min: 1,
      max: 256,
    }),
    writeConcurrency: integer('write-concurrency', raw.writeConcurrency, {
      fallback: 4,
      min: 1,
      max: 64,
    }),
    maxExpansionsPerRun: integer('max-expansions-per-run', raw.maxExpansionsPerRun, {
      fallback: 50,
      min: 0,
      max: 100_000,
    }),
    shard: shard(raw, env),
    dryRun: booleanSwitch(raw.dryRun, 'PVC_CHONKER_DRY_RUN', env),
    contexts: contexts(raw.context),
    allContexts: booleanSwitch(raw.allContexts, 'PVC_CHONKER_ALL_CONTEXTS', env),
    clusterConcurrency: integer('cluster-concurrency', raw.clusterConcurrency, {
      fallback: 4,
      min: 1,
      max: 64,
    }),
    snapshotWaitMs: durationFlag('snapshot-wait', raw.snapshotWait, DEFAULT_SNAPSHOT_WAIT_MS),
    sampleIntervalMs: sampleInterval(raw.sampleInterval),
    now: fixedNow(raw.now),
  });
  if (!checked.ok) return checked;
  const { contexts: given } = checked.value;
  if (checked.value.allContexts && given.length > 0)
    return err('--all-contexts and --context: choose one');
  return ok({
    kubeconfig: raw.kubeconfig,
    context: given.length === 1 ? given[0] : undefined,
    output,
    logLevel: logLevel.value,
    ...checked.value,
  });
}
