/** --price-file: a YAML file of prices laid over the shipped table, read and validated once. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { applyPriceFile, SHIPPED_PRICES, type PriceTable } from '../core/prices.js';
import { err, type Result } from '../core/result.js';

/** The table to price with: the shipped one, or it with the file's entries; an error names the file. */
export function loadPrices(
  path: string | undefined,
  read: (path: string) => string = (p) =>
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the file named by --price-file
    readFileSync(p, 'utf8'),
): Result<PriceTable> {
  if (path === undefined || path === '') return { ok: true, value: SHIPPED_PRICES };
  let content: unknown;
  try {
    content = parse(read(path));
  } catch (error) {
    return err(`--price-file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return applyPriceFile(SHIPPED_PRICES, content, `--price-file ${path}`);
}
