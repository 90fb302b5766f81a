/** The cost keys of a report row, `explain --output json` and `recommend --output json`. */
import { formatUsd, type Usd } from '../core/cost.js';
import type { Recommendation } from '../core/recommend.js';
import type { VolumeCost } from '../core/volume-cost.js';

function usd(amount: Usd | undefined): string | null {
  return amount === undefined ? null : formatUsd(amount);
}

export interface RecommendationJson {
  kind: Recommendation['kind'];
  detail: string;
  /** Rounded to the cent: "2.00". */
  monthlySavingUsd: string;
}

export function recommendationJson(r: Recommendation): RecommendationJson {
  return { kind: r.kind, detail: r.detail, monthlySavingUsd: formatUsd(r.monthlySaving) };
}

/** Money as decimal strings rounded to the cent (docs/cost.md); null when not known. */
export function costJson(cost: VolumeCost | undefined): Record<string, unknown> {
  return {
    volumeType: cost?.volumeType?.type ?? null,
    monthlyCostUsd: usd(cost?.monthlyCost),
    monthlyCostAddedUsd: usd(cost?.monthlyCostAdded),
    recommendations: (cost?.recommendations ?? []).map(recommendationJson),
  };
}
