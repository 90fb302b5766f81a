/**
 * `make bench BENCH_ARGS=--pushgateway`: the scale pass with metrics pushed to a real Pushgateway
 * (Debian's prometheus-pushgateway on a loopback port, in memory only), with the node flags of
 * the image. The CLI runs once without a push, then twice with, so the second push reads back
 * the first run's series before it pushes; each run is on a fresh copy of the fleet (scale.ts),
 * so each makes its expansions. A small proxy between the CLI and the Pushgateway counts the bytes
 * and times each request.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http';
import { freePort, PUSHGATEWAY_BIN, startPushgateway } from './prometheus-processes.js';

/** What the bench needs of one CLI process (bench/scale.ts runs and measures it). */
export interface MeasuredRun {
  code: number | null;
  spawnedAt: number;
  exitedAt: number;
  peakRssKiB: number;
  cpuMs: number;
  stderr: string;
}

interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  requestBytes: number;
  responseBytes: number;
  ms: number;
}

/** Forwards everything to `target` and records method, path, bytes both ways and duration. */
async function startCountingProxy(
  target: string,
): Promise<{ url: string; log: ProxiedRequest[]; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const log: ProxiedRequest[] = [];
  const server = createHttpServer((req, res) => {
    const started = performance.now();
    let requestBytes = 0;
    let responseBytes = 0;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (reply: IncomingMessage) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.on('data', (chunk: Buffer) => (responseBytes += chunk.length));
        reply.pipe(res);
        res.on('finish', () => {
          log.push({
            method: req.method ?? '?',
            path: req.url ?? '?',
            status: reply.statusCode ?? 0,
            requestBytes,
            responseBytes,
            ms: Math.round(performance.now() - started),
          });
        });
      },
    );
    forward.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => (requestBytes += chunk.length));
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);

/** The node flags of a Dockerfile's `ENTRYPOINT [...]` line; `name` names it in the error. */
export function entrypointNodeFlags(dockerfile: string, name = 'the Dockerfile'): string[] {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (entrypoint === undefined) throw new Error(`no ENTRYPOINT [...] in ${name}`);
  const words = JSON.parse(entrypoint) as string[];
  return words.filter((w) => w.startsWith('--'));
}

/**
 * The node flags the image runs the CLI with (its ENTRYPOINT), so the bench measures the memory
 * and CPU the CronJob gets.
 */
export function imageNodeFlags(): string[] {
  return entrypointNodeFlags(readFileSync(DOCKERFILE, 'utf8'), DOCKERFILE.pathname);
}

/** A bench's --node-flags: the image's when not given, else its space-separated words. */
export function nodeFlagsOption(option: string | undefined): string[] {
  return option === undefined ? imageNodeFlags() : option.split(' ').filter((flag) => flag !== '');
}

/** The fields of the CLI's last log line with message `msg`, if any. */
function logLine(stderr: string, msg: string): Record<string, unknown> | undefined {
  for (const text of stderr.split('\n').reverse()) {
    if (!text.includes(`"msg":"${msg}"`)) continue;
    return JSON.parse(text) as Record<string, unknown>;
  }
  return undefined;
}

function field(fields: Record<string, unknown> | undefined, name: string): string {
  const value = fields?.[name];
  return typeof value === 'number' || typeof value === 'string' ? String(value) : '?';
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

function line(label: string, value: string): string {
  return `${label.padEnd(34)}${value}\n`;
}

function describeRun(title: string, run: MeasuredRun, requests: ProxiedRequest[]): string[] {
  const pushed = logLine(run.stderr, 'metrics pushed');
  const finished = logLine(run.stderr, 'run finished');
  const out = [`\n${title}\n`];
  out.push(line('  exit status', String(run.code)));
  out.push(line('  wall time, process', `${run.exitedAt - run.spawnedAt} ms`));
  out.push(line('  wall time, pass', `${field(finished, 'durationMs')} ms`));
  out.push(line('  CPU, CLI process', `${run.cpuMs} ms`));
  out.push(
    line('  peak RSS (VmHWM)', `${(run.peakRssKiB / 1024).toFixed(1)} MiB (target <= 150 MiB)`),
  );
  out.push(
    line(
      '  push time (read back + PUT)',
      pushed === undefined
        ? 'not pushed'
        : `${field(pushed, 'durationMs')} ms (target <= 1000 ms), from the CLI's "metrics pushed" line`,
    ),
  );
  out.push(line('  series pushed', field(pushed, 'series')));
  for (const r of requests) {
    const bytes =
      r.method === 'GET' ? `${mib(r.responseBytes)} read` : `${mib(r.requestBytes)} sent`;
    const what = r.method === 'PUT' ? 'PUT <group>' : `${r.method} ${r.path}`;
    out.push(line(`  ${what}`, `HTTP ${r.status}, ${bytes}, ${r.ms} ms`));
  }
  if (run.code !== 0) out.push(run.stderr.slice(-4000));
  return out;
}

/**
 * Runs the CLI (`args` without a Pushgateway URL) once without a push, then twice against a
 * fresh Pushgateway, and returns the report text. `runCli` gets `flags`, the node flags to use
 * (the image's, from imageNodeFlags(), unless the bench was told others).
 */
export async function pushgatewayBench(
  args: readonly string[],
  flags: readonly string[],
  runCli: (nodeFlags: readonly string[], args: readonly string[]) => Promise<MeasuredRun>,
): Promise<string> {
  const gateway = await startPushgateway();
  const proxy = await startCountingProxy(gateway.url.href);
  const out: string[] = [
    `\nnode flags: ${flags.join(' ') || '(none)'}\n`,
    `metrics pushed to a real Pushgateway (${PUSHGATEWAY_BIN}, --persistence.file= empty) through a counting proxy\n`,
  ];
  try {
    out.push(...describeRun('run 0 (no push)', await runCli(flags, args), []));
    for (const title of ['run 1 (empty Pushgateway)', 'run 2 (reads back run 1)']) {
      const before = proxy.log.length;
      const run = await runCli(flags, [...args, '--pushgateway-url', proxy.url]);
      out.push(...describeRun(title, run, proxy.log.slice(before)));
    }
  } finally {
    await proxy.close();
    await gateway.stop();
  }
  return out.join('');
}
