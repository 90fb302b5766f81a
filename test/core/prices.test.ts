import { describe, expect, it } from 'vitest';
import { formatPrice } from '../../src/core/cost.js';
import {
  applyPriceFile,
  priceOf,
  SHIPPED_PRICES,
  type PriceProvider,
} from '../../src/core/prices.js';
import { loadPrices } from '../../src/cost/price-file.js';
import { parse } from 'yaml';

function shown(provider: PriceProvider, type: string, table = SHIPPED_PRICES): string | undefined {
  const price = priceOf(table, provider, type);
  return price === undefined ? undefined : formatPrice(price);
}

describe('the shipped price table', () => {
  it.each([
    ['aws', 'gp2', '0.10'],
    ['aws', 'gp3', '0.08'],
    ['aws', 'io1', '0.125'],
    ['aws', 'io2', '0.125'],
    ['aws', 'st1', '0.045'],
    ['aws', 'sc1', '0.015'],
    ['gcp', 'pd-standard', '0.04'],
    ['gcp', 'pd-balanced', '0.10'],
    ['gcp', 'pd-ssd', '0.17'],
    ['gcp', 'pd-extreme', '0.125'],
    ['gcp', 'hyperdisk-balanced', '0.08'],
    ['azure', 'Standard_LRS', '0.04'],
    ['azure', 'StandardSSD_LRS', '0.075'],
    ['azure', 'Premium_LRS', '0.132001953125'],
    ['azure', 'PremiumV2_LRS', '0.081'],
    // Types are matched without regard to case, as the drivers read them.
    ['azure', 'premium_lrs', '0.132001953125'],
  ] as const)('%s %s: $%s per GiB-month', (provider, type, price) => {
    expect(shown(provider, type)).toBe(price);
  });

  it.each([
    ['aws', 'standard'],
    ['gcp', 'hyperdisk-throughput'],
    ['azure', 'Premium_ZRS'],
    ['azure', 'UltraSSD_LRS'],
    ['gcp', 'gp3'],
  ] as const)('%s %s has no price: no cost, never a guessed one', (provider, type) => {
    expect(shown(provider, type)).toBeUndefined();
  });

  it('says where its figures come from and as of when', () => {
    expect(SHIPPED_PRICES.source).toMatch(/2026-12-07.*us-east-1.*us-central1.*eastus/);
  });
});

describe('a price file over the table', () => {
  it('replaces an entry and adds one, leaving the rest', () => {
    const result = applyPriceFile(
      SHIPPED_PRICES,
      parse('source: our contract\naws:\n  gp3: "0.05"\nazure:\n  Premium_ZRS: 0.198\n'),
      'prices.yaml',
    );

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(shown('aws', 'gp3', result.value)).toBe('0.05');
    expect(shown('aws', 'gp2', result.value)).toBe('0.10');
    expect(shown('azure', 'premium_zrs', result.value)).toBe('0.198');
    expect(result.value.source).toBe('our contract (prices.yaml)');
  });

  it.each([
    [
      'not a map',
      '- gp3\n',
      'prices.yaml: expected a map with aws, gcp and/or azure (and an optional source)',
    ],
    [
      'an empty file',
      '',
      'prices.yaml: expected a map with aws, gcp and/or azure (and an optional source)',
    ],
    [
      'an unknown provider',
      'ibm:\n  x: 1\n',
      'prices.yaml: ibm: unknown provider (expected aws, gcp or azure)',
    ],
    [
      'a provider that is not a map',
      'aws: 0.08\n',
      'prices.yaml: aws: expected a map of volume type to price, e.g. gp3: "0.08"',
    ],
    [
      'a word for a price',
      'aws:\n  gp3: cheap\n',
      'prices.yaml: aws.gp3: "cheap" is not a price in USD per GiB-month (a decimal such as 0.08, at most 12 decimals)',
    ],
    [
      'a negative price',
      'gcp:\n  pd-ssd: -0.17\n',
      'prices.yaml: gcp.pd-ssd: -0.17 is not a price in USD per GiB-month (a decimal such as 0.08, at most 12 decimals)',
    ],
    [
      'a price YAML reads as a tiny float',
      'aws:\n  sc1: 1e-7\n',
      'prices.yaml: aws.sc1: 1e-7 is not a price',
    ],
    [
      'too many decimals',
      'aws:\n  sc1: "0.0000000000001"\n',
      'prices.yaml: aws.sc1: "0.0000000000001" is not a price',
    ],
    [
      'a null price',
      'azure:\n  Premium_LRS:\n',
      'prices.yaml: azure.Premium_LRS: null is not a price',
    ],
    ['an empty source', 'source: ""\n', 'prices.yaml: source: expected a non-empty string'],
    [
      'every bad entry at once',
      'aws:\n  gp3: x\n  gp2: y\nfoo: 1\n',
      'prices.yaml: aws.gp3: "x" is not a price in USD per GiB-month (a decimal such as 0.08, at most 12 decimals); aws.gp2: "y" is not a price in USD per GiB-month (a decimal such as 0.08, at most 12 decimals); foo: unknown provider (expected aws, gcp or azure)',
    ],
  ])('%s', (_, yaml, error) => {
    const result = applyPriceFile(SHIPPED_PRICES, parse(yaml), 'prices.yaml');

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.startsWith(error) || result.error === error, result.error).toBe(true);
  });
});

describe('loadPrices (--price-file)', () => {
  it('is the shipped table without a file', () => {
    expect(loadPrices(undefined)).toEqual({ ok: true, value: SHIPPED_PRICES });
  });

  it.each([
    [
      'a YAML syntax error',
      () => 'aws: [gp3\n',
      /^--price-file p\.yaml: Flow sequence in block collection/,
    ],
    [
      'a duplicate key',
      () => 'aws:\n  gp3: 1\n  gp3: 2\n',
      /^--price-file p\.yaml: Map keys must be unique/,
    ],
    [
      'a file that cannot be read',
      () => {
        throw new Error("ENOENT: no such file or directory, open 'p.yaml'");
      },
      /^--price-file p\.yaml: ENOENT/,
    ],
  ])('%s is an error naming the file', (_, read, error) => {
    const result = loadPrices('p.yaml', read);

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });
});
