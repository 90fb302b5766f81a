/**
 * Several clusters in one run (--context repeated, or --all-contexts): each cluster is a pass of
 * its own (its own connection, deadline, concurrency and provider circuit breakers, built by the
 * caller's `prepare`), run concurrently up to --cluster-concurrency. One failing cluster does not
 * stop the others; the exit status is the worst of them. Each report row and each metrics group
 * carries its cluster's name: the context's, or --cluster-name for a single cluster.
 */
import type { Logger } from 'pino';
import { mapWithConcurrency } from './concurrency.js';
import { err, ok, type Result } from './core/result.js';
import type { RunSummary, StatsSourceReport, UnmanagedReason } from './core/outcome.js';
import type { DriftRow } from './core/drift.js';
import { driftReport, withTemplateDrift } from './drift.js';
import { parseGroupingValue } from './metrics/config.js';
import { run, type RunConfig, type RunDeps } from './run.js';

/** One cluster of the run. */
export interface ClusterTarget {
  /** The kubeconfig context; undefined: the default connection (in a pod, current-context). */
  context: string | undefined;
  /** Its name in the report and the metrics' `cluster` label. */
  name: string;
}

export interface ClusterPlan {
  targets: ClusterTarget[];
  /** More than one cluster asked for (even if --all-contexts found one): report a CLUSTER column. */
  multi: boolean;
}

export interface ClusterChoice {
  contexts: readonly string[];
  allContexts: boolean;
  /** --cluster-name / PVC_CHONKER_CLUSTER_NAME when given. */
  clusterName: string | undefined;
  /** The name of a single cluster without --cluster-name (the metrics' default). */
  defaultName: string;
  /** Metrics are pushed: each name is a Pushgateway grouping value. */
  pushes: boolean;
  metricsFile: boolean;
}

/** The contexts of a run over several clusters: known to the kubeconfig, usable as names. */
function contextsToRun(choice: ClusterChoice, available: () => Result<string[]>): Result<string[]> {
  const known = available();
  if (!known.ok) return known;
  const names = choice.allContexts ? known.value : [...choice.contexts];
  if (names.length === 0) return err('--all-contexts: the kubeconfig has no contexts');
  const missing = names.find((name) => !known.value.includes(name));
  if (missing !== undefined)
    return err(`--context: "${missing}" is not a context in the kubeconfig`);
  if (!choice.pushes) return ok(names);
  for (const name of names) {
    const valid = parseGroupingValue(`context "${name}"`, name);
    if (!valid.ok)
      return err(
        `${valid.error}; it names the cluster in the metrics: rename the context (kubectl config rename-context)`,
      );
  }
  return ok(names);
}

/**
 * Which clusters the run covers. One --context (or none) is the single-cluster run as before:
 * named by --cluster-name. Several, or --all-contexts, are named by their contexts, which must
 * exist in the kubeconfig (`available` reads its context names).
 */
export function planClusters(
  choice: ClusterChoice,
  available: () => Result<string[]>,
): Result<ClusterPlan> {
  const multi = choice.allContexts || choice.contexts.length > 1;
  if (!multi) {
    const name = choice.clusterName ?? choice.defaultName;
    return ok({ targets: [{ context: choice.contexts[0], name }], multi });
  }
  if (choice.clusterName !== undefined)
    return err(
      '--cluster-name names one cluster; with several, each is named by its kubeconfig context',
    );
  if (choice.metricsFile)
    return err(
      '--metrics-file holds one cluster: with several, push to --pushgateway-url (one group per cluster) or run one CronJob per cluster',
    );
  const names = contextsToRun(choice, available);
  if (!names.ok) return names;
  return ok({ targets: names.value.map((context) => ({ context, name: context })), multi });
}

/** One cluster's pass, ready to run: what main.ts builds for a connection. */
export interface PreparedPass {
  log: Logger;
  deps: RunDeps;
  config: RunConfig;
  /** What the "run started" line says beside the dry run. */
  startFields: Record<string, unknown>;
  /** Called once the pass is over: clears its --run-deadline timer. */
  finish(): void;
  /** What the pass's stats sources did (PVCs read from each, failed requests), for the metrics. */
  statsReport?: () => StatsSourceReport;
}

/** A pass's end: its summary (report rows named by cluster) and its exit status. */
export interface ClusterResult {
  target: ClusterTarget;
  summary: RunSummary;
  exit: number;
}

/** How a pass is built, published and judged: supplied by main.ts, the composition root. */
export interface ClusterHooks {
  /** Builds the pass; an error value (an unusable context) fails this cluster only. */
  prepare(target: ClusterTarget): Result<PreparedPass>;
  /** Pushes one pass's metrics under its cluster's name; answers the exit status. */
  publish(summary: RunSummary, target: ClusterTarget, log: Logger): Promise<number>;
  /** For what happens outside any pass (a cluster that could not be prepared). */
  log: Logger;
  now: () => Date;
  failedExit: number;
}

