/**
 * Usage from the kubelets, one Summary API call per node that mounts managed PVCs: through a
 * primary reader (the kubelet directly, or through the API server's node proxy) and, for `auto`,
 * a fallback to the proxy for a node whose kubelet refuses or cannot be reached, when the
 * ServiceAccount may use it. A node that fails costs only its own PVCs.
 */
import type { Logger } from 'pino';
import type { StatsErrorReason } from '../core/outcome.js';
import { pvcKey, type StatsLookup, type StatsSourceName, type VolumeStats } from '../core/pvc.js';
import { mapWithConcurrency } from '../concurrency.js';
import type { VolumeStatsSource } from '../ports.js';
import { readSummary } from './kubelet-summary.js';
import { describeFailure, reasonOf, StatsSourceError } from './source-error.js';
import type { StatsTally } from './tally.js';

/** One way to a node's Summary API. */
export interface NodeSummaryReader {
  readonly source: Extract<StatsSourceName, 'kubelet' | 'kubelet-proxy'>;
  /** The /stats/summary answer's bytes; throws on any failure, under its own deadline. */
  read(node: string): Promise<Buffer>;
  /** How a failure reads in a PVC's detail, e.g. "kubelet stats from node n1 failed: timed out". */
  failure(node: string, description: string): string;
}

/** Whether the fallback may be used: asked once per pass, the first time it is needed. */
export type Permission = { allowed: true } | { allowed: false; why: string };

export interface Fallback {
  reader: NodeSummaryReader;
  permitted: () => Promise<Permission>;
}

/**
 * Failures after which the proxy may do better: a refusal, or a kubelet out of reach (no
 * connection, a certificate that does not verify, no address). Not a kubelet that accepted the
 * connection and then failed or did not answer in time: the proxy would reach the same kubelet.
 */
const FALLS_BACK: ReadonlySet<StatsErrorReason> = new Set<StatsErrorReason>([
  'unauthorized',
  'forbidden',
  'unreachable',
  'tls',
  'no-address',
]);

export interface NodeStatsOptions {
  primary: NodeSummaryReader;
  fallback: Fallback | undefined;
  /** Nodes asked at once. */
  concurrency: number;
  /** Aborts in-flight calls once the run gives up on them (after the shutdown grace). */
  signal: AbortSignal;
  log: Logger;
  tally: StatsTally;
}

type NodeOutcome =
  | {
      ok: true;
      /** The stats of the node's volumes that the pass asked about. */
      stats: Map<string, VolumeStats>;
      source: NodeSummaryReader['source'];
      /** Why the primary failed, when the fallback answered. */
      fellBackFrom?: StatsErrorReason;
    }
  | { ok: false; detail: string; source: NodeSummaryReader['source']; reason: StatsErrorReason };

/** Memoises the permission check: one SelfSubjectAccessReview per pass at most. */
function once(check: () => Promise<Permission>): () => Promise<Permission> {
  let result: Promise<Permission> | undefined;
  return () => (result ??= check());
}

export function createNodeStatsSource(options: NodeStatsOptions): VolumeStatsSource {
  const { primary, log, tally, signal } = options;
  const fallback =
    options.fallback === undefined
      ? undefined
      : { ...options.fallback, permitted: once(options.fallback.permitted) };

  /** A reader's failure on a node, counted unless the run itself was stopped. */
  const failed = (reader: NodeSummaryReader, node: string, error: unknown): NodeOutcome => {
    const reason = reasonOf(error);
    if (!signal.aborted) tally.failed(reader.source, reason);
    const detail = reader.failure(node, describeFailure(error, signal));
    return { ok: false, detail, source: reader.source, reason };
  };

  /** One reader's attempt: the answer is read as soon as it is in, for the `wanted` PVCs. */
  const attempt = async (
    reader: NodeSummaryReader,
    node: string,
    wanted: ReadonlySet<string>,
  ): Promise<NodeOutcome> => {
    let bytes: Buffer;
    try {
      bytes = await reader.read(node);
    } catch (error) {
      return failed(reader, node, error);
    }
    const stats = readSummary(bytes, wanted);
    if (!stats.ok) return failed(reader, node, new StatsSourceError('bad-response', stats.error));
    return { ok: true, stats: stats.value, source: reader.source };
  };

  const readNode = async (node: string, wanted: ReadonlySet<string>): Promise<NodeOutcome> => {
    const first = await attempt(primary, node, wanted);
    if (first.ok || fallback === undefined || signal.aborted || !FALLS_BACK.has(first.reason))
      return first;
    const permission = await fallback.permitted();
    if (!permission.allowed)
      return {
        ...first,
        detail: `${first.detail}; no fallback through the API server: ${permission.why}`,
      };
    const second = await attempt(fallback.reader, node, wanted);
    if (second.ok) {
      log.debug(
        { node, reason: first.reason, err: first.detail },
        'kubelet read through the API server proxy',
      );
      return { ...second, fellBackFrom: first.reason };
    }
    return { ...second, detail: `${first.detail}; through the API server: ${second.detail}` };
  };

  return {
    perNode: true,
    async collect(pvcsByNode, onStats) {
      const result = new Map<string, StatsLookup>();
      const fellBack: Partial<Record<StatsErrorReason, number>> = {};
      await mapWithConcurrency([...pvcsByNode], options.concurrency, async ([node, pvcs]) => {
        const keys = pvcs.map(pvcKey);
        const outcome = await readNode(node, new Set(keys));
        const reason = outcome.ok ? outcome.fellBackFrom : undefined;
        if (reason !== undefined) fellBack[reason] = (fellBack[reason] ?? 0) + 1;
        // Each node's answer goes on at once: the pass decides its PVCs while others are asked.
        const ofNode = new Map<string, StatsLookup>();
        record(ofNode, { node, keys, outcome }, options);
        for (const [key, lookup] of ofNode) result.set(key, lookup);
        onStats?.(ofNode);
      });
      const nodes = Object.values(fellBack).reduce((sum, n) => sum + n, 0);
      if (nodes > 0)
        log.info({ nodes, reasons: fellBack }, 'kubelets read through the API server proxy');
      return result;
    },
  };
}

/** Each of the node's PVCs gets its stats, or the node's failure. */
function record(
  result: Map<string, StatsLookup>,
  read: { node: string; keys: readonly string[]; outcome: NodeOutcome },
  options: NodeStatsOptions,
): void {
  const { node, keys, outcome } = read;
  const { source } = outcome;
  if (!outcome.ok) {
    options.log.warn(
      { node, pvcs: keys.length, source, reason: outcome.reason, err: outcome.detail },
      'kubelet stats unavailable',
    );
    for (const key of keys)
      result.set(key, { kind: 'unavailable', detail: outcome.detail, source });
    return;
  }
  let found = 0;
  for (const key of keys) {
    const entry = outcome.stats.get(key);
    if (entry === undefined) {
      const detail = `node ${node} reported no stats for the volume`;
      result.set(key, { kind: 'unavailable', detail, source });
    } else {
      found++;
      result.set(key, { kind: 'found', stats: entry, source });
    }
  }
  options.tally.read(source, found);
}
