/**
 * Usage from Prometheus' kubelet_volume_stats_* series: one instant query per metric for the
 * whole pass (never one per PVC), plus one for the age of the samples. Needs no access to the
 * nodes at all, only a Prometheus (or Thanos, Mimir, Cortex) that scrapes the kubelets.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { formatDuration } from '../core/duration.js';
import { pvcKey, type StatsLookup } from '../core/pvc.js';
import type { VolumeStatsSource } from '../ports.js';
import { httpRequest, type HttpRequest } from './http-request.js';
import {
  errorOfBody,
  freshnessQuery,
  parseVector,
  VOLUME_FIELDS,
  VOLUME_METRICS,
  volumeQuery,
  volumeStatsOf,
  type Vector,
  type VolumeField,
  type VolumeValues,
} from './prometheus-query.js';
import { describeFailure, reasonOf, reasonOfStatus, StatsSourceError } from './source-error.js';
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
  signal: AbortSignal;
  log: Logger;
  tally: StatsTally;
}

/** The /api/v1/query endpoint under the base URL (its path prefix kept). */
function queryUrl(base: URL): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/$/, '')}/api/v1/query`;
  return url;
}

type Query = (expr: string) => Promise<Vector>;

/**
 * POST with a form body, as client_golang's API client sends queries (long selectors fit), and
 * GET with the same parameters when a gateway answers 405 or 501 to the POST.
 */
function createQuery(options: PrometheusOptions): Query {
  const endpoint = queryUrl(options.url);
  const agent =
    endpoint.protocol === 'https:'
      ? new https.Agent({ keepAlive: true })
      : new http.Agent({ keepAlive: true });
  const tls = options.caPem === undefined ? {} : { ca: options.caPem };
  const limits = { timeoutMs: options.timeoutMs, stop: options.signal };
  const send = (request: Omit<HttpRequest, 'agent' | 'tls'>) =>
    httpRequest({ ...request, agent, tls }, limits);
  return async (expr) => {
    const form = new URLSearchParams({ query: expr }).toString();
    const headers = { ...options.headers, Accept: 'application/json' };
    let answer = await send({
      method: 'POST',
      url: endpoint,
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    if (answer.status === 405 || answer.status === 501) {
      const url = new URL(endpoint.href);
      url.search = form;
      answer = await send({ method: 'GET', url, headers });
    }
    if (answer.status !== 200)
      throw new StatsSourceError(
        reasonOfStatus(answer.status),
        `HTTP ${answer.status}: ${errorOfBody(answer.body)}`,
      );
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      throw new StatsSourceError('bad-response', 'the answer is not JSON');
    }
    const vector = parseVector(body);
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

export function createPrometheusSource(options: PrometheusOptions): VolumeStatsSource {
  const query = createQuery(options);
  const where = `${options.url.origin}${options.url.pathname.replace(/\/$/, '')}`;
  return {
    async collect(pvcsByNode) {
      const result = new Map<string, StatsLookup>();
      const keys = [...pvcsByNode.values()].flatMap((pvcs) => pvcs.map(pvcKey));
      if (keys.length === 0) return result;
      let answers: Answers;
      try {
        answers = await askAll(query, options);
      } catch (error) {
        const detail = `Prometheus ${where}: ${describeFailure(error, options.signal)}`;
        options.log.warn(
          { url: where, pvcs: keys.length, err: detail },
          'prometheus stats unavailable',
        );
        for (const key of keys)
          result.set(key, { kind: 'unavailable', detail, source: 'prometheus' });
        return result;
      }
      let found = 0;
      for (const key of keys) {
        const entry = lookup(answers, key, options);
        if (entry.kind === 'found') found++;
        result.set(key, entry);
      }
      options.tally.read('prometheus', found);
      return result;
    },
  };
}
