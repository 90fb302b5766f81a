/**
 * The end of every run: read the previous counters, build this run's picture, PUT it to the
 * Pushgateway group and/or write it to --metrics-file. Never throws: a Pushgateway that is down
 * must not undo or block the expansions already made; main maps `error` to exit status 3.
 */
// node:fs's promises, read where used (as in metrics-file.ts): not loaded at start-up.
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import type { RunSummary } from '../core/outcome.js';
import type { MetricsConfig } from './config.js';
import { expositionChunks, type Tally } from './exposition.js';
import { readPreviousFile, writeFileAtomic } from './metrics-file.js';
import { previousFromStream, previousFromText } from './previous.js';
import {
  authHeaders,
  metricsPageUrl,
  groupUrl,
  nodeHttpSend,
  requestWithRetry,
  type HttpSend,
  type HttpDeps,
  type RequestOptions,
} from './pushgateway-client.js';
import {
  NO_PREVIOUS_VALUES,
  planMetrics,
  type MetricsPlan,
  type PreviousValues,
} from './series.js';
import { CONTENT_TYPE } from './text-format.js';
import { realSleep } from '../retry.js';

export interface PublishDeps {
  log: Logger;
  /** Injected in tests; the real defaults are node:http, setTimeout and fs.readFile. */
  send?: HttpSend;
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

/** Only the text format: its lines can be read one by one as they arrive. */
const ACCEPT_TEXT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

/** undefined means the Pushgateway holds no such group (empty, restarted, first run). */
async function readGroup(gateway: Gateway): Promise<PreviousValues | undefined> {
  const url = metricsPageUrl(gateway.url);
  const headers = { ...gateway.options.headers, accept: ACCEPT_TEXT };
  const response = await requestWithRetry(
    { method: 'GET', url },
    { ...gateway.options, headers },
    gateway.http,
  );
  if (response.body === null) throw new Error(`GET ${url.href}: empty reply`);
  try {
    return await previousFromStream(response.body, gateway.group);
  } catch (error) {
    throw new Error(`GET ${url.href}: reading the reply failed: ${message(error)}`);
  }
}

async function readFileBaseline(path: string, log: Logger): Promise<PreviousValues> {
  try {
    const text = await readPreviousFile(path);
    return (text === undefined ? undefined : previousFromText(text)) ?? NO_PREVIOUS_VALUES;
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
  const headers = { ...gateway.options.headers, 'content-type': CONTENT_TYPE };
  const tally: Tally = { series: 0, bytes: 0 };
  try {
    const response = await requestWithRetry(
      { method: 'PUT', url, body: () => expositionChunks(exposition.plan, tally) },
      { ...gateway.options, headers },
      gateway.http,
    );
    // Drained, so the keep-alive socket is free (the reply is empty).
    await response.text();
  } catch (error) {
    return message(error);
  }
  log.info(
    {
      url: url.href,
      ...gateway.group,
      pvcMetrics: exposition.plan.pvcMetrics,
      series: tally.series,
      bytes: tally.bytes,
      durationMs: Date.now() - exposition.started,
    },
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
  const tally: Tally = { series: 0, bytes: 0 };
  try {
    await writeFileAtomic(path, expositionChunks(exposition.plan, tally));
  } catch (error) {
    log.error({ path, err: message(error) }, 'metrics file write failed');
    return `cannot write metrics file ${path}: ${message(error)}`;
  }
  log.info({ path, series: tally.series, bytes: tally.bytes }, 'metrics file written');
  return undefined;
}

/** What is written for this run; the text itself is made anew by each writer, in chunks. */
interface Exposition {
  plan: MetricsPlan;
  started: number;
}

function httpDeps(deps: PublishDeps): HttpDeps {
  return {
    send: deps.send ?? nodeHttpSend,
    sleep: deps.sleep ?? realSleep,
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is the operator's own --metrics-file / kubeconfig / secret file, not data from the cluster
    readFile: deps.readFile ?? ((path) => fs.readFile(path, 'utf8')),
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
  const exposition: Exposition = {
    plan: planMetrics(summary, previous, config.pvcMetrics),
    started,
  };

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
