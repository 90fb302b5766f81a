/**
 * The end of every run: read the previous counters, build this run's picture, PUT it to the
 * Pushgateway group and/or write it to --metrics-file. Never throws: a Pushgateway that is down
 * must not undo or block the expansions already made; main maps `error` to exit status 3.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RunSummary } from '../core/outcome.js';
import type { MetricsConfig } from './config.js';
import { renderExposition } from './exposition.js';
import { readPreviousFile, writeFileAtomic } from './metrics-file.js';
import { previousFromApi, previousFromText } from './previous.js';
import {
  apiMetricsUrl,
  authHeaders,
  groupUrl,
  requestWithRetry,
  type HttpDeps,
  type RequestOptions,
} from './pushgateway-client.js';
import { buildFamilies, NO_PREVIOUS_VALUES, type PreviousValues } from './series.js';
import { realSleep } from '../retry.js';

export interface PublishDeps {
  log: Logger;
  /** Injected in tests; the real defaults are global fetch, setTimeout and fs.readFile. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  readFile?: (path: string) => Promise<string>;
}

export interface PublishResult {
  /** The group was replaced in the Pushgateway. */
  pushed: boolean;
  /** Why the push or the file write failed (names the URL or path); undefined when all went well. */
  error: string | undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Gateway {
  url: URL;
  group: { job: string; cluster: string };
  options: RequestOptions;
  http: HttpDeps;
}

/** ok(undefined) means the Pushgateway holds no such group (empty, restarted, first run). */
async function readGroup(gateway: Gateway): Promise<PreviousValues | undefined> {
  const request = { method: 'GET', url: apiMetricsUrl(gateway.url) } as const;
  const response = await requestWithRetry(request, gateway.options, gateway.http);
  const body: unknown = await response.json();
  const parsed = previousFromApi(body, gateway.group);
  if (!parsed.ok) throw new Error(`${apiMetricsUrl(gateway.url).href}: ${parsed.error}`);
  return parsed.value;
}

async function readFileBaseline(path: string, log: Logger): Promise<PreviousValues> {
  try {
    const text = await readPreviousFile(path);
    return text === undefined ? NO_PREVIOUS_VALUES : previousFromText(text);
  } catch (error) {
    log.warn(
      { path, err: message(error) },
      'previous metrics file unreadable, counters start from this run',
    );
    return NO_PREVIOUS_VALUES;
  }
}

async function makeGateway(config: MetricsConfig, http: HttpDeps): Promise<Gateway | undefined> {
  if (config.pushgatewayUrl === undefined) return undefined;
  const headers = await authHeaders(config.auth, http.readFile);
  return {
    url: config.pushgatewayUrl,
    group: { job: config.jobName, cluster: config.clusterName },
    options: { timeoutMs: config.timeoutMs, retries: config.retries, headers },
    http,
  };
}

/**
 * Reads the baseline: the Pushgateway group when a URL is set, else (or when it cannot be read)
 * the previous metrics file. `gatewayError` set means no PUT must follow: a PUT without the
 * previous values would reset every counter and drop last_success.
 */
async function readBaseline(
  gateway: Gateway | undefined,
  config: MetricsConfig,
  log: Logger,
): Promise<{ previous: PreviousValues; gatewayError: string | undefined }> {
  let gatewayError: string | undefined;
  if (gateway !== undefined) {
    try {
      const previous = await readGroup(gateway);
      if (previous !== undefined) return { previous, gatewayError };
      log.info(
        { url: gateway.url.href, ...gateway.group },
        'no previous metrics group, counters start from this run',
      );
      return { previous: NO_PREVIOUS_VALUES, gatewayError };
    } catch (error) {
      gatewayError = message(error);
    }
  }
  const previous =
    config.metricsFile === undefined
      ? NO_PREVIOUS_VALUES
      : await readFileBaseline(config.metricsFile, log);
  return { previous, gatewayError };
}

