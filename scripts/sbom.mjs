// make sbom: a CycloneDX SBOM of the production dependencies, from package-lock.json (no network).
// `npm sbom --omit=dev` (npm 11) leaves out production packages that dev tools also use (yaml,
// punycode, js-yaml, ...), so we take npm's full SBOM and keep the components the lockfile marks
// as production, with their dependency edges. Usage: node scripts/sbom.mjs > sbom.cdx.json
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import process from 'node:process';

/** @typedef {{ 'bom-ref': string }} Component */
/** @typedef {{ ref: string, dependsOn?: string[] }} Dependency */

/** @type {{ packages: Record<string, { name?: string, version?: string, dev?: boolean, devOptional?: boolean }> }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- package-lock.json, npm's documented shape
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const production = new Set(
  Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.dev !== true && entry.devOptional !== true)
    // An alias (string-width-cjs -> string-width) carries the real name.
    .map(
      ([path, entry]) =>
        `${entry.name ?? path.replace(/^.*node_modules\//, '')}@${entry.version ?? ''}`,
    ),
);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** @type {{ metadata: { component: Component }, components: Component[], dependencies?: Dependency[] }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- npm sbom's CycloneDX 1.5 document
const bom = JSON.parse(
  execFileSync(npm, ['sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }),
);
const root = bom.metadata.component['bom-ref'];
const kept = (/** @type {string} */ ref) => ref === root || production.has(ref);
bom.components = bom.components.filter((c) => kept(c['bom-ref']));
bom.dependencies = (bom.dependencies ?? [])
  .filter((d) => kept(d.ref))
  .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter(kept) }));
process.stdout.write(`${JSON.stringify(bom, null, 2)}\n`);
