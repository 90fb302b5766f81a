/**
 * The stats-source flags: their names, defaults and validation, every problem reported at once.
 * Pure: files (CAs, the bearer token) are read through the injected reader, so a missing file is
 * a start-up error (exit 2) that names the flag, not a failure at every node.
 */
import { parseDuration } from '../core/duration.js';
import { err, ok, type Result } from '../core/result.js';
import type { StatsSourceName } from '../core/pvc.js';
import type { KubeletTrust } from './kubelet-direct-reader.js';
import { parseSelector } from './prometheus-query.js';

export type StatsSourceChoice = 'auto' | StatsSourceName;

export const STATS_SOURCE_CHOICES: readonly StatsSourceChoice[] = [
  'auto',
  'kubelet',
  'kubelet-proxy',
  'prometheus',
];

/** The flag values as commander hands them over. */
export interface RawStatsOptions {
  statsSource?: string | undefined;
  kubeletCaFile?: string | undefined;
  kubeletInsecureSkipTlsVerify?: boolean | undefined;
  prometheusUrl?: string | undefined;
  /** Repeated flags; the environment variable holds one header per line. */
  prometheusHeader?: string[] | undefined;
  prometheusBearerTokenFile?: string | undefined;
  prometheusCaFile?: string | undefined;
  prometheusSelector?: string | undefined;
  prometheusMaxAge?: string | undefined;
  forecastWindow?: string | undefined;
}

export interface PrometheusSettings {
  url: URL;
  headers: Record<string, string>;
  caPem: string | undefined;
  selector: string;
  maxAgeMs: number;
  /** --forecast-window: the growth rate is fitted to used bytes over this long. */
  forecastWindowMs: number;
}

/**
 * What the pass reads usage from. `kubelet` with `proxyFallback` is `auto` without a Prometheus
 * URL: a node whose kubelet refuses or is out of reach is read through the API server's proxy,
 * when the ServiceAccount may.
 */
export type StatsPlan =
  | { source: 'kubelet'; trust: KubeletTrust; proxyFallback: boolean }
  | { source: 'kubelet-proxy' }
  | { source: 'prometheus'; prometheus: PrometheusSettings };

export interface StatsFlag {
  key: Exclude<keyof RawStatsOptions, 'kubeletInsecureSkipTlsVerify' | 'prometheusHeader'>;
  flag: string;
  env: string;
  defaultValue: string | undefined;
  description: string;
}

/** The flags with a value; --kubelet-insecure-skip-tls-verify and --prometheus-header are declared apart. */
export const STATS_FLAGS: readonly StatsFlag[] = [
  {
    key: 'statsSource',
    flag: '--stats-source <source>',
    env: 'PVC_CHONKER_STATS_SOURCE',
    defaultValue: 'auto',
    description:
      'where usage is read: auto (prometheus when --prometheus-url is set, else kubelet with a fallback to kubelet-proxy where allowed), kubelet (nodes/stats), kubelet-proxy (nodes/proxy) or prometheus',
  },
  {
    key: 'kubeletCaFile',
    flag: '--kubelet-ca-file <file>',
    env: 'PVC_CHONKER_KUBELET_CA_FILE',
    defaultValue: undefined,
    description:
      "CA bundle that verifies the kubelets' serving certificates (default: the API server's, in a pod the cluster CA)",
  },
  {
    key: 'prometheusUrl',
    flag: '--prometheus-url <url>',
    env: 'PVC_CHONKER_PROMETHEUS_URL',
    defaultValue: undefined,
    description: 'Prometheus (or Thanos, Mimir, Cortex) API base URL; a path prefix is kept',
  },
  {
    key: 'prometheusBearerTokenFile',
    flag: '--prometheus-bearer-token-file <file>',
    env: 'PVC_CHONKER_PROMETHEUS_BEARER_TOKEN_FILE',
    defaultValue: undefined,
    description: 'file holding a bearer token sent to Prometheus',
  },
  {
    key: 'prometheusCaFile',
    flag: '--prometheus-ca-file <file>',
    env: 'PVC_CHONKER_PROMETHEUS_CA_FILE',
    defaultValue: undefined,
    description: 'CA bundle that verifies an https:// Prometheus (default: the system roots)',
  },
  {
    key: 'prometheusSelector',
    flag: '--prometheus-selector <matchers>',
    env: 'PVC_CHONKER_PROMETHEUS_SELECTOR',
    defaultValue: undefined,
    description:
      'label matchers added to every kubelet_volume_stats_* selector, e.g. job="kubelet"',
  },
  {
    key: 'prometheusMaxAge',
    flag: '--prometheus-max-age <duration>',
    env: 'PVC_CHONKER_PROMETHEUS_MAX_AGE',
    defaultValue: '5m',
    description: 'a sample older than this is stale: the PVC is metrics-unavailable',
  },
  {
    key: 'forecastWindow',
    flag: '--forecast-window <duration>',
    env: 'PVC_CHONKER_FORECAST_WINDOW',
    defaultValue: '6h',
    description:
      "with --stats-source prometheus: the growth forecast is fitted to each volume's used bytes over this long",
  },
];

