/**
 * Usage from Prometheus' kubelet_volume_stats_* series: one instant query per metric for the
 * whole pass (never one per PVC), plus one for the age of the samples, and one range query of
 * used bytes over --forecast-window for the growth forecasts. Needs no access to the
 * nodes at all, only a Prometheus (or Thanos, Mimir, Cortex) that scrapes the kubelets.
 */
import type { Logger } from 'pino';
import { formatDuration } from '../core/duration.js';
import { pvcKey, type StatsLookup } from '../core/pvc.js';
import type { ApiConnection } from '../kube/api-connection.js';
import { KubeApiError } from '../kube/errors.js';
import type { CallOptions, KubeClient, KubeRequest } from '../kube/client.js';
import type { VolumeStatsSource } from '../ports.js';
import type { UsageFit } from '../core/forecast.js';
import { readMatrix } from './prometheus-matrix.js';
import {
  freshnessQuery,
  parseVector,
  usageHistoryQuery,
  VOLUME_FIELDS,
  VOLUME_METRICS,
  volumeQuery,
  volumeStatsOf,
  type Vector,
  type VolumeField,
  type VolumeValues,
} from './prometheus-query.js';
import { describeCall, describeFailure, reasonOf, StatsSourceError } from './source-error.js';
import type { StatsTally } from './tally.js';

export interface PrometheusOptions {
  /** The API's base URL; a path prefix (a Mimir or Thanos route) is kept. */
  url: URL;
  /** Sent with every query: `--prometheus-header`s and the bearer token. */
  headers: Readonly<Record<string, string>>;
  /** Verifies an https: Prometheus; default the system's roots. */
  caPem: string | undefined;
  /** Label matchers added to every series selector, e.g. job="kubelet". */
  selector: string;
  /** A sample older than this is stale: the PVC is metrics-unavailable. */
  maxAgeMs: number;
  /** Per query. */
  timeoutMs: number;
  /** A client of the one kind (transport, deadline, errors) for another server: Prometheus. */
  clientFor: (connection: ApiConnection) => KubeClient;
  /** --forecast-window: each PVC's used bytes over this long feed its growth forecast. */
  forecastWindowMs: number;
  /** The pass's clock: the end of the history's range. */
  now: () => Date;
  signal: AbortSignal;
  log: Logger;
  tally: StatsTally;
}

type Query = (expr: string) => Promise<Vector>;
type Params = Readonly<Record<string, string>>;

/** Calls of Prometheus' HTTP API with form parameters; each throws StatsSourceError. */
interface Api {
  /** The answer parsed, as the one client parses JSON answers. */
  json(path: string, params: Params): Promise<unknown>;
  /** The answer as sent, for a reader of its own (the range query's, read into fits). */
  bytes(path: string, params: Params): Promise<Buffer>;
}

/** Prometheus as a server of the one client: its URL, its headers, its CA. */
function prometheusConnection(options: PrometheusOptions): ApiConnection {
  const tls = options.caPem === undefined ? {} : { ca: options.caPem };
  return {
    server: options.url,
    source: 'prometheus',
    warnings: [],
    credentials: () => Promise.resolve({ tls, headers: { ...options.headers } }),
  };
}

/** 405 or 501 to a POST: a gateway that takes only GET. */
function postRefused(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 405 || error.status === 501);
}

/**
 * POST with a form body, as client_golang's API client sends queries (long selectors fit), and
 * GET with the same parameters when a gateway answers 405 or 501 to the POST. One attempt each,
 * each with the per-query timeout.
 */
function createApi(options: PrometheusOptions): Api {
  const client = options.clientFor(prometheusConnection(options));
  const { signal, timeoutMs } = options;
  const limits = (): CallOptions => ({
    budget: client.budget(timeoutMs),
    stop: signal,
    attempts: 1,
  });
  const call = async <T>(
    path: string,
    params: Params,
    send: (request: KubeRequest) => Promise<T>,
  ): Promise<T> => {
    const form = new URLSearchParams(params).toString();
    try {
      try {
        return await send({
          method: 'POST',
          path,
          text: form,
          contentType: 'application/x-www-form-urlencoded',
        });
      } catch (error) {
        if (!postRefused(error)) throw error;
        return await send({ method: 'GET', path, query: { ...params } });
      }
    } catch (error) {
      throw new StatsSourceError(reasonOf(error), describeCall(error, signal));
    }
  };
  return {
    json: (path, params) =>
      call(path, params, (request) => client.request('query prometheus', request, limits())),
    bytes: (path, params) =>
      call(path, params, async (request) => {
        const answer = await client.bytes(
          'query prometheus',
          { ...request, accept: 'application/json' },
          limits(),
        );
        return answer.bytes;
      }),
  };
}

function createQuery(api: Api): Query {
  return async (expr) => {
    const vector = parseVector(await api.json('/api/v1/query', { query: expr }));
    if (!vector.ok) throw new StatsSourceError('bad-response', vector.error);
    return vector.value;
  };
}

interface Answers {
  values: VolumeValues;
  freshness: Vector;
}

