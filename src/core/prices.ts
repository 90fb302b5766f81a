/**
 * The price table: US dollars per GiB-month of provisioned capacity, per provider and volume
 * type, for one stated region each. Capacity only: provisioned IOPS and throughput above a
 * type's included baseline, snapshots and transactions are priced apart and not counted here.
 * docs/cost.md says where every figure comes from; `--price-file` replaces or adds entries.
 */
import { parseUsd, type Usd } from './cost.js';
import { err, ok, type Result } from './result.js';

/** The clouds whose volumes have list prices; on-premises storage has none. */
export type PriceProvider = 'aws' | 'gcp' | 'azure';

export const PRICE_PROVIDERS: readonly PriceProvider[] = ['aws', 'gcp', 'azure'];

export interface PriceTable {
  /** Per provider, per volume type (lower case: gp3, pd-balanced, premium_lrs), per GiB-month. */
  prices: Readonly<Record<PriceProvider, ReadonlyMap<string, Usd>>>;
  /** Where the figures come from and as of when: shown by `explain` and docs/cost.md. */
  source: string;
}

/** The shipped figures, as written on the providers' price pages (see SHIPPED_SOURCE). */
const SHIPPED: Record<PriceProvider, Record<string, string>> = {
  // US East (N. Virginia), https://aws.amazon.com/ebs/pricing/
  aws: {
    gp2: '0.10',
    gp3: '0.08',
    io1: '0.125',
    io2: '0.125',
    st1: '0.045',
    sc1: '0.015',
  },
  // us-central1 (Iowa), https://cloud.google.com/compute/disks-image-pricing
  gcp: {
    'pd-standard': '0.04',
    'pd-balanced': '0.10',
    'pd-ssd': '0.17',
    'pd-extreme': '0.125',
    'hyperdisk-balanced': '0.08',
  },
  // East US, https://azure.microsoft.com/pricing/details/managed-disks/ (LRS). Premium SSD,
  // Standard SSD and Standard HDD are sold in size tiers: these are the 1 TiB tier's monthly
  // price divided by its 1,024 GiB (P30 $135.17, E30 $76.80, S30 $40.96). Premium SSD v2 is
  // priced per GiB.
  azure: {
    standard_lrs: '0.04',
    standardssd_lrs: '0.075',
    premium_lrs: '0.132001953125',
    premiumv2_lrs: '0.081',
  },
};

export const SHIPPED_SOURCE =
  'list prices compiled 2026-12-07: AWS us-east-1, GCP us-central1, Azure eastus (docs/cost.md)';

function toTable(
  entries: Record<PriceProvider, Record<string, string>>,
  source: string,
): PriceTable {
  const prices = {} as Record<PriceProvider, Map<string, Usd>>;
  for (const provider of PRICE_PROVIDERS) {
    const map = new Map<string, Usd>();
    for (const [type, text] of Object.entries(entries[provider])) {
      const price = parseUsd(text);
      if (price !== undefined) map.set(type.toLowerCase(), price);
    }
    prices[provider] = map;
  }
  return { prices, source };
}

export const SHIPPED_PRICES: PriceTable = toTable(SHIPPED, SHIPPED_SOURCE);

/** The price of a type, or undefined: an unknown type has no cost, never a guessed one. */
export function priceOf(table: PriceTable, provider: PriceProvider, type: string): Usd | undefined {
  return table.prices[provider].get(type.toLowerCase());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function priceText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  // YAML reads 0.08 as a number; its shortest decimal form is what was written.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function entriesOf(
  provider: PriceProvider,
  value: unknown,
  into: Record<string, string>,
): string[] {
  if (!isRecord(value))
    return [`${provider}: expected a map of volume type to price, e.g. gp3: "0.08"`];
  const problems: string[] = [];
  for (const [type, raw] of Object.entries(value)) {
    const text = priceText(raw);
    if (type.trim() === '') problems.push(`${provider}: a volume type name is empty`);
    else if (text === undefined || parseUsd(text) === undefined)
      problems.push(
        `${provider}.${type}: ${JSON.stringify(raw)} is not a price in USD per GiB-month (a decimal such as 0.08, at most 12 decimals)`,
      );
    else into[type] = text;
  }
  return problems;
}

/**
 * A price file's content (already parsed from YAML) laid over `base`: each entry replaces or adds
 * one type's price. Every bad entry is named, all at once.
 */
export function applyPriceFile(
  base: PriceTable,
  content: unknown,
  name: string,
): Result<PriceTable> {
  if (!isRecord(content))
    return err(`${name}: expected a map with aws, gcp and/or azure (and an optional source)`);
  const merged: Record<PriceProvider, Record<string, string>> = { aws: {}, gcp: {}, azure: {} };
  const problems: string[] = [];
  let source = `${name} over ${base.source}`;
  for (const [key, value] of Object.entries(content)) {
    if (key === 'source') {
      if (typeof value === 'string' && value.trim() !== '') source = `${value.trim()} (${name})`;
      else problems.push('source: expected a non-empty string');
    } else if ((PRICE_PROVIDERS as readonly string[]).includes(key))
      problems.push(...entriesOf(key as PriceProvider, value, merged[key as PriceProvider]));
    else problems.push(`${key}: unknown provider (expected aws, gcp or azure)`);
  }
  if (problems.length > 0) return err(`${name}: ${problems.join('; ')}`);
  const override = toTable(merged, source);
  const prices = {} as Record<PriceProvider, Map<string, Usd>>;
  for (const provider of PRICE_PROVIDERS)
    prices[provider] = new Map([...base.prices[provider], ...override.prices[provider]]);
  return ok({ prices, source });
}
