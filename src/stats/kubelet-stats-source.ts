import type { Logger } from 'pino';
import { pvcKey, type StatsLookup, type VolumeStats } from '../core/pvc.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { timedOut } from '../deadline.js';
import type { VolumeStatsSource } from '../ports.js';
import { mapWithConcurrency } from '../concurrency.js';
import { parseSummary, parseSummaryText } from './kubelet-summary.js';

export interface KubeletStatsOptions {
  /** Nodes asked at once. */
  concurrency: number;
  /** Per node: a kubelet that does not answer in time only costs its own PVCs their stats. */
  timeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

/** Asks each node's kubelet once, through the API server proxy. */
export function createKubeletStatsSource(
  client: KubeClient,
  options: KubeletStatsOptions,
): VolumeStatsSource {
  return {
    async collect(pvcsByNode, onStats) {
      const result = new Map<string, StatsLookup>();
      // Each node's answer goes on at once (the pass decides its PVCs while others are asked).
      const deliver = (stats: Map<string, StatsLookup>): void => {
        for (const [key, lookup] of stats) result.set(key, lookup);
        onStats?.(stats);
      };
      await mapWithConcurrency([...pvcsByNode], options.concurrency, async ([node, pvcs]) => {
        const path = `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`;
        try {
          // One attempt: a kubelet that fails costs its PVCs their stats until the next run.
          const summary = await client.request(
            `get stats of node ${node}`,
            { method: 'GET', path, text: true },
            { budget: client.budget(options.timeoutMs), stop: options.signal, attempts: 1 },
          );
          const keys = pvcs.map(pvcKey);
          const stats = readSummary(String(summary), new Set(keys));
          const ofNode = new Map<string, StatsLookup>();
          for (const key of keys) {
            const found = stats.get(key);
            ofNode.set(
              key,
              found === undefined
                ? { kind: 'unavailable', detail: `node ${node} reported no stats for the volume` }
                : { kind: 'found', stats: found },
            );
          }
          deliver(ofNode);
        } catch (error) {
          const detail = `kubelet stats from node ${node} failed: ${describe(error, options.signal)}`;
          options.log.warn({ node, pvcs: pvcs.length, err: detail }, 'kubelet stats unavailable');
          const ofNode = new Map<string, StatsLookup>();
          for (const pvc of pvcs) ofNode.set(pvcKey(pvc), { kind: 'unavailable', detail });
          deliver(ofNode);
        }
      });
      return result;
    },
  };
}

/** Only the pods' volume lists when the text is as expected; else the whole document. */
function readSummary(text: string, wanted: ReadonlySet<string>): Map<string, VolumeStats> {
  return parseSummaryText(text, wanted) ?? parseSummary(JSON.parse(text), wanted);
}

function describe(error: unknown, stop: AbortSignal): string {
  if (timedOut(error)) return 'timed out';
  if (stop.aborted) return 'aborted';
  if (error instanceof KubeApiError)
    return error.status === undefined ? error.detail : `HTTP ${error.status}: ${error.detail}`;
  return error instanceof Error ? error.message : String(error);
}
