/**
 * A child process of a benchmark (the CLI, the floor client), with the CPU and peak memory it
 * used, read from /proc while it runs: `make bench` and `make bench-real` measure the same way.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const RSS_POLL_MS = 20;

export interface ChildRun {
  code: number | null;
  spawnedAt: number;
  exitedAt: number;
  peakRssKiB: number;
  cpuMs: number;
  stdout: string;
  stderr: string;
}

/** User + system CPU of a live process in ms (clock ticks of 10 ms); undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** VmHWM (peak resident set) of a live process, in KiB; undefined once it is gone. */
export function peakRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

export function runChild(
  nodeArgs: readonly string[],
  args: readonly string[],
  script: string,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now();
    // NODE_COMPILE_CACHE (Node.js 22.1+) is passed on, to measure start-up as the image has it.
    const cache = process.env['NODE_COMPILE_CACHE'];
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: tmpdir(),
        ...(cache === undefined ? {} : { NODE_COMPILE_CACHE: cache }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let peakRssKiB = 0;
    let cpu = 0;
    // VmHWM and CPU time only grow: the last reading before exit is within one poll of the end.
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      peakRssKiB = Math.max(peakRssKiB, peakRss(child.pid) ?? 0);
      cpu = Math.max(cpu, cpuMs(child.pid) ?? 0);
    }, RSS_POLL_MS);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(poll);
    });
    child.on('close', (code) => {
      resolve({
        code,
        spawnedAt,
        exitedAt: Date.now(),
        peakRssKiB,
        cpuMs: cpu,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/**
 * With NODE_COMPILE_CACHE set, fills the cache as the image build does (docs/operations.md):
 * `run --help` under the CLI's own node flags, since Node.js keeps one cache per set of V8 flags.
 */
export async function fillCompileCache(nodeFlags: readonly string[], cli: string): Promise<void> {
  if (process.env['NODE_COMPILE_CACHE'] !== undefined)
    await runChild(nodeFlags, ['run', '--help'], cli);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** "1234 ms" for one run; "1234 ms (median of 3: 1200, 1234, 1300)" for more, `best` adds the lowest. */
export function figure(values: readonly number[], unit: string, digits = 0, best = false): string {
  const text = (value: number): string => value.toFixed(digits);
  const head = `${text(median(values))}${unit}`;
  if (values.length === 1) return head;
  const lowest = best ? `; best ${text(Math.min(...values))}` : '';
  return `${head} (median of ${values.length}: ${values.map(text).join(', ')}${lowest})`;
}