/** Reads a file the operator named; the error names it (and never its content). */
export type ReadFile = (path: string) => Result<string>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client sets itself, or that would change what the request is. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'accept',
]);

function header(text: string): Result<[string, string]> {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  const value = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name) || /[\r\n]/.test(value))
    return err(`--prometheus-header: ${JSON.stringify(text)} is not 'Name: value'`);
  if (RESERVED_HEADERS.has(name.toLowerCase()))
    return err(`--prometheus-header: ${name} is set by pvc-chonker itself`);
  return ok([name, value]);
}

function prometheusUrl(text: string): Result<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`--prometheus-url: ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return err(
      `--prometheus-url: expected an http:// or https:// URL, got ${JSON.stringify(text)}`,
    );
  if (url.username !== '' || url.password !== '')
    return err(
      '--prometheus-url: credentials in the URL are refused; use --prometheus-bearer-token-file',
    );
  if (url.search !== '' || url.hash !== '')
    return err(
      `--prometheus-url: ${JSON.stringify(url.origin + url.pathname)} must have no query or fragment`,
    );
  return ok(url);
}

function headers(raw: RawStatsOptions, read: ReadFile, errors: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = (raw.prometheusHeader ?? []).flatMap((value) => value.split('\n'));
  for (const line of lines.filter((l) => l.trim() !== '')) {
    const parsed = header(line);
    if (parsed.ok) out[parsed.value[0]] = parsed.value[1];
    else errors.push(parsed.error);
  }
  const tokenFile = given(raw.prometheusBearerTokenFile);
  if (tokenFile === undefined) return out;
  if (Object.keys(out).some((name) => name.toLowerCase() === 'authorization'))
    errors.push(
      '--prometheus-bearer-token-file and an Authorization --prometheus-header: choose one',
    );
  const token = read(tokenFile);
  if (!token.ok) errors.push(`--prometheus-bearer-token-file: ${token.error}`);
  else if (token.value.trim() === '')
    errors.push(`--prometheus-bearer-token-file: ${tokenFile} is empty`);
  else out['Authorization'] = `Bearer ${token.value.trim()}`;
  return out;
}

