/**
 * What the forecast's range query costs the pass to read: Prometheus' answer for N PVCs with 60
 * points each (the default 6 h window, one point every 6 minutes), read by readMatrix into each
 * PVC's fit, in a fresh process with the image's node flags, as a pass reads it once. Beside it,
 * `JSON.parse` of the same bytes alone: the tree the reader does not build. Prints CPU and how
 * far the peak RSS rose once the answer's bytes were read from a file. `make bench` runs it for
 * 2,000 and 10,000 PVCs.
 *
 * Then a whole quiet pass with `--stats-source prometheus` over `make bench`'s fleet (10,000
 * managed PVCs and 10,000 others, the simulated cluster's lists) against a stand-in for
 * Prometheus' API that answers every instant query and the range query, with `--points` points
 * a PVC: CPU and peak RSS of the CLI, with the history and without it (no point). The stand-in
 * answers for every PVC of the fleet, managed or not, as Prometheus answers the pass's queries:
 * they select the kubelet's volume series, not the PVCs the pass manages.
 *
 *   node dist/bench/prometheus-history.js [--pvcs 2000,10000] [--points 60] [--pass-pvcs 10000]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readMatrix } from '../src/stats/prometheus-matrix.js';
import { startSimCluster } from '../sim/index.js';
import { figure, runChild, type ChildRun } from './child.js';
import { benchFleet } from './fleet.js';
import { imageNodeFlags } from './pushgateway.js';

const SCRIPT = fileURLToPath(import.meta.url);
const BUILT_CLI = new URL('../pvc-chonker.mjs', import.meta.url).pathname;
const NOW_S = 1_796_680_000;
const STEP_S = 360;

/** The child: reads the answer from its file, then one way; prints CPU ms and RSS growth in MiB. */
function child(way: string, file: string): void {
  const bytes = readFileSync(file);
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const start = process.cpuUsage();
  const read = way === 'json' ? JSON.parse(bytes.toString('utf8')) !== null : readMatrix(bytes).ok;
  const used = process.cpuUsage(start);
  const grewMiB = (process.resourceUsage().maxRSS * 1024 - rssBefore) / 2 ** 20;
  process.stdout.write(
    `${JSON.stringify({ read, cpuMs: (used.user + used.system) / 1000, grewMiB, mb: bytes.length / 1e6 })}\n`,
  );
}

interface Figures {
  read: boolean;
  cpuMs: number;
  grewMiB: number;
  mb: number;
}

