/**
 * `pvc-chonker recommend`: the volume-type recommendations for every PVC of the fleet, managed or
 * not. Read-only: one list of StorageClasses, one of VolumeAttributesClasses, the PVCs page by
 * page; nothing is changed. The rules are the pass's own (core/recommend.ts).
 */
import type { Logger } from 'pino';
import { compareUsd, formatUsd, sumUsd, type Usd } from './core/cost.js';
import type { PriceTable } from './core/prices.js';
import { pvcKey } from './core/pvc.js';
import { formatQuantity } from './core/quantity.js';
import type { Recommendation } from './core/recommend.js';
import { volumeCost } from './core/volume-cost.js';
import type { VolumeType } from './core/volume-type.js';
import { recommendationJson } from './cost/json.js';
import { costContextFor, listVolumeClasses } from './cost/pass-pricing.js';
import type { Cluster, Coordination } from './ports.js';

export interface FleetRecommendation {
  namespace: string;
  name: string;
  sizeBytes: bigint;
  volumeType: VolumeType;
  monthlyCost: Usd;
  recommendation: Recommendation;
}

export interface RecommendDeps {
  cluster: Pick<Cluster, 'listPvcs' | 'listStorageClasses'>;
  coordination: Coordination | undefined;
  log: Logger;
}

export interface RecommendOptions {
  namespaces: readonly string[];
  pageSize: number;
  prices: PriceTable;
}

/** Every recommendation of every PVC, in list order (one row per recommendation). */
export async function recommendFleet(
  deps: RecommendDeps,
  options: RecommendOptions,
): Promise<FleetRecommendation[]> {
  const [classes, volumeClasses] = await Promise.all([
    deps.cluster.listStorageClasses(),
    listVolumeClasses(deps.coordination, options.pageSize, deps.log),
  ]);
  const pricing = {
    prices: options.prices,
    volumeClasses,
    byName: new Map(volumeClasses.map((c) => [c.name, c])),
  };
  // Keyed by namespace/name: a list restarted after an expired continue token repeats PVCs.
  const rows = new Map<string, FleetRecommendation[]>();
  for await (const page of deps.cluster.listPvcs(options.namespaces, options.pageSize)) {
    for (const pvc of page) {
      const storageClass =
        pvc.storageClassName === undefined ? undefined : classes.get(pvc.storageClassName);
      const context = costContextFor(pricing, pvc, storageClass);
      const sizeBytes = pvc.capacityBytes ?? pvc.requestBytes;
      if (context === undefined || sizeBytes === undefined) continue;
      const cost = volumeCost(context, { sizeBytes, expansion: undefined });
      const { volumeType, monthlyCost } = cost;
      if (volumeType === undefined || monthlyCost === undefined) continue;
      rows.set(
        pvcKey(pvc),
        cost.recommendations.map((recommendation) => ({
          namespace: pvc.namespace,
          name: pvc.name,
          sizeBytes,
          volumeType,
          monthlyCost,
          recommendation,
        })),
      );
    }
  }
  return [...rows.values()].flat();
}

export function recommendationRowJson(row: FleetRecommendation): Record<string, unknown> {
  return {
    namespace: row.namespace,
    name: row.name,
    size: formatQuantity(row.sizeBytes),
    provider: row.volumeType.provider,
    volumeType: row.volumeType.type,
    monthlyCostUsd: formatUsd(row.monthlyCost),
    ...recommendationJson(row.recommendation),
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The most one PVC's recommendations save (they are alternatives), summed over the PVCs. */
function upToSaving(rows: readonly FleetRecommendation[]): Usd {
  const best = new Map<string, Usd>();
  for (const row of rows) {
    const key = pvcKey(row);
    const saving = row.recommendation.monthlySaving;
    const seen = best.get(key);
    if (seen === undefined || compareUsd(saving, seen) > 0) best.set(key, saving);
  }
  return sumUsd(best.values());
}

export function formatRecommendTable(
  rows: readonly FleetRecommendation[],
  prices: PriceTable,
): string {
  const header = [
    'NAMESPACE',
    'PVC',
    'SIZE',
    'TYPE',
    'COST/MONTH',
    'KIND',
    'SAVING/MONTH',
    'DETAIL',
  ];
  const cells = rows.map((row) => [
    row.namespace,
    row.name,
    formatQuantity(row.sizeBytes),
    row.volumeType.type,
    `$${formatUsd(row.monthlyCost)}`,
    row.recommendation.kind,
    `$${formatUsd(row.recommendation.monthlySaving)}`,
    row.recommendation.detail,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  const pvcs = new Set(rows.map(pvcKey)).size;
  const footer =
    rows.length === 0
      ? 'no recommendations'
      : `${plural(rows.length, 'recommendation')} for ${plural(pvcs, 'PVC')}: up to $${formatUsd(upToSaving(rows))} a month`;
  return [
    ...(rows.length === 0 ? [] : [line(header), ...cells.map(line), '']),
    `${footer} (capacity only; prices: ${prices.source})`,
  ]
    .join('\n')
    .concat('\n');
}