function given(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function maxAgeOf(text: string | undefined): Result<number> {
  const maxAge = parseDuration(given(text) ?? '5m');
  if (!maxAge.ok) return err(`--prometheus-max-age: ${maxAge.error}`);
  return maxAge.value > 0 ? maxAge : err('--prometheus-max-age: must be longer than 0');
}

function forecastWindowOf(text: string | undefined): Result<number> {
  const window = parseDuration(given(text) ?? '6h');
  if (!window.ok) return err(`--forecast-window: ${window.error}`);
  return window.value > 0 ? window : err('--forecast-window: must be longer than 0');
}

/** Where Prometheus is and what to select: the flags that need no file. */
function prometheusQuery(
  raw: RawStatsOptions,
  errors: string[],
): Omit<PrometheusSettings, 'headers' | 'caPem'> | undefined {
  const urlText = given(raw.prometheusUrl);
  if (urlText === undefined) {
    errors.push('--stats-source prometheus needs --prometheus-url');
    return undefined;
  }
  const url = prometheusUrl(urlText);
  if (!url.ok) errors.push(url.error);
  const selector = parseSelector(raw.prometheusSelector ?? '');
  if (!selector.ok) errors.push(`--prometheus-selector: ${selector.error}`);
  const maxAge = maxAgeOf(raw.prometheusMaxAge);
  if (!maxAge.ok) errors.push(maxAge.error);
  const window = forecastWindowOf(raw.forecastWindow);
  if (!window.ok) errors.push(window.error);
  if (!url.ok || !selector.ok || !maxAge.ok || !window.ok) return undefined;
  return {
    url: url.value,
    selector: selector.value,
    maxAgeMs: maxAge.value,
    forecastWindowMs: window.value,
  };
}

function prometheus(
  raw: RawStatsOptions,
  read: ReadFile,
  errors: string[],
): PrometheusSettings | undefined {
  const query = prometheusQuery(raw, errors);
  const caFile = given(raw.prometheusCaFile);
  const ca = caFile === undefined ? ok(undefined) : read(caFile);
  if (!ca.ok) errors.push(`--prometheus-ca-file: ${ca.error}`);
  const sent = headers(raw, read, errors);
  if (query === undefined || !ca.ok) return undefined;
  return { ...query, headers: sent, caPem: ca.value };
}

function trust(raw: RawStatsOptions, read: ReadFile, errors: string[]): KubeletTrust {
  const caFile = given(raw.kubeletCaFile);
  if (caFile !== undefined && raw.kubeletInsecureSkipTlsVerify === true) {
    errors.push('--kubelet-ca-file and --kubelet-insecure-skip-tls-verify: choose one');
    return { kind: 'insecure' };
  }
  if (raw.kubeletInsecureSkipTlsVerify === true) return { kind: 'insecure' };
  if (caFile === undefined) return { kind: 'connection' };
  const ca = read(caFile);
  if (!ca.ok) {
    errors.push(`--kubelet-ca-file: ${ca.error}`);
    return { kind: 'connection' };
  }
  return { kind: 'ca', caPem: ca.value };
}

const PROMETHEUS_KEYS = [
  'prometheusHeader',
  'prometheusBearerTokenFile',
  'prometheusCaFile',
  'prometheusSelector',
] as const satisfies readonly (keyof RawStatsOptions)[];

function flagOf(key: keyof RawStatsOptions): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The flags set that the chosen source does not use: a contradiction, reported. */
function unused(raw: RawStatsOptions, plan: StatsPlan['source']): string[] {
  const isSet = (key: keyof RawStatsOptions): boolean => {
    const value = raw[key];
    if (Array.isArray(value)) return value.some((v) => v.trim() !== '');
    return typeof value === 'boolean' ? value : given(value) !== undefined;
  };
  const keys: (keyof RawStatsOptions)[] = [];
  if (plan !== 'prometheus') keys.push('prometheusUrl', ...PROMETHEUS_KEYS);
  if (plan !== 'kubelet') keys.push('kubeletCaFile', 'kubeletInsecureSkipTlsVerify');
  return keys.filter(isSet).map((key) => `${flagOf(key)} is not used with --stats-source ${plan}`);
}

/** Every stats flag checked at once; the error names each bad flag and value. */
export function parseStatsOptions(raw: RawStatsOptions, read: ReadFile): Result<StatsPlan> {
  const errors: string[] = [];
  const choice = STATS_SOURCE_CHOICES.find((c) => c === (given(raw.statsSource) ?? 'auto'));
  if (choice === undefined)
    return err(
      `--stats-source: expected ${STATS_SOURCE_CHOICES.join(', ')}, got ${JSON.stringify(raw.statsSource)}`,
    );
  const source: StatsPlan['source'] =
    choice === 'auto'
      ? given(raw.prometheusUrl) === undefined
        ? 'kubelet'
        : 'prometheus'
      : choice;
  errors.push(...unused(raw, source));
  let plan: StatsPlan | undefined;
  if (source === 'prometheus') {
    const settings = prometheus(raw, read, errors);
    if (settings !== undefined) plan = { source, prometheus: settings };
  } else if (source === 'kubelet') {
    plan = { source, trust: trust(raw, read, errors), proxyFallback: choice === 'auto' };
  } else plan = { source };
  return errors.length > 0 || plan === undefined ? err(errors.join('; ')) : ok(plan);
}