async function measure(way: string, file: string): Promise<Figures> {
  const run = await runChild(imageNodeFlags(), ['--child', way, '--file', file], SCRIPT);
  if (run.code !== 0) throw new Error(`prometheus-history child failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Figures;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pvcs: { type: 'string', default: '2000,10000' },
      points: { type: 'string', default: '60' },
      child: { type: 'string' },
      file: { type: 'string', default: '' },
      'pass-pvcs': { type: 'string', default: '10000' },
    },
  });
  const points = Number(values.points);
  if (values.child !== undefined) {
    child(values.child, values.file);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-range-'));
  process.stdout.write(
    `\nthe forecast's range answer (${String(points)} points a PVC), read once in a fresh process with the image's flags:\n`,
  );
  for (const pvcs of values.pvcs.split(',').map(Number)) {
    const file = join(dir, `range-${String(pvcs)}.json`);
    await writeFile(file, rangeAnswer(managedUsage(pvcs), NOW_S - points * STEP_S, STEP_S, points));
    const reader = await measure('reader', file);
    const tree = await measure('json', file);
    if (!reader.read) throw new Error('readMatrix refused the answer');
    process.stdout.write(
      `  ${String(pvcs).padStart(6)} PVCs (${reader.mb.toFixed(1)} MB): into fits ${reader.cpuMs.toFixed(0)} ms CPU, RSS +${reader.grewMiB.toFixed(0)} MiB; JSON.parse alone ${tree.cpuMs.toFixed(0)} ms, +${tree.grewMiB.toFixed(0)} MiB\n`,
    );
  }
  await passes(Number(values['pass-pvcs']), points, dir);
  await rm(dir, { recursive: true, force: true });
}

type Usage = ReturnType<typeof benchFleet>['usage'][number];

/** Every managed PVC's 10Gi volume, `used` bytes of it, in the shape of Prometheus' answers. */
function instantAnswer(usage: readonly Usage[], query: string): string {
  const now = Date.now() / 1000;
  const capacity = 10 * 2 ** 30;
  const valueOf = (used: number): number => {
    if (query.includes('timestamp(')) return Math.floor(now) - 10;
    if (query.includes('capacity_bytes')) return capacity;
    if (query.includes('available_bytes')) return capacity - used;
    if (query.includes('used_bytes')) return used;
    if (query.includes('inodes_free')) return 900_000;
    if (query.includes('inodes_used')) return 100_000;
    return 1_000_000;
  };
  const result = usage.map((u) => ({
    metric: { namespace: u.namespace, persistentvolumeclaim: u.pvc },
    value: [now, String(valueOf(Number(u.usedBytes)))],
  }));
  return JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
}

/** `make bench`'s managed PVCs (its fleet's usage), without the unmanaged others. */
function managedUsage(managed: number): Usage[] {
  const fleet = benchFleet({ managed, unmanaged: 0, nodes: managed / 10, overThreshold: 0 });
  return fleet.usage;
}

/** A range answer as Prometheus writes it: each PVC's used bytes, `points` steps from `start`. */
function rangeAnswer(usage: readonly Usage[], start: number, step: number, points: number): string {
  const result = usage.map((u) => ({
    metric: { namespace: u.namespace, persistentvolumeclaim: u.pvc },
    values: Array.from({ length: points }, (_, k) => [start + k * step, String(u.usedBytes)]),
  }));
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
}

/** A stand-in for Prometheus' query API on 127.0.0.1, answering from the fleet's usage. */
async function prometheusStandIn(usage: readonly Usage[], points: () => number): Promise<Server> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      response.setHeader('content-type', 'application/json');
      response.end(
        request.url === '/api/v1/query_range'
          ? rangeAnswer(usage, Number(form.get('start')), Number(form.get('step')), points())
          : instantAnswer(usage, form.get('query') ?? ''),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The quiet pass through Prometheus, with and without the history, twice each, interleaved. */
async function passes(managed: number, points: number, dir: string): Promise<void> {
  const fleet = benchFleet({ managed, unmanaged: managed, nodes: managed / 10, overThreshold: 0 });
  let pointsNow = points;
  const server = await prometheusStandIn(fleet.usage, () => pointsNow);
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  const kubeconfig = join(dir, 'kubeconfig');
  const runs = new Map<number, ChildRun[]>([
    [points, []],
    [0, []],
  ]);
  for (let round = 0; round < 2; round++)
    for (const [each, done] of runs) {
      pointsNow = each;
      const sim = await startSimCluster({ seed: fleet, latencyMs: 0, preserialize: true });
      await sim.writeKubeconfig(kubeconfig);
      const run = await runChild(
        imageNodeFlags(),
        [
          ...['run', '--kubeconfig', kubeconfig, '--output', 'json', '--provider', 'generic'],
          ...['--stats-source', 'prometheus', '--prometheus-url', url],
        ],
        BUILT_CLI,
      );
      await sim.close();
      if (run.code !== 0) throw new Error(`the pass failed: ${run.stderr.slice(-2000)}`);
      done.push(run);
    }
  server.close();
  process.stdout.write(
    `a quiet pass, --stats-source prometheus, ${String(managed)} managed PVCs (+${String(managed)} others, whose series Prometheus returns too), the image's flags:\n`,
  );
  for (const [each, done] of runs)
    process.stdout.write(
      `  ${each === 0 ? 'no history' : `${String(each)} points a PVC`}: CPU ${figure(
        done.map((r) => r.cpuMs),
        ' ms',
      )}, peak RSS ${figure(
        done.map((r) => r.peakRssKiB / 1024),
        ' MiB',
        1,
      )}\n`,
    );
}

await main();
