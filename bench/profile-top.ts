/**
 * The top frames of a V8 CPU profile (`node --cpu-prof`, as `make bench -- --cpu-prof DIR`
 * writes), by self time, with bundle positions mapped back to the sources through the bundle's
 * source map. Frames are grouped by function and source file; a second table groups by package
 * (node_modules/<name>, node: internals, src/, or V8's own entries such as (garbage collector)).
 * A third table gives our own functions (src/) by total time, their callees included, which
 * shows what a phase of the pass costs when the self time is spread over Node's internals.
 *
 *   node dist/bench/profile-top.js PROFILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { place, type Profile, type ProfileNode } from './profile-source.js';

function packageOf(file: string, name: string): string {
  if (file === '') return name.startsWith('(') ? name : '(native)';
  if (file.startsWith('node:')) return 'node: internals';
  // eslint-disable-next-line security/detect-unsafe-regex -- a file path from our own profile; one optional scope, no nested repetition
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (file.startsWith('src/')) return file;
  return file;
}

function table(title: string, rows: Map<string, number>, totalUs: number, top: number): string {
  const sorted = [...rows].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = sorted.map(
    ([key, us]) =>
      `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${key}`,
  );
  return `${title}\n${lines.join('\n')}\n`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: profile-top PROFILE.cpuprofile [--top N]');
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const frames = new Map<string, number>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const where = place(node.callFrame);
    if (where.name === '(idle)' || where.name === '(program)') continue;
    const key = `${where.name}  ${where.file}`;
    frames.set(key, (frames.get(key) ?? 0) + us);
    const pkg = packageOf(where.file, where.name);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const idle = [...selfUs].reduce((sum, [id, us]) => {
    const name = byId.get(id)?.callFrame.functionName;
    return name === '(idle)' ? sum + us : sum;
  }, 0);
  process.stdout.write(
    `profile ${file}: ${(totalUs / 1000).toFixed(0)} ms sampled, ${((totalUs - idle) / 1000).toFixed(0)} ms not idle\n\n`,
  );
  process.stdout.write(table('top frames by self time:', frames, totalUs, top));
  process.stdout.write('\n');
  process.stdout.write(table('by package / source file:', packages, totalUs, top));
  process.stdout.write('\n');
  process.stdout.write(
    table(
      'src/ functions by total time (callees included):',
      totals(profile, selfUs),
      totalUs,
      top,
    ),
  );
}

/** Each src/ function's samples, its own and its callees', counted once per stack. */
function totals(profile: Profile, selfUs: ReadonlyMap<number, number>): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const keyOf = new Map<number, string | undefined>();
  const key = (node: ProfileNode): string | undefined => {
    if (keyOf.has(node.id)) return keyOf.get(node.id);
    const where = place(node.callFrame);
    const value = where.file.startsWith('src/') ? `${where.name}  ${where.file}` : undefined;
    keyOf.set(node.id, value);
    return value;
  };
  const result = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const node = byId.get(at);
      const name = node === undefined ? undefined : key(node);
      if (name === undefined || seen.has(name)) continue;
      seen.add(name);
      result.set(name, (result.get(name) ?? 0) + us);
    }
  }
  return result;
}

main();
