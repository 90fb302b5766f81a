// Lists the licences of the production dependency tree (package-lock.json entries that are not
// dev-only) and checks each against the allow-list. A copyleft or unknown licence fails (exit 1)
// naming the package, so a new dependency cannot bring one in unnoticed. No network.
// Usage: node scripts/check-licenses.mjs [--lockfile FILE] [--list]
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { parseArgs } from 'node:util';

/** Permissive licences (SPDX ids). Python-2.0: argparse, a dependency of js-yaml. */
export const ALLOWED = new Set([
  'Apache-2.0',
  'MIT',
  'MIT-0',
  'ISC',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'Unlicense',
  'CC0-1.0',
  'Python-2.0',
]);

/**
 * An SPDX expression is allowed when every AND term, or some OR term, is allowed.
 * @param {string} expression
 * @returns {boolean}
 */
function allowed(expression) {
  const bare = expression.replace(/[()]/g, '').trim();
  if (/ OR /i.test(bare)) return bare.split(/ OR /i).some((t) => allowed(t));
  if (/ AND /i.test(bare)) return bare.split(/ AND /i).every((t) => allowed(t));
  return ALLOWED.has(bare);
}

/**
 * @typedef {{ version?: string, dev?: boolean, devOptional?: boolean,
 *   license?: unknown, licenses?: unknown }} LockEntry
 * @param {LockEntry} entry
 * @returns {string}
 */
function licenseOf(entry) {
  const l = entry.license ?? entry.licenses;
  if (typeof l === 'string') return l;
  if (Array.isArray(l)) {
    return l
      .map((/** @type {unknown} */ x) =>
        typeof x === 'string' ? x : String(/** @type {{ type?: unknown }} */ (x).type),
      )
      .join(' OR ');
  }
  return '(none)';
}

const { values } = parseArgs({
  options: {
    lockfile: { type: 'string', default: 'package-lock.json' },
    list: { type: 'boolean' },
  },
});
/** @type {{ packages?: Record<string, LockEntry> }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- package-lock.json, npm's documented shape
const lock = JSON.parse(readFileSync(values.lockfile, 'utf8'));
/** @type {Map<string, number>} */
const counts = new Map();
/** @type {string[]} */
const refused = [];
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  // '' is the project itself; dev and devOptional entries are not shipped in the image.
  if (path === '' || entry.dev === true || entry.devOptional === true) continue;
  const license = licenseOf(entry);
  counts.set(license, (counts.get(license) ?? 0) + 1);
  if (!allowed(license))
    refused.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'}: ${license}`);
}

const total = [...counts.values()].reduce((a, b) => a + b, 0);
if (values.list) {
  for (const [license, n] of [...counts].sort((a, b) => b[1] - a[1]))
    process.stdout.write(`${n}\t${license}\n`);
}
if (refused.length > 0) {
  process.stderr.write(
    `licences not on the allow-list (scripts/check-licenses.mjs) in the production dependencies:\n  ${refused.join('\n  ')}\n`,
  );
  process.exit(1);
}
process.stderr.write(`licences: ${total} production packages, all on the allow-list\n`);
