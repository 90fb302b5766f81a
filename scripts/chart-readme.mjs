// Writes the values table of charts/pvc-chonker/README.md from values.yaml: each key's path, its
// default and the comment above it, so the README cannot drift from the values.
// `node scripts/chart-readme.mjs` rewrites it; `--check` exits 1 when it is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { format, resolveConfig } from 'prettier';
import { isMap, isPair, isScalar, parseDocument } from 'yaml';

const VALUES = 'charts/pvc-chonker/values.yaml';
const README = 'charts/pvc-chonker/README.md';
const START = '<!-- values:start (scripts/chart-readme.mjs) -->';
const END = '<!-- values:end -->';

/** @param {string | null | undefined} comment */
function describe(comment) {
  return (comment ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^-{3}/.test(l))
    .join(' ')
    .replaceAll('|', '\\|');
}

/**
 * @param {unknown} node
 * @param {string} prefix
 * @param {string[][]} rows
 */
function walk(node, prefix, rows) {
  if (!isMap(node)) return;
  for (const [i, item] of node.items.entries()) {
    if (!isPair(item) || !isScalar(item.key)) continue;
    const path = prefix === '' ? String(item.key.value) : `${prefix}.${String(item.key.value)}`;
    // The comment above a map's first key belongs to the map in the YAML tree.
    const text = describe(item.key.commentBefore ?? (i === 0 ? node.commentBefore : undefined));
    if (isMap(item.value) && item.value.items.length > 0) {
      if (text !== '') rows.push([`\`${path}\``, '', text]);
      walk(item.value, path, rows);
      continue;
    }
    // A YAML node's JSON form is its default as Helm sees it (null for an empty value).
    const json = JSON.stringify(item.value === null ? null : doc.createNode(item.value).toJSON());
    rows.push([`\`${path}\``, `\`${json.replaceAll('|', '\\|')}\``, text]);
  }
}

const doc = parseDocument(readFileSync(VALUES, 'utf8'));
/** @type {string[][]} */
const rows = [];
walk(doc.contents, '', rows);
const table = [
  '| value | default | meaning |',
  '| ----- | ------- | ------- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');

const readme = readFileSync(README, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < 0) throw new Error(`${README}: markers ${START} / ${END} not found`);
// Formatted as `make lint` (prettier --check) wants it.
const next = await format(
  `${readme.slice(0, start + START.length)}\n\n${table}\n\n${readme.slice(end)}`,
  {
    ...(await resolveConfig(README)),
    filepath: README,
  },
);
if (process.argv.includes('--check')) {
  if (next !== readme) {
    process.stderr.write(
      `${README} is out of date with ${VALUES}: run node scripts/chart-readme.mjs\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(README, next);
}
