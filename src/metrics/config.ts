import { err, ok, type Result } from '../core/result.js';
import { PVC_METRICS, type PvcMetrics } from './series.js';

/**
 * A secret value that never shows up in logs or JSON: pino serialises objects with JSON.stringify
 * (→ toJSON) and util.inspect prints the class name only, because the value is a private field.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }
}

/** Where a credential comes from: an env var (read at start) or a mounted file (read at push time). */
export type SecretSource = { kind: 'value'; secret: Secret } | { kind: 'file'; path: string };

export type PushAuth =
  | { kind: 'basic'; username: string; password: SecretSource }
  | { kind: 'bearer'; token: SecretSource };

export interface MetricsConfig {
  /** Pushgateway base URL (may carry a route prefix path); undefined: do not push. */
  pushgatewayUrl: URL | undefined;
  /** Grouping key `job`, the first path segment after /metrics/job/. */
  jobName: string;
  /** Grouping key `cluster`, so several clusters can share one Pushgateway. */
  clusterName: string;
  /** Also write the exposition text here (node-exporter textfile collector), atomically. */
  metricsFile: string | undefined;
  auth: PushAuth | undefined;
  /** Per HTTP attempt, in milliseconds. */
  timeoutMs: number;
  /** Extra attempts after the first, for network errors, timeouts, 429 and 5xx. */
  retries: number;
  /** --pvc-metrics; undefined: `all` up to 2,000 managed PVCs, `problems` above. */
  pvcMetrics: PvcMetrics | undefined;
}

export const DEFAULT_JOB_NAME = 'pvc-chonker';
/** No API tells a pod its cluster's name; one shared default keeps a single-cluster setup simple. */
export const DEFAULT_CLUSTER_NAME = 'default';
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRIES = 2;

export const ENV = {
  url: 'PVC_CHONKER_PUSHGATEWAY_URL',
  jobName: 'PVC_CHONKER_JOB_NAME',
  clusterName: 'PVC_CHONKER_CLUSTER_NAME',
  metricsFile: 'PVC_CHONKER_METRICS_FILE',
  username: 'PVC_CHONKER_PUSHGATEWAY_USERNAME',
  password: 'PVC_CHONKER_PUSHGATEWAY_PASSWORD',
  passwordFile: 'PVC_CHONKER_PUSHGATEWAY_PASSWORD_FILE',
  bearerToken: 'PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN',
  bearerTokenFile: 'PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN_FILE',
  timeoutMs: 'PVC_CHONKER_PUSHGATEWAY_TIMEOUT_MS',
  retries: 'PVC_CHONKER_PUSHGATEWAY_RETRIES',
  pvcMetrics: 'PVC_CHONKER_PVC_METRICS',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** An env var set to the empty string counts as unset (a Helm `value: ""`). */
function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Grouping values go into the URL path verbatim (no base64 encoding), so they must be one
 * plain path segment: '/' would split it, '@' starts an encoding suffix, the rest would need
 * escaping that a reader of the Pushgateway UI would not recognise.
 */
const GROUPING_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function parseGroupingValue(flag: string, value: string): Result<string> {
  if (value === '') return err(`${flag}: must not be empty`);
  if (value.includes('/')) {
    return err(`${flag} "${value}": must not contain '/' (it is a path segment of the push URL)`);
  }
  if (!GROUPING_VALUE.test(value)) {
    return err(
      `${flag} "${value}": use 1-128 characters from A-Z a-z 0-9 . _ : -, starting with a letter or digit`,
    );
  }
  return ok(value);
}

function parseUrl(value: string): Result<URL | undefined> {
  if (value === '') return ok(undefined);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return err(`--pushgateway-url "${value}": not a URL (expected e.g. http://pushgateway:9091)`);
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo the password back.
    const shown = `${url.protocol}//***@${url.host}${url.pathname}`;
    return err(
      `--pushgateway-url "${shown}": credentials in the URL are not accepted; use ${ENV.username} and ${ENV.password}_FILE`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return err(`--pushgateway-url "${value}": scheme must be http or https`);
  }
  if (url.search !== '' || url.hash !== '') {
    return err(`--pushgateway-url "${value}": must not have a query string or fragment`);
  }
  return ok(url);
}

function parseNonNegativeInt(
  name: string,
  value: string | undefined,
  fallback: number,
  max: number,
) {
  if (value === undefined) return ok(fallback);
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > max) {
    return err(`${name} "${value}": expected a whole number from 0 to ${max}`);
  }
  return ok(n);
}

function secretFrom(env: Env, valueVar: string, fileVar: string): Result<SecretSource | undefined> {
  const value = envValue(env, valueVar);
  const file = envValue(env, fileVar);
  if (value !== undefined && file !== undefined) {
    return err(`${valueVar} and ${fileVar} are both set; set one`);
  }
  if (value !== undefined) return ok({ kind: 'value', secret: new Secret(value) });
  if (file !== undefined) return ok({ kind: 'file', path: file });
  return ok(undefined);
}

