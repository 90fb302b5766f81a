/**
 * For the tests and `make bench`: starts Debian's prometheus-pushgateway (scripts/install-system-deps.sh installs it) on a free
 * 127.0.0.1 port, in memory only (--persistence.file= empty), and stops it again.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const execFileAsync = promisify(execFile);

export const PUSHGATEWAY_BIN = process.env['PUSHGATEWAY_BIN'] ?? 'prometheus-pushgateway';

export interface RunningPushgateway {
  url: URL;
  port: number;
  stop: () => Promise<void>;
  /** What the process wrote, for failure messages. */
  output: () => string;
}

/** A port the kernel just handed out on 127.0.0.1; free unless someone races us for it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function isReady(url: URL, headers: Record<string, string>): Promise<boolean> {
  try {
    const response = await fetch(new URL('-/ready', url), {
      headers,
      signal: AbortSignal.timeout(500),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function stopper(child: ChildProcess, cleanup: () => Promise<void>): () => Promise<void> {
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      resolve();
    }),
  );
  return async () => {
    if (running && child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
    }
    if (running) child.kill('SIGKILL');
    await cleanup();
  };
}

export interface StartOptions {
  /** Contents of a --web.config.file (e.g. basic_auth_users), for auth tests. */
  webConfig?: string;
  /** Headers for the readiness probe when the web config demands auth. */
  readyHeaders?: Record<string, string>;
}

async function startOnce(
  port: number,
  options: StartOptions,
): Promise<RunningPushgateway | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-pg-'));
  const args = [
    '--persistence.file=',
    `--web.listen-address=127.0.0.1:${port.toString()}`,
    '--log.level=warn',
  ];
  if (options.webConfig !== undefined) {
    const file = join(dir, 'web.yml');
    await writeFile(file, options.webConfig);
    args.push(`--web.config.file=${file}`);
  }
  const child = spawn(PUSHGATEWAY_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = new URL(`http://127.0.0.1:${port.toString()}/`);
  const stop = stopper(child, () => rm(dir, { recursive: true, force: true }));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
    if (failed !== undefined) {
      await stop();
      throw new Error(
        `cannot start ${PUSHGATEWAY_BIN} (${failed.message}); run scripts/install-system-deps.sh`,
      );
    }
    if (child.exitCode !== null) break; // e.g. the port was taken in between: try another
    if (await isReady(url, options.readyHeaders ?? {}))
      return { url, port, stop, output: () => output };
  }
  await stop();
  if (Date.now() >= deadline)
    throw new Error(`pushgateway on port ${port.toString()} not ready: ${output}`);
  return undefined;
}

export async function startPushgateway(options: StartOptions = {}): Promise<RunningPushgateway> {
  for (let tries = 0; tries < 5; tries += 1) {
    const running = await startOnce(await freePort(), options);
    if (running !== undefined) return running;
  }
  throw new Error('pushgateway did not start on any of 5 free ports');
}

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
export const PROMTOOL_BIN = process.env['PROMTOOL_BIN'] ?? 'promtool';

export interface RunningPrometheus {
  url: URL;
  stop: () => Promise<void>;
  output: () => string;
}

/**
 * Starts a real Prometheus that scrapes `targetPort` every second with honor_labels (as an
 * operator scrapes the Pushgateway) and evaluates `ruleFiles` every second.
 */
export function startPrometheus(
  targetPort: number,
  ruleFiles: readonly string[],
): Promise<RunningPrometheus> {
  return startPrometheusWith({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: [
      {
        job_name: 'pushgateway',
        honor_labels: true,
        static_configs: [{ targets: [`127.0.0.1:${targetPort.toString()}`] }],
      },
    ],
  });
}

/** Samples of one gauge series from before Prometheus started: [unix seconds, value] each. */
export interface HistorySeries {
  metric: string;
  labels: Readonly<Record<string, string>>;
  samples: Iterable<readonly [number, number]>;
}

/** The series as OpenMetrics with timestamps, each family once under its TYPE, then EOF. */
function openMetrics(history: readonly HistorySeries[]): string {
  const families = new Map<string, HistorySeries[]>();
  for (const series of history) {
    const members = families.get(series.metric);
    if (members === undefined) families.set(series.metric, [series]);
    else members.push(series);
  }
  const lines: string[] = [];
  for (const [metric, members] of families) {
    lines.push(`# TYPE ${metric} gauge`);
    for (const { labels, samples } of members) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      const name = `${metric}{${pairs.join(',')}}`;
      for (const [time, value] of samples) lines.push(`${name} ${String(value)} ${String(time)}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

/**
 * Starts a real Prometheus on a free 127.0.0.1 port with `config` as its prometheus.yml (JSON is
 * YAML), its data in a temporary directory removed on stop. `history` (all of it in the past) is
 * written into the data first as blocks (promtool's backfill of OpenMetrics), so that range
 * queries see hours that were never scraped.
 */
export async function startPrometheusWith(
  config: object,
  history?: readonly HistorySeries[],
): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-prom-'));
  const file = join(dir, 'prometheus.yml');
  await writeFile(file, JSON.stringify(config));
  if (history !== undefined) {
    const input = join(dir, 'history.om');
    await writeFile(input, openMetrics(history));
    await execFileAsync(PROMTOOL_BIN, [
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      input,
      join(dir, 'data'),
    ]);
    await rm(input);
  }
  const port = await freePort();
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port.toString()}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = new URL(`http://127.0.0.1:${port.toString()}/`);
  const stop = stopper(child, () => rm(dir, { recursive: true, force: true }));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await isReady(url, {})) return { url, stop, output: () => output };
    await sleep(100);
  }
  await stop();
  throw new Error(`prometheus not ready: ${output}`);
}