const NO_UNMANAGED: Readonly<Record<UnmanagedReason, number>> = {
  'not-enabled': 0,
  disabled: 0,
  'other-shard': 0,
};

function unpreparedSummary(hooks: ClusterHooks, error: string): RunSummary {
  const now = hooks.now();
  return {
    runId: '',
    startedAt: now,
    finishedAt: now,
    dryRun: false,
    status: 'failed',
    error,
    pvcsSeen: 0,
    unmanaged: NO_UNMANAGED,
    pvcs: [],
  };
}

/** Every report row names its cluster. */
function named(summary: RunSummary, cluster: string): RunSummary {
  return { ...summary, pvcs: summary.pvcs.map((outcome) => ({ ...outcome, cluster })) };
}

function countActions(summary: RunSummary): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of summary.pvcs) counts[outcome.action] = (counts[outcome.action] ?? 0) + 1;
  return counts;
}

/** One cluster: prepare, pass, template drift, metrics. Never throws. */
export async function clusterPass(
  target: ClusterTarget,
  hooks: ClusterHooks,
): Promise<ClusterResult> {
  const prepared = hooks.prepare(target);
  if (!prepared.ok) {
    hooks.log.error({ cluster: target.name, err: prepared.error }, 'the pass could not start');
    return {
      target,
      summary: unpreparedSummary(hooks, prepared.error),
      exit: hooks.failedExit,
    };
  }
  const { log, deps, config, startFields } = prepared.value;
  log.info({ dryRun: config.dryRun, ...startFields }, 'run started');
  let summary: RunSummary;
  try {
    summary = await run(deps, config);
    summary = await withTemplateDrift(deps, config, summary);
    const { statsReport } = prepared.value;
    if (statsReport !== undefined) summary = { ...summary, stats: statsReport() };
  } finally {
    prepared.value.finish();
  }
  summary = named(summary, target.name);
  log.info(
    {
      status: summary.status,
      pvcsSeen: summary.pvcsSeen,
      managed: summary.pvcs.length,
      ...countActions(summary),
      durationMs: summary.finishedAt.getTime() - summary.startedAt.getTime(),
    },
    'run finished',
  );
  // Also after a failed or interrupted pass: then the failure is what the metrics say.
  const exit = await hooks.publish(summary, target, log);
  return { target, summary, exit };
}

/** Every cluster's pass, at most `concurrency` at once; results in the order of the targets. */
export function runClusters(
  targets: readonly ClusterTarget[],
  concurrency: number,
  hooks: ClusterHooks,
): Promise<ClusterResult[]> {
  return mapWithConcurrency(targets, concurrency, (target) => clusterPass(target, hooks));
}

/** The worst exit status, by `severity` (least severe first); unknown statuses count as worst. */
export function worstExit(exits: readonly number[], severity: readonly number[]): number {
  let worst = severity[0] ?? 0;
  for (const exit of exits) {
    const rank = severity.indexOf(exit);
    if (rank === -1) return exit;
    if (rank > severity.indexOf(worst)) worst = exit;
  }
  return worst;
}

/** `pvc-chonker drift` in one cluster: its rows, or why they could not be read. */
export interface DriftResult {
  target: ClusterTarget;
  rows: DriftRow[];
  error: string | undefined;
}

async function driftOf(
  target: ClusterTarget,
  prepare: ClusterHooks['prepare'],
  log: Logger,
): Promise<DriftResult> {
  const prepared = prepare(target);
  if (!prepared.ok) {
    log.error({ cluster: target.name, err: prepared.error }, 'drift could not start');
    return { target, rows: [], error: prepared.error };
  }
  const { deps, config } = prepared.value;
  try {
    if (deps.coordination === undefined) return { target, rows: [], error: undefined };
    const rows = await driftReport(
      { cluster: deps.cluster, coordination: deps.coordination },
      config,
    );
    return { target, rows, error: undefined };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    prepared.value.log.error({ err: message }, 'drift could not be read');
    return { target, rows: [], error: message };
  } finally {
    prepared.value.finish();
  }
}

/** The drift view of every cluster, at most `concurrency` at once. */
export function driftClusters(
  targets: readonly ClusterTarget[],
  concurrency: number,
  hooks: Pick<ClusterHooks, 'prepare' | 'log'>,
): Promise<DriftResult[]> {
  return mapWithConcurrency(targets, concurrency, (target) =>
    driftOf(target, hooks.prepare, hooks.log),
  );
}