/** Basic auth or a bearer token from env vars or mounted files; never both kinds. */
function parseAuth(env: Env): Result<PushAuth | undefined> {
  const password = secretFrom(env, ENV.password, ENV.passwordFile);
  if (!password.ok) return password;
  const token = secretFrom(env, ENV.bearerToken, ENV.bearerTokenFile);
  if (!token.ok) return token;
  const username = envValue(env, ENV.username);
  if (username?.includes(':') === true) {
    return err(`${ENV.username} "${username}": must not contain ':' (basic auth)`);
  }
  const basic = username !== undefined || password.value !== undefined;
  if (basic && token.value !== undefined) {
    return err(
      `set either basic auth (${ENV.username}) or a bearer token (${ENV.bearerToken}), not both`,
    );
  }
  if (token.value !== undefined) return ok({ kind: 'bearer', token: token.value });
  if (!basic) return ok(undefined);
  if (username === undefined) return err(`${ENV.password} is set but ${ENV.username} is not`);
  if (password.value === undefined) {
    return err(`${ENV.username} is set but neither ${ENV.password} nor ${ENV.passwordFile} is`);
  }
  return ok({ kind: 'basic', username, password: password.value });
}

/**
 * Validates the metrics flags and env vars. Pure: no file is read here (secret files are read
 * at push time, so a rotated Secret mount is picked up). Flags win over env vars. Every message
 * names the flag or variable and the bad value, except secrets, which are never echoed.
 */
function parseGrouping(
  raw: { jobName?: string; clusterName?: string },
  env: Env,
): Result<{ jobName: string; clusterName: string }> {
  const jobName = parseGroupingValue(
    '--job-name',
    raw.jobName ?? env[ENV.jobName] ?? DEFAULT_JOB_NAME,
  );
  if (!jobName.ok) return jobName;
  const cluster = raw.clusterName ?? env[ENV.clusterName] ?? DEFAULT_CLUSTER_NAME;
  const clusterName = parseGroupingValue('--cluster-name', cluster);
  if (!clusterName.ok) return clusterName;
  return ok({ jobName: jobName.value, clusterName: clusterName.value });
}

function parseTransport(env: Env): Result<{ timeoutMs: number; retries: number }> {
  const timeoutMs = parseNonNegativeInt(
    ENV.timeoutMs,
    envValue(env, ENV.timeoutMs),
    DEFAULT_TIMEOUT_MS,
    600_000,
  );
  if (!timeoutMs.ok) return timeoutMs;
  if (timeoutMs.value === 0) return err(`${ENV.timeoutMs} "0": must be at least 1`);
  const retries = parseNonNegativeInt(ENV.retries, envValue(env, ENV.retries), DEFAULT_RETRIES, 10);
  if (!retries.ok) return retries;
  return ok({ timeoutMs: timeoutMs.value, retries: retries.value });
}

/**
 * Validates the metrics flags and env vars. Pure: no file is read here (secret files are read
 * at push time, so a rotated Secret mount is picked up). Flags win over env vars. Every message
 * names the flag or variable and the bad value, except secrets, which are never echoed.
 */
/** The metrics flags as commander hands them over. */
export interface RawMetricsOptions {
  pushgatewayUrl?: string;
  jobName?: string;
  clusterName?: string;
  metricsFile?: string;
  pvcMetrics?: string;
}

function parsePvcMetrics(raw: RawMetricsOptions, env: Env): Result<PvcMetrics | undefined> {
  const value = raw.pvcMetrics ?? envValue(env, ENV.pvcMetrics);
  if (value === undefined) return ok(undefined);
  const known = PVC_METRICS.find((mode) => mode === value);
  return known === undefined
    ? err(`--pvc-metrics "${value}": expected one of ${PVC_METRICS.join(', ')}`)
    : ok(known);
}

export function parseMetricsConfig(raw: RawMetricsOptions, env: Env): Result<MetricsConfig> {
  const url = parseUrl(raw.pushgatewayUrl ?? envValue(env, ENV.url) ?? '');
  if (!url.ok) return url;
  const grouping = parseGrouping(raw, env);
  if (!grouping.ok) return grouping;
  const metricsFile = raw.metricsFile ?? envValue(env, ENV.metricsFile);
  if (metricsFile === '') return err('--metrics-file: must not be empty');
  const auth = parseAuth(env);
  if (!auth.ok) return auth;
  const transport = parseTransport(env);
  if (!transport.ok) return transport;
  const pvcMetrics = parsePvcMetrics(raw, env);
  if (!pvcMetrics.ok) return pvcMetrics;
  return ok({
    pushgatewayUrl: url.value,
    ...grouping.value,
    metricsFile,
    auth: auth.value,
    ...transport.value,
    pvcMetrics: pvcMetrics.value,
  });
}