/** Replaces the group; returns the error message, or undefined when pushed. */
async function pushStep(
  gateway: Gateway,
  exposition: Exposition,
  log: Logger,
): Promise<string | undefined> {
  const url = groupUrl(gateway.url, gateway.group.job, gateway.group.cluster);
  const headers = { ...gateway.options.headers, 'content-type': exposition.contentType };
  try {
    await requestWithRetry(
      { method: 'PUT', url, body: exposition.text },
      { ...gateway.options, headers },
      gateway.http,
    );
  } catch (error) {
    return message(error);
  }
  const { series, started } = exposition;
  log.info(
    { url: url.href, ...gateway.group, series, durationMs: Date.now() - started },
    'metrics pushed',
  );
  return undefined;
}

/** Writes --metrics-file; returns the error message, or undefined when written. */
async function fileStep(
  path: string,
  exposition: Exposition,
  log: Logger,
): Promise<string | undefined> {
  try {
    await writeFileAtomic(path, exposition.text);
  } catch (error) {
    log.error({ path, err: message(error) }, 'metrics file write failed');
    return `cannot write metrics file ${path}: ${message(error)}`;
  }
  log.info({ path, series: exposition.series }, 'metrics file written');
  return undefined;
}

interface Exposition {
  text: string;
  contentType: string;
  series: number;
  started: number;
}

function httpDeps(deps: PublishDeps): HttpDeps {
  return {
    fetch: deps.fetch ?? globalThis.fetch,
    sleep: deps.sleep ?? realSleep,
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is the operator's own --metrics-file / kubeconfig / secret file, not data from the cluster
    readFile: deps.readFile ?? ((path) => readFile(path, 'utf8')),
    log: deps.log,
  };
}

/** Builds the gateway (reads credential files) and the baseline; collects errors. */
async function prepare(
  config: MetricsConfig,
  deps: PublishDeps,
  errors: string[],
): Promise<{ gateway: Gateway | undefined; previous: PreviousValues }> {
  let gateway: Gateway | undefined;
  try {
    gateway = await makeGateway(config, httpDeps(deps));
  } catch (error) {
    errors.push(`${config.pushgatewayUrl?.href ?? ''}: ${message(error)}`);
  }
  const { previous, gatewayError } = await readBaseline(gateway, config, deps.log);
  if (gatewayError === undefined) return { gateway, previous };
  errors.push(gatewayError);
  return { gateway: undefined, previous };
}

async function publish(
  summary: RunSummary,
  config: MetricsConfig,
  deps: PublishDeps,
): Promise<PublishResult> {
  const { log } = deps;
  if (config.pushgatewayUrl === undefined) {
    log.info({ metricsFile: config.metricsFile }, 'pushgateway url not set, metrics not pushed');
    if (config.metricsFile === undefined) return { pushed: false, error: undefined };
  }
  const started = Date.now();
  const errors: string[] = [];
  // No PUT without the previous values: it would reset every counter and drop last_success.
  const { gateway, previous } = await prepare(config, deps, errors);
  const families = buildFamilies(summary, previous);
  const rendered = await renderExposition(families);
  const series = families.reduce((n, family) => n + family.samples.length, 0);
  const exposition: Exposition = { ...rendered, series, started };

  const pushError = gateway === undefined ? undefined : await pushStep(gateway, exposition, log);
  if (pushError !== undefined) errors.push(pushError);
  const pushed = gateway !== undefined && pushError === undefined;
  if (!pushed && config.pushgatewayUrl !== undefined) {
    log.error({ url: config.pushgatewayUrl.href, err: errors.join('; ') }, 'metrics push failed');
  }
  if (config.metricsFile !== undefined) {
    const fileError = await fileStep(config.metricsFile, exposition, log);
    if (fileError !== undefined) errors.push(fileError);
  }
  return { pushed, error: errors.length === 0 ? undefined : errors.join('; ') };
}

/**
 * Publishes one run's metrics. Resolves, never rejects: `error` names the Pushgateway URL or the
 * file path, and main turns a defined `error` after a completed pass into exit status 3.
 */
export async function publishMetrics(
  summary: RunSummary,
  config: MetricsConfig,
  deps: PublishDeps,
): Promise<PublishResult> {
  try {
    return await publish(summary, config, deps);
  } catch (error) {
    // A bug here must not turn a run that expanded volumes into a crash.
    deps.log.error({ err: message(error) }, 'metrics publishing failed unexpectedly');
    return { pushed: false, error: `metrics: ${message(error)}` };
  }
}
