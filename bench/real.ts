/**
 * `make bench-real`: issue 19's fleet on the real kube-apiserver tier (test/real/cluster.ts):
 * 2,000 managed PVCs on 200 nodes, fake kubelets behind the real node proxy, 10 % of the PVCs
 * over threshold for the expanding pass and none for the quiet ones. Prints, per pass of the
 * built CLI (a separate process with the image's node flags), its CPU (user + system), wall
 * time, the requests it made (the audit log, by the CLI's own user) and its peak RSS; then Node's
 * own start-up for comparison. Runs only inside scripts/in-netns.sh (the node proxy refuses
 * loopback kubelets), as the real tier does.
 *
 * The quiet passes come first (the over-threshold PVCs' usage is lowered), then the floor (the
 * last quiet pass's reads by a bare client, bench/real-floor.ts), the same quiet pass with the
 * default stats source (each kubelet read directly) and with `prometheus` (Debian's Prometheus
 * scraping the fake kubelets, when it is installed), and one expanding pass with their usage
 * raised: after it the PVCs are resizing, so it is not repeated. With Prometheus, another 10 %
 * of the PVCs expand first in a pass through it (the peer, pvc-autoresizer, reads Prometheus),
 * --quiet-runs times, each time a set of PVCs of its own; the kubelet-proxy expanding pass then
 * finds those resizing.
 *
 *   bash scripts/in-netns.sh node dist/bench/real.js [--pvcs N] [--nodes N] [--over 0.1]
 *     [--quiet-runs N] [--cpu-prof DIR] [--node-flags='...'] [--cli OTHER/dist/pvc-chonker.mjs]
 *
 * With --cpu-prof, the last quiet pass is profiled too (its CPU figures then include the
 * profiler's), and where its CPU went is printed by bench/profile-phases.ts; so is the
 * kubelet-proxy expanding pass, whose CPU figure then includes the profiler's, and one more
 * expanding pass through Prometheus, on a set of its own and not among the figures.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRealSeed } from '../test/real/seed.js';
import {
  realTierUnavailable,
  startRealCluster,
  type AuditEntry,
  type RealCluster,
} from '../test/real/cluster.js';
import { benchFleet } from './fleet.js';
import { figure, fillCompileCache, median, runChild, type ChildRun } from './child.js';
import { nodeFlagsOption } from './pushgateway.js';
import { phaseTable, profilePhases } from './profile-phases.js';
import { realFloorPlan, REAL_FLOOR_SCRIPT } from './real-floor.js';
import {
  PROMETHEUS_BIN,
  type HistorySeries,
  type RunningPrometheus,
} from './prometheus-processes.js';
import {
  HAVE_PROMETHEUS,
  queryPrometheus,
  startKubeletPrometheus,
  untilScraped,
} from '../test/integration/prometheus-fixture.js';
import type { FakeKubelets } from '../test/real/kubelets.js';

const BUILT_CLI = new URL('../pvc-chonker.mjs', import.meta.url).pathname;
const CLI_USER = 'pvc-chonker-bench';
const CLI_TOKEN = 'pvc-chonker-bench-token';
/** Issue 19's targets for one pass on this fleet, in CPU milliseconds. */
const TARGET_QUIET_MS = 400;
const TARGET_EXPANDING_MS = 600;
/** The CLI's --stats-concurrency default (src/config.ts), for the floor's proxied reads. */
const STATS_CONCURRENCY = 16;

interface Options {
  pvcs: number;
  nodes: number;
  over: number;
  quietRuns: number;
  cpuProfDir: string | undefined;
  /** The CLI bundle to run: this build's, or another (--cli) to compare builds. */
  cli: string;
  nodeFlags: string[];
  /** Keep the loaded fleet up for experiments until the file it names is created. */
  hold: boolean;
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      pvcs: { type: 'string', default: '2000' },
      nodes: { type: 'string', default: '200' },
      over: { type: 'string', default: '0.1' },
      'quiet-runs': { type: 'string', default: '3' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string' },
      cli: { type: 'string' },
      hold: { type: 'boolean', default: false },
    },
  });
  return {
    pvcs: Number(values.pvcs),
    nodes: Number(values.nodes),
    over: Number(values.over),
    quietRuns: Math.max(1, Number(values['quiet-runs'])),
    cpuProfDir: values['cpu-prof'],
    cli: values.cli ?? BUILT_CLI,
    hold: values.hold,
    nodeFlags: nodeFlagsOption(values['node-flags']),
  };
}

