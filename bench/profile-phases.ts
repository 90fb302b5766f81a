/**
 * Where a pass's CPU goes, by the parts issue 19 asks about: start-up (everything before the
 * first API request: module load, config, kubeconfig), TLS, HTTP and JSON parsing, the lists,
 * the kubelet stats, deciding, logging, the report, garbage collection. Each sample of a V8 CPU
 * profile goes to the innermost frame of its stack that names one of them (bundle positions
 * mapped to sources, profile-source.ts); a sample before the first request is start-up whatever
 * it ran. Used by bench/real.ts; also `node dist/bench/profile-phases.js PROFILE.cpuprofile`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { place, type Profile, type ProfileNode } from './profile-source.js';

type Phase =
  | 'start-up (module load, config, kubeconfig: before the first request)'
  | 'garbage collection'
  | 'logging (pino, the decision lines)'
  | 'report (stdout)'
  | 'kubelet stats (summaries)'
  | 'TLS'
  | 'HTTP and JSON parsing (transport, node:http)'
  | 'lists and writes (paging, converting objects)'
  | 'deciding (core, run, governance, providers)'
  | 'metrics'
  | 'other';

/** The phase a frame names, if any: by its source file (or V8's entry name). */
function phaseOfFrame(file: string, name: string): Phase | undefined {
  if (name === '(garbage collector)') return 'garbage collection';
  if (
    file === 'src/log.ts' ||
    file.startsWith('node_modules/pino') ||
    file.startsWith('node_modules/sonic-boom')
  )
    return 'logging (pino, the decision lines)';
  if (file === 'src/report.ts') return 'report (stdout)';
  if (file.startsWith('src/stats/')) return 'kubelet stats (summaries)';
  if (/^node:.*(tls|crypto)/.test(file) || name.includes('TLS')) return 'TLS';
  if (file === 'src/kube/transport.ts' || /^node:(_http|net|internal\/stream)/.test(file))
    return 'HTTP and JSON parsing (transport, node:http)';
  if (/^src\/kube\/(cluster|convert|client|custom-resources|event-bodies)\.ts$/.test(file))
    return 'lists and writes (paging, converting objects)';
  if (/^src\/(core\/|run\.ts|governance\.ts|backups\.ts|providers\/)/.test(file))
    return 'deciding (core, run, governance, providers)';
  if (file.startsWith('src/metrics/')) return 'metrics';
  return undefined;
}

export interface PhaseTotals {
  /** Sampled, not idle, in microseconds. */
  busyUs: number;
  phases: Map<Phase, number>;
}

export function profilePhases(file: string): PhaseTotals {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  const frameCache = new Map<number, { file: string; name: string }>();
  const frame = (node: ProfileNode): { file: string; name: string } => {
    let found = frameCache.get(node.id);
    if (found === undefined) {
      found = place(node.callFrame);
      frameCache.set(node.id, found);
    }
    return found;
  };
  const stackOf = (id: number): ProfileNode[] => {
    const stack: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const node = byId.get(at);
      if (node !== undefined) stack.push(node);
    }
    return stack;
  };
  const phases = new Map<Phase, number>();
  let busyUs = 0;
  let started = false;
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const stack = stackOf(id);
    const leaf = stack[0] === undefined ? undefined : frame(stack[0]);
    if (leaf === undefined || leaf.name === '(idle)') return;
    busyUs += us;
    started ||= stack.some((node) => frame(node).file === 'src/kube/transport.ts');
    let phase: Phase | undefined = started
      ? undefined
      : 'start-up (module load, config, kubeconfig: before the first request)';
    for (const node of stack) {
      if (phase !== undefined) break;
      const { file: source, name } = frame(node);
      phase = phaseOfFrame(source, name);
    }
    phase ??= 'other';
    phases.set(phase, (phases.get(phase) ?? 0) + us);
  });
  return { busyUs, phases };
}

export function phaseTable(totals: PhaseTotals): string {
  const rows = [...totals.phases].sort((a, b) => b[1] - a[1]);
  const lines = rows.map(
    ([phase, us]) =>
      `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / Math.max(1, totals.busyUs)).toFixed(1).padStart(5)}%  ${phase}`,
  );
  return `${lines.join('\n')}\n${(totals.busyUs / 1000).toFixed(0).padStart(7)} ms  total sampled, not idle (the profiler adds its own)\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node dist/bench/profile-phases.js PROFILE');
  process.stdout.write(phaseTable(profilePhases(file)));
}
