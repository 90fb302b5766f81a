/**
 * Volume-type recommendations: read-only advice with the monthly saving at the price table's
 * figures. Never applied: changing a type changes performance, and a person decides.
 */
import { compareUsd, formatPrice, monthlyCost, subUsd, type Usd } from './cost.js';
import { priceOf, type PriceTable } from './prices.js';
import { formatQuantity, GiB } from './quantity.js';
import { typeParameter, type VolumeAttributesClassInfo, type VolumeType } from './volume-type.js';

/** Report words, also the `kind` label of pvc_chonker_recommendations. */
export type RecommendationKind = 'gp2-to-gp3' | 'io1-to-io2' | 'volume-attributes-class';

export const RECOMMENDATION_KINDS: readonly RecommendationKind[] = [
  'gp2-to-gp3',
  'io1-to-io2',
  'volume-attributes-class',
];

export interface Recommendation {
  kind: RecommendationKind;
  detail: string;
  /** Per month, at the price table's figures; capacity only. */
  monthlySaving: Usd;
}

export interface RecommendInput {
  volume: VolumeType;
  /** The provisioned size the saving is computed on. */
  bytes: bigint;
  /** The StorageClass provisioner: a VolumeAttributesClass must name the same driver. */
  driver: string;
  /** The VolumeAttributesClass the PVC already names, if any. */
  currentClass: string | undefined;
  volumeClasses: readonly VolumeAttributesClassInfo[];
  prices: PriceTable;
}

/** gp2 has 3 IOPS per GiB (at least 100, at most 16,000); gp3 includes 3,000. */
const GP3_INCLUDED_IOPS = 3_000n;
const GP2_IOPS_PER_GIB = 3n;
const GP2_MAX_IOPS = 16_000n;

function perGiB(price: Usd): string {
  return `$${formatPrice(price)}`;
}

function saving(bytes: bigint, from: Usd, to: Usd): Usd {
  return subUsd(monthlyCost(bytes, from), monthlyCost(bytes, to));
}

function gp2ToGp3(input: RecommendInput, current: Usd): Recommendation | undefined {
  const gp3 = priceOf(input.prices, 'aws', 'gp3');
  if (gp3 === undefined || compareUsd(gp3, current) >= 0) return undefined;
  const gp2Iops = (input.bytes / GiB) * GP2_IOPS_PER_GIB;
  const baseline = gp2Iops > GP2_MAX_IOPS ? GP2_MAX_IOPS : gp2Iops;
  const iops =
    baseline > GP3_INCLUDED_IOPS
      ? `; gp2 gives this ${formatQuantity(input.bytes)} volume a ${baseline.toLocaleString('en-US')} IOPS baseline: provision the IOPS above 3,000 on gp3 (priced apart)`
      : '';
  return {
    kind: 'gp2-to-gp3',
    detail: `gp3 is ${perGiB(gp3)} per GiB-month instead of ${perGiB(current)} and includes 3,000 IOPS and 125 MiB/s${iops}`,
    monthlySaving: saving(input.bytes, current, gp3),
  };
}

function io1ToIo2(input: RecommendInput, current: Usd): Recommendation | undefined {
  const io2 = priceOf(input.prices, 'aws', 'io2');
  // Recommended at the same price too: io2 is designed for 99.999 % durability, io1 for 99.8-99.9 %.
  if (io2 === undefined || compareUsd(io2, current) > 0) return undefined;
  return {
    kind: 'io1-to-io2',
    detail: `io2 is ${perGiB(io2)} per GiB-month (io1 ${perGiB(current)}), its provisioned IOPS cost the same up to 32,000 and less above, and it is designed for 99.999 % durability instead of 99.8-99.9 %`,
    monthlySaving: saving(input.bytes, current, io2),
  };
}

interface ClassOffer {
  name: string;
  type: string;
  price: Usd;
}

/** A class of the volume's driver (not the one it already has) with a priced type below `current`. */
function offerOf(
  input: RecommendInput,
  vac: VolumeAttributesClassInfo,
  current: Usd,
): ClassOffer | undefined {
  if (vac.driverName !== input.driver || vac.name === input.currentClass) return undefined;
  const type = typeParameter(input.driver, vac.parameters);
  const price = type === undefined ? undefined : priceOf(input.prices, input.volume.provider, type);
  if (type === undefined || price === undefined || compareUsd(price, current) >= 0)
    return undefined;
  return { name: vac.name, type, price };
}

/** The cheapest offer; between equal prices, the first name. */
function better(offer: ClassOffer, best: ClassOffer | undefined): boolean {
  if (best === undefined) return true;
  const order = compareUsd(offer.price, best.price);
  return order < 0 || (order === 0 && offer.name < best.name);
}

/** The VolumeAttributesClass of the same driver whose type saves the most, if any saves. */
function cheaperClass(input: RecommendInput, current: Usd): Recommendation | undefined {
  let best: ClassOffer | undefined;
  for (const vac of input.volumeClasses) {
    const offer = offerOf(input, vac, current);
    if (offer !== undefined && better(offer, best)) best = offer;
  }
  if (best === undefined) return undefined;
  return {
    kind: 'volume-attributes-class',
    detail: `VolumeAttributesClass ${best.name} sets type ${best.type} (${perGiB(best.price)} per GiB-month instead of ${perGiB(current)} for ${input.volume.type}): set spec.volumeAttributesClassName to ${best.name} if its performance fits the workload`,
    monthlySaving: saving(input.bytes, current, best.price),
  };
}

/** Every recommendation for one volume, in RECOMMENDATION_KINDS order; none when its price is unknown. */
export function recommend(input: RecommendInput): Recommendation[] {
  const current = priceOf(input.prices, input.volume.provider, input.volume.type);
  if (current === undefined || input.bytes <= 0n) return [];
  const type = input.volume.type.toLowerCase();
  const found: (Recommendation | undefined)[] = [
    input.volume.provider === 'aws' && type === 'gp2' ? gp2ToGp3(input, current) : undefined,
    input.volume.provider === 'aws' && type === 'io1' ? io1ToIo2(input, current) : undefined,
    cheaperClass(input, current),
  ];
  return found.filter((r): r is Recommendation => r !== undefined);
}
