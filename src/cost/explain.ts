/** The cost part of `pvc-chonker explain`: a view of what the pass priced, never a second pricing. */
import { formatPrice, formatUsd } from '../core/cost.js';
import type { VolumeCost } from '../core/volume-cost.js';
import { recommendationJson, type RecommendationJson } from './json.js';

export interface CostExplanation {
  cost: {
    volumeType: string;
    /** Where the type was read: a StorageClass, a VolumeAttributesClass, the cloud. */
    source: string;
    pricePerGiBMonthUsd: string | null;
    monthlyCostUsd: string | null;
    monthlyCostAddedUsd: string | null;
  } | null;
  recommendations: RecommendationJson[];
}

export function explainCost(cost: VolumeCost | undefined): CostExplanation {
  const type = cost?.volumeType;
  if (cost === undefined || type === undefined) return { cost: null, recommendations: [] };
  const usd = (amount: typeof cost.monthlyCost): string | null =>
    amount === undefined ? null : formatUsd(amount);
  return {
    cost: {
      volumeType: type.type,
      source: type.source,
      pricePerGiBMonthUsd:
        cost.pricePerGiBMonth === undefined ? null : formatPrice(cost.pricePerGiBMonth),
      monthlyCostUsd: usd(cost.monthlyCost),
      monthlyCostAddedUsd: usd(cost.monthlyCostAdded),
    },
    recommendations: cost.recommendations.map(recommendationJson),
  };
}

/** The text lines: "Cost" and one "Recommend" line per recommendation (details wrapped by the caller). */
export function costLines(
  e: CostExplanation & { managed: boolean },
): { label: string; text: string }[] {
  if (!e.managed)
    return [
      { label: 'Cost', text: 'not priced: not managed (pvc-chonker recommend covers every PVC)' },
    ];
  if (e.cost === null) return [{ label: 'Cost', text: 'unknown (no priced volume type)' }];
  const c = e.cost;
  const price =
    c.pricePerGiBMonthUsd === null
      ? 'no price in the table'
      : `$${c.pricePerGiBMonthUsd} per GiB-month, $${c.monthlyCostUsd ?? '-'} a month`;
  const added =
    c.monthlyCostAddedUsd === null ? '' : `; the expansion adds $${c.monthlyCostAddedUsd} a month`;
  return [
    { label: 'Cost', text: `${c.volumeType} (from ${c.source}): ${price}${added}` },
    ...e.recommendations.map((r) => ({
      label: 'Recommend',
      text: `${r.kind}, saves $${r.monthlySavingUsd} a month: ${r.detail}`,
    })),
  ];
}
