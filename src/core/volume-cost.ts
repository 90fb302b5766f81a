/**
 * What one managed PVC costs a month, what its expansion adds, and what could be cheaper: the
 * price table applied to the volume's type and sizes. Pure; the pass and `recommend` both use it.
 */
import { formatPrice, formatUsd, monthlyCost, type Usd } from './cost.js';
import { priceOf, type PriceTable } from './prices.js';
import { recommend, type Recommendation } from './recommend.js';
import type { VolumeAttributesClassInfo, VolumeType } from './volume-type.js';

/** What the price table needs to know of one volume besides its sizes. */
export interface CostContext {
  /** Undefined: the type is not known, so nothing is priced. */
  volumeType: VolumeType | undefined;
  /** The StorageClass provisioner. */
  driver: string | undefined;
  /** The VolumeAttributesClass the PVC names, if any. */
  currentClass: string | undefined;
  volumeClasses: readonly VolumeAttributesClassInfo[];
  prices: PriceTable;
}

export interface VolumeCost {
  volumeType: VolumeType | undefined;
  /** The type's price, when the table has it. */
  pricePerGiBMonth: Usd | undefined;
  /** The provisioned size after the pass, priced. */
  monthlyCost: Usd | undefined;
  /** An expansion's (or a would-be expansion's) added size, priced. */
  monthlyCostAdded: Usd | undefined;
  recommendations: readonly Recommendation[];
}

export interface CostSizes {
  /** What is provisioned after the pass (the new request when expanded). */
  sizeBytes: bigint | undefined;
  /** From and to of an expansion; undefined when the PVC is not expanded. */
  expansion: { fromBytes: bigint; toBytes: bigint } | undefined;
}

const NONE: readonly Recommendation[] = [];

/** Shared by every volume of unknown type: most of a fleet without typed classes. */
const UNKNOWN: VolumeCost = {
  volumeType: undefined,
  pricePerGiBMonth: undefined,
  monthlyCost: undefined,
  monthlyCostAdded: undefined,
  recommendations: NONE,
};

export function volumeCost(context: CostContext, sizes: CostSizes): VolumeCost {
  const type = context.volumeType;
  if (type === undefined) return UNKNOWN;
  const price = priceOf(context.prices, type.provider, type.type);
  if (price === undefined)
    return {
      volumeType: type,
      pricePerGiBMonth: undefined,
      monthlyCost: undefined,
      monthlyCostAdded: undefined,
      recommendations: NONE,
    };
  const { sizeBytes, expansion } = sizes;
  const added =
    expansion === undefined || expansion.toBytes <= expansion.fromBytes
      ? undefined
      : monthlyCost(expansion.toBytes - expansion.fromBytes, price);
  return {
    volumeType: type,
    pricePerGiBMonth: price,
    monthlyCost: sizeBytes === undefined ? undefined : monthlyCost(sizeBytes, price),
    monthlyCostAdded: added,
    recommendations:
      sizeBytes === undefined || context.driver === undefined
        ? NONE
        : recommend({
            volume: type,
            bytes: sizeBytes,
            driver: context.driver,
            currentClass: context.currentClass,
            volumeClasses: context.volumeClasses,
            prices: context.prices,
          }),
  };
}

/** "adds $0.40 a month (gp3 at $0.08 per GiB-month)", for the expansion's Event and `explain`. */
export function costAddedNote(cost: VolumeCost): string | undefined {
  const { monthlyCostAdded, pricePerGiBMonth, volumeType } = cost;
  if (monthlyCostAdded === undefined || pricePerGiBMonth === undefined || volumeType === undefined)
    return undefined;
  return `adds $${formatUsd(monthlyCostAdded)} a month (${volumeType.type} at $${formatPrice(pricePerGiBMonth)} per GiB-month)`;
}
