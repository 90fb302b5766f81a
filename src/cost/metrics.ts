/**
 * The cost families' samples from a run's outcomes: sums by provider and counts by kind, exact
 * until the last step (a float, as every Prometheus value is, of the amount rounded to the cent).
 */
import { addUsd, formatUsd, ZERO_USD, type Usd } from '../core/cost.js';
import type { PvcOutcome } from '../core/outcome.js';
import { RECOMMENDATION_KINDS } from '../core/recommend.js';
import { withLabel } from '../metrics/text-format.js';

export interface CostSamples {
  monthly: [string, number][];
  added: [string, number][];
  recommendations: [string, number][];
}

function samples(totals: ReadonlyMap<string, Usd>): [string, number][] {
  return [...totals]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([provider, total]) => [withLabel('', 'provider', provider), Number(formatUsd(total))]);
}

function add(totals: Map<string, Usd>, provider: string, amount: Usd | undefined): void {
  if (amount !== undefined) totals.set(provider, addUsd(totals.get(provider) ?? ZERO_USD, amount));
}

/** Nothing when no managed PVC has a priced type: a fleet without cloud volumes gets no series. */
export function costSamples(pvcs: readonly PvcOutcome[]): CostSamples {
  const monthly = new Map<string, Usd>();
  const added = new Map<string, Usd>();
  const kinds = new Map<string, number>(RECOMMENDATION_KINDS.map((kind) => [kind, 0]));
  for (const { cost, action } of pvcs) {
    if (cost?.volumeType === undefined || cost.monthlyCost === undefined) continue;
    const { provider } = cost.volumeType;
    add(monthly, provider, cost.monthlyCost);
    // Every priced provider gets its added series, 0 in a pass without expansions.
    add(added, provider, action === 'expand' ? (cost.monthlyCostAdded ?? ZERO_USD) : ZERO_USD);
    for (const r of cost.recommendations) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  }
  if (monthly.size === 0) return { monthly: [], added: [], recommendations: [] };
  return {
    monthly: samples(monthly),
    added: samples(added),
    recommendations: [...kinds].map(([kind, n]) => [withLabel('', 'kind', kind), n]),
  };
}
