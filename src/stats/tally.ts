/**
 * What the stats sources did in one pass: the PVCs each one answered for, and each failed
 * request by reason. The composition root hands it to the run's summary, and the metrics turn it
 * into pvc_chonker_stats_source_pvcs and pvc_chonker_stats_source_errors_total.
 */
import type { StatsErrorReason, StatsSourceReport } from '../core/outcome.js';
import type { StatsSourceName } from '../core/pvc.js';

export interface StatsTally {
  /** `count` PVCs' usage was read from `source`. */
  read(source: StatsSourceName, count: number): void;
  /** One request to `source` failed for `reason`. */
  failed(source: StatsSourceName, reason: StatsErrorReason): void;
  report(): StatsSourceReport;
}

export function createStatsTally(sources: readonly StatsSourceName[]): StatsTally {
  const pvcs: Partial<Record<StatsSourceName, number>> = {};
  const errors = new Map<
    string,
    { source: StatsSourceName; reason: StatsErrorReason; count: number }
  >();
  return {
    read(source, count) {
      pvcs[source] = (pvcs[source] ?? 0) + count;
    },
    failed(source, reason) {
      const key = `${source} ${reason}`;
      const entry = errors.get(key) ?? { source, reason, count: 0 };
      entry.count += 1;
      errors.set(key, entry);
    },
    report() {
      return { sources: [...sources], pvcs: { ...pvcs }, errors: [...errors.values()] };
    },
  };
}