/** Every query of the pass, at once; the first failure fails them all (no half-read stats). */
async function askAll(query: Query, options: PrometheusOptions): Promise<Answers> {
  const fields = VOLUME_FIELDS;
  const names = [...fields.map((field) => VOLUME_METRICS[field]), 'timestamp()'];
  const settled = await Promise.allSettled([
    ...fields.map((field) => query(volumeQuery(field, options.selector))),
    query(freshnessQuery(options.selector)),
  ]);
  let first: { name: string; error: unknown } | undefined;
  for (const [index, outcome] of settled.entries()) {
    if (outcome.status === 'fulfilled') continue;
    if (!options.signal.aborted) options.tally.failed('prometheus', reasonOf(outcome.reason));
    first ??= { name: names[index] ?? '', error: outcome.reason };
  }
  if (first !== undefined)
    throw new StatsSourceError(
      reasonOf(first.error),
      `the ${first.name} query failed: ${describeFailure(first.error, options.signal)}`,
    );
  const vectors = settled.map((outcome) =>
    outcome.status === 'fulfilled' ? outcome.value : undefined,
  );
  const values = Object.fromEntries(
    fields.map((field, index) => [field, vectors[index]?.values ?? new Map<string, string>()]),
  ) as Record<VolumeField, Map<string, string>>;
  const freshness = vectors[fields.length] ?? { evaluatedAt: Number.NaN, values: new Map() };
  return { values, freshness };
}

/** One PVC's lookup from the answers: fresh and exact stats, or why not. */
function lookup(answers: Answers, key: string, options: PrometheusOptions): StatsLookup {
  const source = 'prometheus';
  const scrapedAt = Number(answers.freshness.values.get(key));
  if (!Number.isFinite(scrapedAt)) {
    const selector = options.selector === '' ? '' : ` matching {${options.selector}}`;
    const detail = `Prometheus has no ${VOLUME_METRICS.capacityBytes} series for the volume${selector}`;
    return { kind: 'unavailable', detail, source };
  }
  // Both times are Prometheus' own (evaluation and scrape), so no clock skew enters the age.
  const ageMs = Math.max(0, Math.round((answers.freshness.evaluatedAt - scrapedAt) * 1000));
  if (ageMs > options.maxAgeMs) {
    const detail = `Prometheus' latest sample is ${formatDuration(ageMs)} old, older than --prometheus-max-age ${formatDuration(options.maxAgeMs)}`;
    return { kind: 'unavailable', detail, source };
  }
  const stats = volumeStatsOf(answers.values, key);
  return stats.ok
    ? { kind: 'found', stats: stats.value, source }
    : { kind: 'unavailable', detail: stats.error, source };
}

/**
 * Each PVC's used bytes over --forecast-window (one range query for the pass). The forecast is
 * worth less than the stats: a failure is logged, and the PVCs' forecasts then come from their
 * own usage samples.
 */
async function askHistory(
  api: Api,
  options: PrometheusOptions,
): Promise<Map<string, UsageFit> | undefined> {
  const params = usageHistoryQuery(
    options.selector,
    options.now().getTime(),
    options.forecastWindowMs,
  );
  try {
    const matrix = readMatrix(await api.bytes('/api/v1/query_range', params));
    if (matrix.ok) return matrix.value;
    options.log.warn(
      { err: matrix.error },
      'prometheus usage history unreadable: no forecast from it',
    );
  } catch (error) {
    const detail = describeFailure(error, options.signal);
    options.log.warn({ err: detail }, 'prometheus usage history unavailable: no forecast from it');
  }
  return undefined;
}

/** A found lookup with its history from Prometheus, when there is one. */
function withHistory(entry: StatsLookup, history: UsageFit | undefined): StatsLookup {
  return entry.kind === 'found' && history !== undefined ? { ...entry, history } : entry;
}

export function createPrometheusSource(options: PrometheusOptions): VolumeStatsSource {
  const api = createApi(options);
  const query = createQuery(api);
  const where = `${options.url.origin}${options.url.pathname.replace(/\/$/, '')}`;
  return {
    // Series carry the PVC's namespace and name: no node needed, no pod list up front.
    perNode: false,
    async collect(pvcsByNode) {
      const result = new Map<string, StatsLookup>();
      const keys = [...pvcsByNode.values()].flatMap((pvcs) => pvcs.map(pvcKey));
      if (keys.length === 0) return result;
      // Started with the instant queries, never failing: awaited on every path.
      const asked = askHistory(api, options);
      let answers: Answers;
      try {
        answers = await askAll(query, options);
      } catch (error) {
        await asked;
        const detail = `Prometheus ${where}: ${describeFailure(error, options.signal)}`;
        options.log.warn(
          { url: where, pvcs: keys.length, err: detail },
          'prometheus stats unavailable',
        );
        for (const key of keys)
          result.set(key, { kind: 'unavailable', detail, source: 'prometheus' });
        return result;
      }
      const history = await asked;
      let found = 0;
      for (const key of keys) {
        const entry = lookup(answers, key, options);
        if (entry.kind === 'found') found++;
        result.set(key, withHistory(entry, history?.get(key)));
      }
      options.tally.read('prometheus', found);
      return result;
    },
  };
}
