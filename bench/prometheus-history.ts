/**
 * What the forecast's range query costs the pass to read: Prometheus' answer for N PVCs with 60
 * points each (the default 6 h window, one point every 6 minutes), read by readMatrix into each
 * PVC's fit, in a fresh process with the image's node flags, as a pass reads it once. Beside it,
 * `JSON.parse` of the same bytes alone: the tree the reader does not build. Prints CPU and how
 * far the peak RSS rose once the answer's bytes were read from a file. `make bench` runs it for 2,000 and 10,000 PVCs.
 *
 *   node dist/bench/prometheus-history.js [--pvcs 2000,10000] [--points 60]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readMatrix } from '../src/stats/prometheus-matrix.js';
import { runChild } from './child.js';
import { imageNodeFlags } from './pushgateway.js';

const SCRIPT = fileURLToPath(import.meta.url);
const NOW_S = 1_796_680_000;
const STEP_S = 360;

/** A range answer as Prometheus writes it: each PVC's used bytes, growing a little per step. */
function rangeAnswer(pvcs: number, points: number): Buffer {
  const series: string[] = [];
  for (let i = 0; i < pvcs; i++) {
    const values: string[] = [];
    for (let k = 0; k < points; k++)
      values.push(
        `[${String(NOW_S - (points - k) * STEP_S)},"${String(5_368_709_120 + k * 1_000_003 + i)}"]`,
      );
    const metric = `{"namespace":"fleet-${String(i % 10)}","persistentvolumeclaim":"data-${String(i).padStart(5, '0')}"}`;
    series.push(`{"metric":${metric},"values":[${values.join(',')}]}`);
  }
  return Buffer.from(
    `{"status":"success","data":{"resultType":"matrix","result":[${series.join(',')}]}}`,
  );
}

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
    await writeFile(file, rangeAnswer(pvcs, points));
    const reader = await measure('reader', file);
    const tree = await measure('json', file);
    if (!reader.read) throw new Error('readMatrix refused the answer');
    process.stdout.write(
      `  ${String(pvcs).padStart(6)} PVCs (${reader.mb.toFixed(1)} MB): into fits ${reader.cpuMs.toFixed(0)} ms CPU, RSS +${reader.grewMiB.toFixed(0)} MiB; JSON.parse alone ${tree.cpuMs.toFixed(0)} ms, +${tree.grewMiB.toFixed(0)} MiB\n`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

await main();
