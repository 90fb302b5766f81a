#!/usr/bin/env node
/**
 * Composition root: the only place that reads argv and the environment, builds the real
 * adapters, and turns the run's summary into an exit status.
 */
import { Command, CommanderError, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { booleanSwitch, parseRunOptions, type RawRunOptions, type RunOptions } from './config.js';
import {
  driftClusters,
  planClusters,
  runClusters,
  worstExit,
  type ClusterHooks,
  type ClusterTarget,
  type PreparedPass,
} from './clusters.js';
import { err, ok, type Result } from './core/result.js';
import { shardOf } from './core/shard.js';
import { driftJson, formatDriftTable } from './drift.js';
import { listContexts, loadApiConnection, type ApiConnection } from './kube/api-connection.js';
import { KubeCluster } from './kube/cluster.js';
import { KubeCoordination } from './kube/coordination.js';
import { KubeCustomResources } from './kube/custom-resources.js';
import { KubeClient, type KubeClientOptions } from './kube/client.js';
import { createConnectionPool } from './kube/keep-alive.js';
import { listReader } from './kube/lists.js';
import { createTransport } from './kube/transport.js';
import { DEFAULT_RETRY_POLICY, realSleep } from './retry.js';
import type { Logger } from 'pino';
import { createLogger } from './log.js';
import {
  createProviderGate,
  parseProviderOptions,
  PROVIDER_FLAGS,
  type RawProviderOptions,
} from './providers/index.js';
import type { ProviderOptions } from './providers/types.js';
import { clustersReportChunks } from './report.js';
import { explain, formatExplanation } from './explain.js';
import { loadPrices } from './cost/price-file.js';
import type { PriceTable } from './core/prices.js';
import { formatRecommendTable, recommendationRowJson, recommendFleet } from './recommend.js';
import type { RunConfig, RunDeps } from './run.js';
import { createStatsSource } from './stats/create-stats-source.js';
import {
  parseStatsOptions,
  STATS_FLAGS,
  type RawStatsOptions,
  type StatsPlan,
} from './stats/options.js';
import type { StatsTally } from './stats/tally.js';
import {
  parseMetricsConfig,
  type MetricsConfig,
  type RawMetricsOptions,
} from './metrics/config.js';
import { publishMetrics } from './metrics/publish.js';

/** Everything commander hands over for `run`. */
type RawOptions = RawRunOptions &
  RawProviderOptions &
  RawMetricsOptions &
  RawStatsOptions & {
    /** --price-file (docs/cost.md). */
    priceFile?: string;
  };

/** Documented exit statuses (README, "Exit status"). */
export const EXIT = { ok: 0, failed: 1, usage: 2, metrics: 3, interrupted: 4 } as const;

/** Least severe first: a run over several clusters exits with its worst cluster's status. */
const EXIT_SEVERITY: readonly number[] = [EXIT.ok, EXIT.metrics, EXIT.interrupted, EXIT.failed];

/** After SIGTERM, in-flight requests get this long before they are abandoned. */
const SHUTDOWN_GRACE_MS = 5_000;

class UsageError extends Error {}

function envName(flag: string): string {
  return `PVC_CHONKER_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/** An option that is also read from PVC_CHONKER_<NAME>. */
function option(flags: string, description: string): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1] ?? '';
  return new Option(flags, description).env(envName(long));
}

type ConnectionChoice = Pick<RunOptions, 'kubeconfig' | 'context'>;

/** A kubeconfig that cannot be read or used is a configuration error (exit 2), named as such. */
function connect(choice: ConnectionChoice, env: NodeJS.ProcessEnv): ApiConnection {
  const connection = loadApiConnection(choice, { env });
  if (!connection.ok) throw new UsageError(connection.error);
  return connection.value;
}

interface Prepared {
  options: RunOptions;
  log: Logger;
  deps: RunDeps;
  config: RunConfig;
  /** The --run-deadline timer, cleared once the pass is over (the push has its own deadline). */
  runDeadline: NodeJS.Timeout;
  /** What the stats sources did, for the summary's metrics. */
  statsTally: StatsTally;
}

/** A file an option names (a CA, a token), read once at start; the error names the file. */
function readOptionFile(path: string): Result<string> {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a path the operator gave as an option
    return ok(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    return err(`cannot read ${path}${code === '' ? '' : ` (${code})`}`);
  }
}

/** The stats flags, with PVC_CHONKER_KUBELET_INSECURE_SKIP_TLS_VERIFY read as a boolean. */
function statsPlanOf(raw: RawOptions): StatsPlan {
  const insecure = booleanSwitch(
    raw.kubeletInsecureSkipTlsVerify,
    'PVC_CHONKER_KUBELET_INSECURE_SKIP_TLS_VERIFY',
    process.env,
  );
  if (!insecure.ok) throw new UsageError(insecure.error);
  const plan = parseStatsOptions(
    { ...raw, kubeletInsecureSkipTlsVerify: insecure.value },
    readOptionFile,
  );
  if (!plan.ok) throw new UsageError(plan.error);
  return plan.value;
}

/**
 * Clients of the one kind for servers that are not the API server (kubelets, Prometheus): one
 * keep-alive pool for all of them (an agent keys its sockets by host and TLS options).
 */
function clientsFor(
  options: Omit<KubeClientOptions, 'transport'>,
): (connection: ApiConnection) => KubeClient {
  const pool = createConnectionPool();
  return (connection) =>
    new KubeClient({ ...options, transport: createTransport(connection, pool) });
}

const stopHandlers = new Set<(signal: NodeJS.Signals) => void>();

/** One listener per signal for the process; each cluster's pass adds the stop of its own. */
function onStopSignal(handler: (signal: NodeJS.Signals) => void): void {
  if (stopHandlers.size === 0) {
    const stopAll = (signal: NodeJS.Signals): void => {
      for (const stop of stopHandlers) stop(signal);
    };
    process.once('SIGTERM', stopAll);
    process.once('SIGINT', stopAll);
  }
  stopHandlers.add(handler);
}

/**
 * Options, logger, adapters and the pass's configuration for one cluster: shared by `run` and
 * `drift` (once per cluster of the run: `target` gives its context, and its name for every log
 * line when there are several) and `explain` (one cluster).
 */
function prepare(
  raw: RawOptions,
  providerOptions: ProviderOptions,
  target?: { context: string | undefined; name: string | undefined },
): Prepared {
  const parsed = parseRunOptions(raw, process.env);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const prices = pricesOf(raw);
  if (target === undefined && (parsed.value.contexts.length > 1 || parsed.value.allContexts))
    throw new UsageError('this command takes one cluster: one --context, no --all-contexts');
  const options =
    target === undefined ? parsed.value : { ...parsed.value, context: target.context };
  const statsPlan = statsPlanOf(raw);
  const runId = randomUUID();
  const root = createLogger(options.logLevel, runId);
  const log = target?.name === undefined ? root : root.child({ cluster: target.name });
  logWarnings(log);
  const connection = connect(options, process.env);
  for (const warning of connection.warnings)
    log.warn({ warning }, 'kubeconfig setting not supported');

  // SIGTERM, or the run deadline: stop starting new work at once; abandon in-flight requests
  // after a grace period.
  const stop = new AbortController();
  const abandon = new AbortController();
  const stopRun = (cause: { signal: NodeJS.Signals } | { runDeadlineMs: number }): void => {
    if (stop.signal.aborted) return;
    log.warn({ ...cause, graceMs: SHUTDOWN_GRACE_MS }, 'stopping: no new work is started');
    stop.abort();
    setTimeout(() => {
      abandon.abort(new Error('the run was stopped and its grace period ran out'));
    }, SHUTDOWN_GRACE_MS).unref();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    stopRun({ signal });
  };
  onStopSignal(onSignal);
  // A held, unref'd timer: it fires even if everything else hangs, and never keeps the process up.
  const runDeadline = setTimeout(() => {
    stopRun({ runDeadlineMs: options.runDeadlineMs });
  }, options.runDeadlineMs).unref();

  // One clock for the pass and its stats source: the wall clock, or --now.
  const now = clockOf(options);
  const clientOptions = {
    timeoutMs: options.apiTimeoutMs,
    retry: DEFAULT_RETRY_POLICY,
    sleep: realSleep,
    log,
    stop: abandon.signal,
  };
  const client = new KubeClient({
    ...clientOptions,
    // Kubelets through the proxy, writes and the lists (up to three at once, and the custom
    // resources) side by side.
    transport: createTransport(
      connection,
      createConnectionPool(options.statsConcurrency + options.writeConcurrency + 6),
    ),
  });
  const cluster = new KubeCluster({
    client,
    log,
    reportingController: 'pvc-chonker.io/pvc-chonker',
    reportingInstance: process.env['HOSTNAME'] ?? hostname(),
    kubeApiContentType: options.kubeApiContentType,
  });
  const { stats, tally: statsTally } = createStatsSource(statsPlan, {
    client,
    // Kubelets and Prometheus are reached through the same transport, deadline and error model,
    // with a keep-alive pool apart from the API server's (their TLS is not the API server's).
    clientFor: clientsFor({ ...clientOptions, timeoutMs: options.statsTimeoutMs }),
    credentials: () => connection.credentials(),
    concurrency: options.statsConcurrency,
    timeoutMs: options.statsTimeoutMs,
    signal: abandon.signal,
    log,
    now,
  });
  // Cloud SDKs load, and Nodes or Longhorn resources are read, only when a PVC of that provider
  // wants to grow.
  const providers = createProviderGate(providerOptions, {
    log,
    env: process.env,
    kube: listReader(client),
  });
  const { shard } = options;
  const deps: RunDeps = {
    cluster,
    stats,
    providers,
    now,
    log,
    runId,
    signal: stop.signal,
    customResources: new KubeCustomResources(client),
    coordination: new KubeCoordination(client),
  };
  const config: RunConfig = {
    namespaces: options.namespaces,
    dryRun: options.dryRun,
    layers: [options.flagSettings],
    pageSize: options.pageSize,
    writeConcurrency: options.writeConcurrency,
    maxExpansionsPerRun: options.maxExpansionsPerRun,
    shard:
      shard === undefined
        ? undefined
        : (pvc, group) => shardOf(pvc, shard.count, group) === shard.index,
    // Policy status counts every listed PVC, so one shard writes it.
    writesPolicyStatus: shard === undefined || shard.index === 0,
    snapshotWaitMs: options.snapshotWaitMs,
    sampleIntervalMs: options.sampleIntervalMs,
    prices,
  };
  return { options, log, deps, config, runDeadline, statsTally };
}

/**
 * The pass's clock: the wall clock, or with --now (replay, tests) that time, advancing as the
 * process runs, so the pass's own durations stay true.
 */
function clockOf(options: Pick<RunOptions, 'now'>): () => Date {
  const fixed = options.now;
  if (fixed === undefined) return () => new Date();
  const offsetMs = fixed.getTime() - Date.now();
  return () => new Date(Date.now() + offsetMs);
}

/** The price table: the shipped one, or with --price-file over it (a bad file: exit 2). */
function pricesOf(raw: RawOptions): PriceTable {
  const prices = loadPrices(raw.priceFile);
  if (!prices.ok) throw new UsageError(prices.error);
  return prices.value;
}

function providerOptionsOf(raw: RawOptions): ProviderOptions {
  const providerOptions = parseProviderOptions(
    Object.fromEntries(PROVIDER_FLAGS.map((flag) => [flag.key, raw[flag.key]])),
  );
  if (!providerOptions.ok) throw new UsageError(providerOptions.error);
  return providerOptions.value;
}

async function explainCommand(target: string, raw: RawOptions): Promise<number> {
  const [namespace, name, ...rest] = target.split('/');
  if (
    namespace === undefined ||
    name === undefined ||
    namespace === '' ||
    name === '' ||
    rest.length > 0
  )
    throw new UsageError(`explain: "${target}" is not NAMESPACE/NAME`);
  const { options, deps, config } = prepare(raw, providerOptionsOf(raw));
  const explanation = await explain(deps, config, { namespace, name });
  if (explanation === undefined)
    throw new UsageError(`explain: PersistentVolumeClaim ${namespace}/${name} not found`);
  process.stdout.write(
    options.output === 'json'
      ? `${JSON.stringify(explanation, null, 2)}\n`
      : formatExplanation(explanation),
  );
  return EXIT.ok;
}

/** `recommend`: the volume-type recommendations of the whole fleet; read-only. */
async function recommendCommand(raw: RawOptions): Promise<number> {
  const { options, deps, config, log } = prepare(raw, providerOptionsOf(raw));
  const prices = config.prices;
  if (prices === undefined) throw new Error('no price table');
  const rows = await recommendFleet(
    { cluster: deps.cluster, coordination: deps.coordination, log },
    { namespaces: options.namespaces, pageSize: options.pageSize, prices },
  );
  await writeReport([
    options.output === 'json'
      ? `${JSON.stringify(rows.map(recommendationRowJson), null, 2)}\n`
      : formatRecommendTable(rows, prices),
  ]);
  return EXIT.ok;
}

/** Writes the report piece by piece, waiting whenever stdout's pipe is full. */
async function writeReport(chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
  }
}

/** One cluster's pass; in a run over several, an unusable context fails that cluster only. */
function preparePass(
  raw: RawOptions,
  providerOptions: ProviderOptions,
  target: ClusterTarget,
  multi: boolean,
): Result<PreparedPass> {
  try {
    const { log, deps, config, runDeadline, options, statsTally } = prepare(raw, providerOptions, {
      context: target.context,
      name: multi ? target.name : undefined,
    });
    return ok({
      log,
      deps,
      config,
      startFields: { namespaces: options.namespaces, shard: options.shard },
      finish: () => {
        clearTimeout(runDeadline);
      },
      statsReport: () => statsTally.report(),
    });
  } catch (error) {
    if (!multi || !(error instanceof UsageError)) throw error;
    return err(error.message);
  }
}

/** The clusters of this run (one unless --context repeats or --all-contexts), or a usage error. */
function clustersOf(raw: RawOptions, options: RunOptions, metrics: MetricsConfig) {
  const plan = planClusters(
    {
      contexts: options.contexts,
      allContexts: options.allContexts,
      clusterName: raw.clusterName,
      defaultName: metrics.clusterName,
      pushes: metrics.pushgatewayUrl !== undefined,
      metricsFile: metrics.metricsFile !== undefined,
    },
    () => listContexts(options, { env: process.env }),
  );
  if (!plan.ok) throw new UsageError(plan.error);
  return plan.value;
}

async function runCommand(raw: RawOptions): Promise<number> {
  const providerOptions = providerOptionsOf(raw);
  const metricsConfig = parseMetricsConfig(raw, process.env);
  if (!metricsConfig.ok) throw new UsageError(metricsConfig.error);
  const parsed = parseRunOptions(raw, process.env);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const { targets, multi } = clustersOf(raw, parsed.value, metricsConfig.value);
  const hooks: ClusterHooks = {
    prepare: (target) => preparePass(raw, providerOptions, target, multi),
    publish: async (summary, target, log) => {
      const config = { ...metricsConfig.value, clusterName: target.name };
      const published = await publishMetrics(summary, config, { log });
      if (summary.status === 'failed') return EXIT.failed;
      if (summary.status === 'interrupted') return EXIT.interrupted;
      return published.error === undefined ? EXIT.ok : EXIT.metrics;
    },
    log: createLogger(parsed.value.logLevel, randomUUID()),
    now: () => new Date(),
    failedExit: EXIT.failed,
  };
  const results = await runClusters(targets, parsed.value.clusterConcurrency, hooks);
  const reports = results.map(({ target, summary }) => ({ name: target.name, summary }));
  await writeReport(clustersReportChunks(reports, parsed.value.output, multi));
  return worstExit(
    results.map((result) => result.exit),
    EXIT_SEVERITY,
  );
}

/** `drift`: per StatefulSet template, the size to put in the manifests; read-only. */
async function driftCommand(raw: RawOptions): Promise<number> {
  const parsed = parseRunOptions(raw, process.env);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const { targets, multi } = clustersOf(raw, parsed.value, {
    ...NO_METRICS,
    clusterName: raw.clusterName ?? 'default',
  });
  const providerOptions = providerOptionsOf(raw);
  const results = await driftClusters(targets, parsed.value.clusterConcurrency, {
    prepare: (target) => preparePass(raw, providerOptions, target, multi),
    log: createLogger(parsed.value.logLevel, randomUUID()),
  });
  const rows = results.flatMap(({ target, rows: found }) =>
    found.map((row) => ({ ...(multi ? { cluster: target.name } : {}), row })),
  );
  const text =
    parsed.value.output === 'json'
      ? `${JSON.stringify(
          rows.map(({ cluster, row }) => driftJson(row, cluster)),
          null,
          2,
        )}\n`
      : formatDriftTable(rows);
  await writeReport([text]);
  return results.some((result) => result.error !== undefined) ? EXIT.failed : EXIT.ok;
}

/** Metrics settings for commands that publish none. */
const NO_METRICS: MetricsConfig = {
  pushgatewayUrl: undefined,
  jobName: 'pvc-chonker',
  clusterName: 'default',
  metricsFile: undefined,
  auth: undefined,
  timeoutMs: 0,
  retries: 0,
  pvcMetrics: undefined,
};

function buildProgram(): Command {
  const program = new Command('pvc-chonker')
    .description(
      'Expands Kubernetes PersistentVolumeClaims before they fill up; runs once and exits (a CronJob).',
    )
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => {
        write(text);
      },
    });
  const command = withConnectionOptions(
    program
      .command('run')
      .description(
        'list annotated PVCs, read their usage, expand those that need it, report, exit',
      ),
    true,
  )
    // No .env() (see --dry-run); config.ts reads PVC_CHONKER_ALL_CONTEXTS=true|false.
    .addOption(
      new Option(
        '--all-contexts',
        'every context of the kubeconfig, each cluster a pass of its own (env: PVC_CHONKER_ALL_CONTEXTS)',
      ),
    )
    .addOption(option('--cluster-concurrency <n>', 'clusters whose passes run at once (4)'))
    .addOption(option('--namespace <ns...>', 'only these namespaces (repeatable; default: all)'))
    // No .env() here: commander would read PVC_CHONKER_DRY_RUN=false as true; config.ts parses it.
    .addOption(
      new Option(
        '--dry-run',
        'decide and report, but send no write of any kind (env: PVC_CHONKER_DRY_RUN=true|false)',
      ),
    )
    .addOption(option('--output <format>', 'table or json').default('table'))
    .addOption(
      option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent').default(
        'info',
      ),
    )
    .addOption(
      option(
        '--threshold <value>',
        'default storage threshold: used percentage (80%) or free quantity (10Gi)',
      ),
    )
    .addOption(option('--inodes-threshold <percent>', 'default inodes threshold (80%)'))
    .addOption(
      option(
        '--increase <value>',
        'default growth step: percentage of capacity (10%) or quantity (5Gi)',
      ),
    )
    .addOption(option('--min-increase <quantity>', 'default smallest growth step (1Gi)'))
    .addOption(option('--max-size <quantity>', 'default size never to exceed (none)'))
    .addOption(option('--cooldown <duration>', 'default time between expansions of one PVC (15m)'))
    .addOption(
      option(
        '--min-runway <duration>',
        'default: each step at least the forecast growth over this long, e.g. 3d (none)',
      ),
    )
    .addOption(
      option(
        '--expand-before-full <duration>',
        'default: expand when the forecast says full within this long, e.g. 2d (none)',
      ),
    )
    .addOption(
      option(
        '--sample-interval <duration>',
        "how often each PVC's usage sample is written to its usage-samples annotation; 0: never (6h)",
      ),
    )
    .addOption(
      option(
        '--now <time>',
        'for replay and testing: run as if it were this RFC 3339 time (default: the clock)',
      ),
    )
    .addOption(
      option(
        '--wait-for-backups <bool>',
        'default: hold an expansion while a snapshot or backup of the PVC runs (true)',
      ),
    )
    .addOption(
      option(
        '--snapshot-wait <duration>',
        'how long a snapshot or backup in progress holds an expansion before it is called stuck (2h)',
      ),
    )
    .addOption(option('--page-size <n>', 'objects per list page (500)'))
    .addOption(
      option(
        '--api-timeout <duration>',
        'budget of each Kubernetes API call, its retries included (15s)',
      ),
    )
    .addOption(
      option(
        '--kube-api-content-type <type>',
        'how PVC, PV and Pod lists are read: protobuf, or json for a proxy that mangles protobuf (protobuf)',
      ),
    )
    .addOption(
      option(
        '--stats-timeout <duration>',
        "timeout of each node's stats call, or of each Prometheus query (10s)",
      ),
    )
    .addOption(
      option(
        '--run-deadline <duration>',
        'stop the pass as on SIGTERM after this long: the rest is reported interrupted (190s)',
      ),
    )
    .addOption(option('--stats-concurrency <n>', 'nodes asked for their usage at once (16)'))
    .addOption(option('--write-concurrency <n>', 'PATCH and Event writes at once (4)'))
    .addOption(
      option(
        '--max-expansions-per-run <n>',
        'expansions per run; the rest wait for the next run (50)',
      ),
    )
    .addOption(option('--shard-index <n>', "this run's shard (default: JOB_COMPLETION_INDEX)"))
    .addOption(option('--shard-count <n>', 'number of shards the managed PVCs are split into'))
    .addOption(
      option(
        '--pushgateway-url <url>',
        'Prometheus Pushgateway to push metrics to (none: no push)',
      ),
    )
    .addOption(option('--job-name <name>', 'Pushgateway job label (pvc-chonker)'))
    .addOption(
      option(
        '--cluster-name <name>',
        'Pushgateway cluster label, so clusters can share one (default)',
      ),
    )
    .addOption(
      option(
        '--metrics-file <path>',
        "also write the metrics here, for node-exporter's textfile collector",
      ),
    )
    .addOption(
      option(
        '--pvc-metrics <which>',
        'per-PVC series for all, problems or none (default: all up to 2,000 PVCs, else problems)',
      ),
    )
    .addOption(
      option(
        '--price-file <file>',
        'YAML prices in USD per GiB-month over the shipped table (docs/cost.md)',
      ),
    );
  for (const flag of [...PROVIDER_FLAGS, ...STATS_FLAGS]) {
    const flagOption = new Option(flag.flag, flag.description).env(flag.env);
    command.addOption(
      flag.defaultValue === undefined ? flagOption : flagOption.default(flag.defaultValue),
    );
  }
  addStatsSwitches(command);
  command.action(async (raw: RawOptions) => {
    process.exitCode = await runCommand(raw);
  });
  const explainer = program
    .command('explain')
    .argument('<pvc>', 'NAMESPACE/NAME')
    .description(
      'read-only: why a PVC is managed, each setting and the layer it came from, its policies and group, and the decision a pass would make now',
    );
  // The same connection and settings flags as run; --output is text (the default) or json.
  for (const shared of command.options) {
    if (shared.long !== '--output') explainer.addOption(shared);
  }
  explainer.addOption(option('--output <format>', 'text or json').default('text'));
  explainer.action(async (target: string, raw: RawOptions) => {
    if (raw.output !== 'text' && raw.output !== 'json')
      throw new UsageError(`--output: "${raw.output ?? ''}" is not one of text, json`);
    process.exitCode = await explainCommand(target, {
      ...raw,
      output: raw.output === 'text' ? 'table' : 'json',
    });
  });
  const drift = program
    .command('drift')
    .description(
      'read-only: per StatefulSet volumeClaimTemplate, the size its PVCs grew to: the size to put in the manifests',
    );
  for (const shared of command.options) {
    if (shared.long !== '--output') drift.addOption(shared);
  }
  drift.addOption(option('--output <format>', 'table or json').default('table'));
  drift.action(async (raw: RawOptions) => {
    process.exitCode = await driftCommand(raw);
  });
  const recommender = program
    .command('recommend')
    .description(
      'read-only: cheaper volume types for every PVC (gp2 to gp3, io1 to io2, a cheaper VolumeAttributesClass), each with its monthly saving',
    );
  for (const shared of command.options) {
    if (shared.long !== '--output') recommender.addOption(shared);
  }
  recommender.addOption(option('--output <format>', 'table or json').default('table'));
  recommender.action(async (raw: RawOptions) => {
    process.exitCode = await recommendCommand(raw);
  });
  addWebhookCommand(program);
  return program;
}

/** The stats flags that are not plain values: a boolean switch and a repeatable header. */
function addStatsSwitches(command: Command): void {
  command
    // No .env() (see --dry-run); statsPlanOf reads PVC_CHONKER_KUBELET_INSECURE_SKIP_TLS_VERIFY.
    .addOption(
      new Option(
        '--kubelet-insecure-skip-tls-verify',
        "do not verify the kubelets' serving certificates (self-signed kubelet certificates; env: PVC_CHONKER_KUBELET_INSECURE_SKIP_TLS_VERIFY=true|false)",
      ),
    )
    .addOption(
      option(
        '--prometheus-header <header>',
        "'Name: value' sent to Prometheus, e.g. X-Scope-OrgID (repeatable; the env variable holds one per line)",
      )
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .default([]),
    );
}

/** `webhook`: its modules load only when it runs, so `run` starts as fast as before. */
/** Where the API server is and who we are to it: the same flags for every command using it. */
function withConnectionOptions(command: Command, severalClusters = false): Command {
  const context = severalClusters
    ? option(
        '--context <name>',
        'kubeconfig context to use; repeat it for several clusters, each a pass of its own',
      ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    : option('--context <name>', 'kubeconfig context to use');
  return command
    .addOption(
      option(
        '--kubeconfig <file>',
        'kubeconfig file (else KUBECONFIG, in-cluster config, ~/.kube/config)',
      ),
    )
    .addOption(context);
}

function addWebhookCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('webhook')
      .description(
        'serve the admission webhook (HTTPS): policies at PVC creation, annotation checks',
      ),
  )
    .addOption(option('--port <n>', 'HTTPS port (8443)'))
    .addOption(option('--tls-cert-file <file>', 'serving certificate (PEM)'))
    .addOption(option('--tls-key-file <file>', 'its private key (PEM)'))
    // No .env() (see --dry-run); options.ts reads PVC_CHONKER_AUTO_TLS=true|false.
    .addOption(
      new Option(
        '--auto-tls',
        'generate and rotate the certificate, kept in --tls-secret (env: PVC_CHONKER_AUTO_TLS)',
      ),
    )
    .addOption(option('--tls-secret <ns/name>', 'Secret holding the generated certificate'))
    .addOption(option('--service <ns/name>', 'Service the API server calls the webhook through'))
    .addOption(
      option('--webhook-configuration <name>', 'webhook configurations whose caBundle is set'),
    )
    .addOption(option('--tls-check-interval <duration>', 'certificate expiry check period (1h)'))
    .addOption(
      option('--relist-interval <duration>', 'policy re-list period while watch fails (10s)'),
    )
    .addOption(
      option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent').default(
        'info',
      ),
    )
    .action(async (raw: Record<string, unknown>) => {
      const { webhookCommand } = await import('./webhook/command.js');
      process.exitCode = await webhookCommand(raw, {
        env: process.env,
        connect: (kubeconfig, context) => connect({ kubeconfig, context }, process.env),
        usageError: (message) => new UsageError(message),
      });
    });
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', msg: 'unexpected error', err: error instanceof Error ? error.stack : String(error) })}\n`,
    );
    process.exitCode = EXIT.failed;
  }
}

/*
 * Node prints warnings (deprecations in bundled dependencies, such as DEP0169 on Node 24) as
 * plain text on stderr, which would break the JSON-lines log. Warnings are emitted on the next
 * tick, so replacing the printer here, before the first await, catches even those raised while
 * the bundle loaded; they are logged as JSON once the logger exists.
 */
const pendingWarnings: Error[] = [];
let warningLog: ((warning: Error) => void) | undefined;
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warningLog === undefined) pendingWarnings.push(warning);
  else warningLog(warning);
});

/** Sends Node's warnings, earlier ones included, to the run's log. */
function logWarnings(log: Logger): void {
  warningLog = (warning) => {
    log.warn({ warning: warning.name, err: warning.message }, 'node warning');
  };
  for (const warning of pendingWarnings.splice(0)) warningLog(warning);
}

await main(process.argv);