interface Pass {
  child: ChildRun;
  requests: number;
  /** The audit log's entries for the pass's requests. */
  entries: AuditEntry[];
  outcomes: Map<string, number>;
}

function outcomesOf(stdout: string): Map<string, number> {
  const counts = new Map<string, number>();
  try {
    for (const row of JSON.parse(stdout) as { action: string; reason: string }[]) {
      const key = `${row.action}:${row.reason}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } catch {
    counts.set('(no JSON report)', 1);
  }
  return counts;
}

/** One pass of the CLI; its requests are the audit log's entries by its user since it started. */
async function pass(
  cluster: RealCluster,
  run: { cli: string; nodeArgs: readonly string[] },
  args: readonly string[],
): Promise<Pass> {
  const before = (await cluster.audit()).filter((entry) => entry.user === CLI_USER).length;
  const child = await runChild(run.nodeArgs, args, run.cli);
  const entries = (await cluster.audit()).filter((entry) => entry.user === CLI_USER).slice(before);
  return { child, requests: entries.length, entries, outcomes: outcomesOf(child.stdout) };
}

function line(label: string, value: string): string {
  return `${label.padEnd(34)}${value}\n`;
}

function describePasses(title: string, passes: readonly Pass[], targetMs: number): string {
  const last = passes[passes.length - 1];
  const out = [`${title}:\n`];
  out.push(line('  exit status', passes.map((p) => String(p.child.code)).join(', ')));
  out.push(
    line(
      '  CPU (user + system)',
      `${figure(
        passes.map((p) => p.child.cpuMs / 1000),
        ' s',
        2,
        true,
      )} (target <= ${(targetMs / 1000).toFixed(2)} s)`,
    ),
  );
  out.push(
    line(
      '  wall time, process',
      figure(
        passes.map((p) => p.child.exitedAt - p.child.spawnedAt),
        ' ms',
        0,
        true,
      ),
    ),
  );
  out.push(line('  requests (audit log)', passes.map((p) => String(p.requests)).join(', ')));
  out.push(
    line(
      '  peak RSS (VmHWM)',
      figure(
        passes.map((p) => p.child.peakRssKiB / 1024),
        ' MiB',
        1,
        true,
      ),
    ),
  );
  for (const [key, count] of last?.outcomes ?? []) out.push(line(`  ${key}`, String(count)));
  if (last !== undefined && last.child.code !== 0) out.push(last.child.stderr.slice(-3000));
  return out.join('');
}

/** The floor's CPU beside the quiet pass's, and their ratio (medians). */
function describeFloor(floors: readonly ChildRun[], quiet: readonly Pass[]): string {
  const failed = floors.find((run) => run.code !== 0);
  if (failed !== undefined) return `  floor client failed: ${failed.stderr.slice(-1000)}\n`;
  const floorMs = floors.map((run) => run.cpuMs);
  const ratio = median(quiet.map((p) => p.child.cpuMs)) / Math.max(1, median(floorMs));
  return [
    line(
      '  floor: same reads, bare client',
      `${figure(
        floorMs.map((ms) => ms / 1000),
        ' s',
        2,
        true,
      )} CPU (node:https, lists not decoded: bench/real-floor.ts)`,
    ),
    line('  quiet pass / floor, CPU', ratio.toFixed(2)),
  ].join('');
}

const VOLUME_BY_PVC = 'max by (namespace, persistentvolumeclaim)';

/** The CLI's --forecast-window default: the span of its range query. */
const FORECAST_WINDOW_S = 6 * 3600;
/** How often the history has a sample: within Prometheus' 5-minute lookback. */
const HISTORY_STEP_S = 240;
/** The history ends this long before Prometheus starts: out of the lookback of the passes' instant queries. */
const HISTORY_GAP_S = 360;

/**
 * The used bytes of each PVC over the forecast window before now, for promtool's backfill: a
 * Prometheus that has run for hours, as in any cluster, answers the range query with
 * about 60 points per PVC, where a Prometheus started for the bench would have one or two. Flat
 * at the quiet usage, so no decision changes; job "history", so the passes' instant queries,
 * folded by PVC, see the scraped series only once the history is older than the lookback.
 */
function usageHistory(options: Options, nowS: number): HistorySeries[] {
  const end = nowS - HISTORY_GAP_S;
  return usageOf(options, 0).map(({ namespace, pvc, usedBytes }) => {
    const samples: [number, number][] = [];
    for (let t = end - FORECAST_WINDOW_S; t <= end; t += HISTORY_STEP_S)
      samples.push([t, Number(usedBytes)]);
    const labels = { job: 'history', namespace, persistentvolumeclaim: pvc };
    return { metric: 'kubelet_volume_stats_used_bytes', labels, samples };
  });
}

/**
 * Runs `passes` against a real Prometheus that scrapes every fake kubelet (as the admin), once
 * each kubelet's volumes are all in it; the reason instead when there is no Prometheus here.
 * Scraped every 30 s: 200 kubelets a second would load the machine the passes are measured on.
 * It holds the forecast window's history too (usageHistory).
 */
async function withPrometheus<T>(
  cluster: RealCluster,
  kubelets: FakeKubelets,
  dir: string,
  options: Options,
  passes: (prometheus: RunningPrometheus) => Promise<T>,
): Promise<T | string> {
  if (!HAVE_PROMETHEUS) return `no ${PROMETHEUS_BIN} on this machine`;
  const prometheus = await startKubeletPrometheus({
    dir,
    caFile: 'cluster-ca.pem',
    caPem: cluster.ca.caPem,
    token: cluster.adminToken,
    targets: Object.values(kubelets.targets()),
    interval: '30s',
    history: usageHistory(options, Math.floor(Date.now() / 1000)),
  });
  try {
    await untilScraped(
      prometheus,
      async () =>
        (await queryPrometheus(prometheus, 'kubelet_volume_stats_used_bytes{job="kubelet"}'))
          .length >= options.pvcs,
      90_000,
    );
    return await passes(prometheus);
  } finally {
    await prometheus.stop();
  }
}

/**
 * Node.js itself, with the same flags: the CPU a process has used when its first line of script
 * runs, as it reports it (too short a life for /proc polling). The floor under any CLI's start-up.
 */
async function nodeStartUp(flags: readonly string[]): Promise<number[]> {
  const script =
    'const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000))';
  const runs: number[] = [];
  for (let i = 0; i < 3; i++)
    runs.push(Number((await runChild([...flags, '-e', script], [], '')).stdout));
  return runs;
}

interface SampledMeta {
  annotations?: Record<string, string>;
}

/**
 * Another `over` share of the fleet above the threshold (the PVC `shift` places after each
 * over-threshold PVC in the fleet), for another expanding pass, and the usage that makes them
 * quiet again. Shifts below the spacing of the over-threshold PVCs give sets apart.
 */
function neighboursOver(options: Options, shift: number): { over: Usage[]; quiet: Usage[] } {
  const quiet = usageOf(options, 0);
  const over = usageOf(options, options.over);
  const isOver = (i: number): boolean => over[i]?.usedBytes !== quiet[i]?.usedBytes;
  const picked: { over: Usage[]; quiet: Usage[] } = { over: [], quiet: [] };
  for (const [index, entry] of over.entries()) {
    const at = (index + shift) % quiet.length;
    const next = quiet[at];
    if (!isOver(index) || isOver(at) || next === undefined) continue;
    picked.over.push({ ...entry, namespace: next.namespace, pvc: next.pvc });
    picked.quiet.push(next);
  }
  return picked;
}

type Usage = ReturnType<typeof benchFleet>['usage'][number];

/** The usage of the fleet's PVCs; `over` of them above the 80 % threshold. */
function usageOf(options: Options, over: number): ReturnType<typeof benchFleet>['usage'] {
  return benchFleet({
    managed: options.pvcs,
    unmanaged: 0,
    nodes: options.nodes,
    overThreshold: over,
  }).usage;
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const unavailable = realTierUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  if (!existsSync(options.cli))
    throw new Error(`${options.cli} is missing: run npm run build first`);
  const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-bench-real-'));
  const cluster = await startRealCluster({ tokens: { [CLI_TOKEN]: CLI_USER } });
  const loadStart = Date.now();
  const quiet = benchFleet({
    managed: options.pvcs,
    unmanaged: 0,
    nodes: options.nodes,
    overThreshold: 0,
  });
  // A fleet in its steady state: each PVC sampled a minute ago, so the passes measure the pass
  // and not the first samples that a new install writes over its first twelve passes.
  const sampledAt = Math.floor(Date.now() / 1000) - 60;
  for (const object of quiet.objects as { kind: string; metadata: SampledMeta }[])
    if (object.kind === 'PersistentVolumeClaim')
      object.metadata.annotations = {
        ...object.metadata.annotations,
        'pvc-chonker.io/usage-samples': `${String(sampledAt)}:1`,
      };
  const kubelets = await loadRealSeed(cluster, quiet);
  const loadedMs = Date.now() - loadStart;
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig, CLI_TOKEN);
    const args = [
      'run',
      '--kubeconfig',
      kubeconfig,
      '--output',
      'json',
      '--provider',
      'generic',
      // The fake kubelets are reached through the real API server's node proxy.
      '--stats-source',
      'kubelet-proxy',
      '--max-expansions-per-run',
      '100000',
    ];
    if (options.hold) {
      const stop = join(dir, 'stop');
      const hold = async (prometheus: string): Promise<void> => {
        process.stdout.write(
          `holding the fleet: enter with nsenter -t ${String(process.pid)} -n; run node ${[options.cli, ...args].join(' ')}${prometheus}; end with touch ${stop}\n`,
        );
        while (!existsSync(stop)) await new Promise((resolve) => setTimeout(resolve, 500));
      };
      // With Prometheus too, where there is one, to profile --stats-source prometheus.
      const why = await withPrometheus(cluster, kubelets, dir, options, (prometheus) =>
        hold(` (or --stats-source prometheus --prometheus-url ${prometheus.url.href})`),
      );
      if (typeof why === 'string') await hold(` (${why})`);
      return;
    }
    await fillCompileCache(options.nodeFlags, options.cli);
    const quietPasses: Pass[] = [];
    for (let i = 0; i < options.quietRuns; i++)
      quietPasses.push(
        await pass(cluster, { cli: options.cli, nodeArgs: options.nodeFlags }, args),
      );
    // The same reads by a bare client (bench/real-floor.ts), as often as the quiet pass ran.
    const lastQuiet = quietPasses[quietPasses.length - 1];
    const planFile = join(dir, 'floor-plan.json');
    await writeFile(
      planFile,
      JSON.stringify(
        realFloorPlan(lastQuiet?.entries ?? [], {
          url: cluster.url,
          caPem: cluster.ca.caPem,
          token: CLI_TOKEN,
          concurrency: STATS_CONCURRENCY,
        }),
      ),
    );
    const floors: ChildRun[] = [];
    for (let i = 0; i < options.quietRuns; i++)
      floors.push(await runChild(options.nodeFlags, [planFile], REAL_FLOOR_SCRIPT));
    // The default source: each kubelet read directly, a TLS connection per node and a Node read.
    /** The pass's arguments with another --stats-source. */
    const withSource = (source: string): string[] =>
      args.map((arg) => (arg === 'kubelet-proxy' ? source : arg));
    const directArgs = withSource('kubelet');
    const directPasses: Pass[] = [];
    for (let i = 0; i < options.quietRuns; i++)
      directPasses.push(
        await pass(cluster, { cli: options.cli, nodeArgs: options.nodeFlags }, directArgs),
      );
    /** The node flags that profile a pass into DIR/`name`, when --cpu-prof DIR is given. */
    const profiled = (name: string): string[] =>
      options.cpuProfDir === undefined
        ? options.nodeFlags
        : [...options.nodeFlags, '--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, name)];
    /** Where the profiled pass's CPU went, as a table. */
    const whereWent = async (name: string): Promise<string> => {
      if (options.cpuProfDir === undefined) return '';
      const profDir = join(options.cpuProfDir, name);
      const [file] = await readdir(profDir);
      return file === undefined ? '' : phaseTable(profilePhases(join(profDir, file)));
    };
    const stamp = String(Date.now());
    // The peer (pvc-autoresizer) reads Prometheus: the passes most like its loop.
    const prometheusPasses = await withPrometheus(cluster, kubelets, dir, options, async (prom) => {
      const promArgs = [...withSource('prometheus'), '--prometheus-url', prom.url.href];
      const quiet: Pass[] = [];
      for (let i = 0; i < options.quietRuns; i++)
        quiet.push(
          await pass(cluster, { cli: options.cli, nodeArgs: options.nodeFlags }, promArgs),
        );
      // Other PVCs than the kubelet-proxy expanding pass's below, a set of their own each time,
      // quiet again after: each pass expands only its set (the sets before it wait on a resize
      // the real tier never makes, which asks nothing of the API server).
      const expanding: Pass[] = [];
      // With --cpu-prof, one more set, expanded by a profiled pass (not among the figures).
      const sets = options.quietRuns + (options.cpuProfDir === undefined ? 0 : 1);
      const overQuery = `${VOLUME_BY_PVC}(kubelet_volume_stats_used_bytes) / ${VOLUME_BY_PVC}(kubelet_volume_stats_capacity_bytes) > 0.8`;
      for (let shift = 1; shift <= sets; shift++) {
        const neighbours = neighboursOver(options, shift);
        for (const usage of neighbours.over)
          await kubelets.setUsage(usage.namespace, usage.pvc, usage);
        // Exactly this set over: the set before is scraped quiet again, this one scraped over.
        const wanted = new Set(neighbours.over.map((usage) => `${usage.namespace}/${usage.pvc}`));
        await untilScraped(
          prom,
          async () => {
            const series = await queryPrometheus(prom, overQuery);
            return (
              series.length === wanted.size &&
              series.every(({ metric }) =>
                wanted.has(`${metric['namespace'] ?? ''}/${metric['persistentvolumeclaim'] ?? ''}`),
              )
            );
          },
          90_000,
        );
        const profiling = shift > options.quietRuns;
        const nodeArgs = profiling ? profiled(`expanding-prometheus-${stamp}`) : options.nodeFlags;
        const done = await pass(cluster, { cli: options.cli, nodeArgs }, promArgs);
        if (!profiling) expanding.push(done);
        for (const usage of neighbours.quiet)
          await kubelets.setUsage(usage.namespace, usage.pvc, usage);
      }
      const profile = await whereWent(`expanding-prometheus-${stamp}`);
      return { quiet, expanding, profile };
    });
    let profileText = '';
    if (options.cpuProfDir !== undefined) {
      await pass(cluster, { cli: options.cli, nodeArgs: profiled(`quiet-${stamp}`) }, args);
      profileText = await whereWent(`quiet-${stamp}`);
    }
    for (const usage of usageOf(options, options.over))
      await kubelets.setUsage(usage.namespace, usage.pvc, usage);
    const expanding = await pass(
      cluster,
      { cli: options.cli, nodeArgs: profiled(`expanding-${stamp}`) },
      args,
    );
    const expandingProfile = await whereWent(`expanding-${stamp}`);
    const startUp = await nodeStartUp(options.nodeFlags);
    const out: string[] = [];
    out.push(
      `pvc-chonker on a real kube-apiserver ${cluster.version}: ${options.pvcs} PVCs on ${options.nodes} nodes, ${Math.round(options.pvcs * options.over)} over threshold for the expanding pass (fleet loaded in ${loadedMs} ms)\n`,
    );
    out.push(`command: node ${[...options.nodeFlags, options.cli, ...args].join(' ')}\n`);
    out.push(
      `  (NODE_COMPILE_CACHE ${process.env['NODE_COMPILE_CACHE'] === undefined ? 'unset' : 'set, filled first'})\n\n`,
    );
    out.push(describePasses('quiet pass (nothing over threshold)', quietPasses, TARGET_QUIET_MS));
    out.push(describeFloor(floors, quietPasses));
    out.push('\n');
    out.push(
      describePasses(
        'quiet pass, --stats-source kubelet (the default: each kubelet directly)',
        directPasses,
        TARGET_QUIET_MS,
      ),
    );
    out.push('\n');
    if (typeof prometheusPasses === 'string')
      out.push(`quiet pass, --stats-source prometheus: not run (${prometheusPasses})\n`);
    else
      out.push(
        describePasses(
          "quiet pass, --stats-source prometheus (Debian's Prometheus scraping the kubelets, 6 h of history backfilled)",
          prometheusPasses.quiet,
          TARGET_QUIET_MS,
        ),
        describePasses(
          'expanding pass, --stats-source prometheus (another 10 % of the PVCs each time)',
          prometheusPasses.expanding,
          TARGET_EXPANDING_MS,
        ),
      );
    out.push('\n');
    out.push(describePasses('expanding pass', [expanding], TARGET_EXPANDING_MS));
    out.push('\n');
    out.push(
      line(
        'Node.js start-up alone, CPU',
        `${figure(startUp, ' ms', 0, true)} (node -e, same flags)`,
      ),
    );
    if (profileText !== '')
      out.push(`\nwhere a quiet pass's CPU goes (--cpu-prof):\n${profileText}`);
    if (expandingProfile !== '')
      out.push(`\nwhere the expanding pass's CPU goes (--cpu-prof):\n${expandingProfile}`);
    if (typeof prometheusPasses !== 'string' && prometheusPasses.profile !== '')
      out.push(
        `\nwhere an expanding pass's CPU goes through Prometheus (--cpu-prof):\n${prometheusPasses.profile}`,
      );
    process.stdout.write(out.join(''));
  } finally {
    await kubelets.close();
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
