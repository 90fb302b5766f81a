/**
 * The safety invariants of issue 5, checked against what the cluster saw (its request log and
 * its objects, on the simulator or the real server) and what each run said (JSON report, logs). A fault may cost an expansion;
 * it must never make a PVC shrink, overshoot, double-expand or fail silently.
 */
import { expect } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { parseQuantity } from '../../src/core/quantity.js';
import { isWrite, type LoggedRequest, type TestCluster } from './test-cluster.js';
import type { CliResult } from './harness.js';

const PREFIX = 'pvc-chonker.io/';
const DEFAULT_COOLDOWN = '15m';
/** run.ts reports a PVC that vanished before its PATCH with this detail, and sends no Event. */
export const DELETED_DETAIL = 'the PVC was deleted after it was listed';

interface PvcObject {
  metadata: { namespace: string; name: string; annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
  status?: { capacity?: { storage?: string } };
}

interface PatchBody {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string | null> };
  spec?: { resources?: { requests?: { storage?: string } } };
}

interface EventObject {
  type: string;
  reason: string;
  involvedObject: { namespace: string; name: string };
}

/** One PVC as it was before the runs under test. */
export interface PvcBefore {
  requestBytes: bigint;
  capacityBytes: bigint | undefined;
  annotations: Record<string, string>;
}

/** A finished CLI run with its arguments, its wall-clock window and its parsed JSON report. */
export interface RunRecord {
  args: readonly string[];
  result: CliResult;
  rows: Record<string, unknown>[];
  startedAt: number;
  finishedAt: number;
}

export function bytes(quantity: string): bigint {
  const parsed = parseQuantity(quantity);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Every PVC in the cluster, by namespace/name. */
export async function snapshotPvcs(cluster: TestCluster): Promise<Map<string, PvcBefore>> {
  const pvcs = (await cluster.list('PersistentVolumeClaim')) as PvcObject[];
  return new Map(
    pvcs.map((pvc) => {
      const capacity = pvc.status?.capacity?.storage;
      return [
        key(pvc.metadata.namespace, pvc.metadata.name),
        {
          requestBytes: bytes(pvc.spec.resources.requests.storage),
          capacityBytes: capacity === undefined ? undefined : bytes(capacity),
          annotations: { ...pvc.metadata.annotations },
        },
      ];
    }),
  );
}

/** Runs the CLI with `--output json` and keeps what the invariants need. */
export async function runJson(
  cluster: TestCluster,
  args: readonly string[],
  env: Record<string, string> = {},
  onSpawn?: (pid: number) => void,
): Promise<RunRecord> {
  const startedAt = Date.now();
  const result = await cluster.cli([...args, '--output', 'json'], env, onSpawn);
  const finishedAt = Date.now();
  let rows: Record<string, unknown>[] = [];
  try {
    rows = JSON.parse(result.stdout) as Record<string, unknown>[];
  } catch {
    throw new Error(`no JSON report (exit ${String(result.code)}): ${result.stderr.slice(-2000)}`);
  }
  return { args, result, rows, startedAt, finishedAt };
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args[at + 1];
}

function pvcOfPath(path: string): string | undefined {
  const match = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(path);
  return match?.[1] === undefined || match[2] === undefined ? undefined : key(match[1], match[2]);
}

interface Patch {
  pvc: string;
  status: number;
  startedAt: number;
  body: PatchBody;
}

function pvcPatches(requests: readonly LoggedRequest[]): Patch[] {
  return requests.flatMap((r) => {
    const pvc = r.method === 'PATCH' ? pvcOfPath(r.path) : undefined;
    return pvc === undefined
      ? []
      : [{ pvc, status: r.status, startedAt: r.startedAt, body: r.body ?? {} }];
  });
}

/** The max-size in force for a PVC: its annotation, else the runs' --max-size flag. */
function maxSizeOf(pvc: PvcBefore | undefined, runs: readonly RunRecord[]): bigint | undefined {
  const text =
    pvc?.annotations[`${PREFIX}max-size`] ??
    runs.map((run) => flagValue(run.args, '--max-size')).find((v) => v !== undefined);
  return text === undefined ? undefined : bytes(text);
}

function cooldownOf(pvc: PvcBefore | undefined, runs: readonly RunRecord[]): number {
  const text =
    pvc?.annotations[`${PREFIX}cooldown`] ??
    runs.map((run) => flagValue(run.args, '--cooldown')).find((v) => v !== undefined) ??
    DEFAULT_COOLDOWN;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** Every PATCH carries the resourceVersion guard, the new size and the state, all at once. */
function checkPatchBodies(patches: readonly Patch[]): void {
  for (const patch of patches) {
    const annotations = patch.body.metadata?.annotations ?? {};
    expect(patch.body.metadata?.resourceVersion, `${patch.pvc}: PATCH without guard`).toEqual(
      expect.any(String),
    );
    expect(
      patch.body.spec?.resources?.requests?.storage,
      `${patch.pvc}: PATCH without size`,
    ).toEqual(expect.any(String));
    expect(annotations[`${PREFIX}last-expansion`], `${patch.pvc}: PATCH without state`).toEqual(
      expect.any(String),
    );
    expect(
      annotations[`${PREFIX}expansion-history`],
      `${patch.pvc}: PATCH without history`,
    ).toEqual(expect.any(String));
  }
}

/** Never smaller than before, never above max-size: in every PATCH sent and in the end state. */
function checkSizes(
  now: ReadonlyMap<string, PvcBefore>,
  before: ReadonlyMap<string, PvcBefore>,
  runs: readonly RunRecord[],
  patches: readonly Patch[],
): void {
  const asked = patches.map((p) => ({
    pvc: p.pvc,
    size: bytes(p.body.spec?.resources?.requests?.storage ?? '0'),
  }));
  const current = [...now].map(([pvc, state]) => ({ pvc, size: state.requestBytes }));
  for (const { pvc, size } of [...asked, ...current]) {
    const previous = before.get(pvc);
    if (previous === undefined) continue;
    expect(size >= previous.requestBytes, `${pvc}: request shrank to ${size}`).toBe(true);
    const max = maxSizeOf(previous, runs);
    if (max !== undefined)
      expect(size <= max, `${pvc}: ${size} is above max-size ${max}`).toBe(true);
  }
}

/**
 * Accepted PATCHes of one PVC are a cooldown apart, and none lands on a PVC whose resize was still
 * in flight: at the start (request above capacity) or from an accepted PATCH less than
 * `resizeDelayMs` before.
 */
function checkCooldownAndInFlight(
  before: ReadonlyMap<string, PvcBefore>,
  runs: readonly RunRecord[],
  patches: readonly Patch[],
  resizeDelayMs: number,
): void {
  const accepted = new Map<string, number[]>();
  for (const patch of patches.filter((p) => p.status === 200)) {
    const times = accepted.get(patch.pvc) ?? [];
    times.push(patch.startedAt);
    accepted.set(patch.pvc, times);
  }
  for (const [pvc, times] of accepted) {
    const previous = before.get(pvc);
    const inFlight =
      previous?.capacityBytes !== undefined && previous.requestBytes > previous.capacityBytes;
    expect(inFlight, `${pvc}: patched while its resize was in flight`).toBe(false);
    const gap = Math.max(cooldownOf(previous, runs), resizeDelayMs);
    for (let i = 1; i < times.length; i++) {
      const apart = (times[i] ?? 0) - (times[i - 1] ?? 0);
      expect(apart, `${pvc}: patched twice ${apart} ms apart`).toBeGreaterThanOrEqual(gap);
    }
  }
}

/** A dry run writes nothing: no write lands inside its window unless a real run overlaps it. */
function checkDryRuns(requests: readonly LoggedRequest[], runs: readonly RunRecord[]): void {
  const dry = runs.filter((run) => run.args.includes('--dry-run'));
  const wet = runs.filter((run) => !run.args.includes('--dry-run'));
  for (const run of dry) {
    const overlapped = wet.some(
      (w) => w.startedAt < run.finishedAt && run.startedAt < w.finishedAt,
    );
    if (overlapped) continue;
    const writes = requests.filter(
      (r) => isWrite(r) && r.startedAt >= run.startedAt && r.startedAt <= run.finishedAt,
    );
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  }
}

/** Outcomes that are not "all is well": a person should hear about them. */
const NOT_OK = new Set([
  'api-error',
  'conflict',
  'provider-refused',
  'provider-circuit-open',
  'provider-error',
  'provider-capacity',
  'offline-expansion-required',
  'max-expansions-per-run',
  'max-size-reached',
  'expansion-not-allowed',
  'interrupted',
  'invalid-annotation',
  'resize-failed',
]);

function isNotOk(row: Record<string, unknown>): boolean {
  return row['action'] === 'error' || NOT_OK.has(String(row['reason']));
}

/**
 * No Event is expected when there is nothing to attach it to (the PVC was deleted) or when the run
 * was told to stop (SIGTERM: no new work, and an Event is new work).
 */
function wantsEvent(row: Record<string, unknown>, run: RunRecord): boolean {
  if (run.args.includes('--dry-run')) return false;
  if (row['reason'] === 'interrupted') return false;
  return !(row['reason'] === 'api-error' && row['detail'] === DELETED_DETAIL);
}

/** Each not-ok PVC: in the JSON report with a detail, in a log line, and as a Warning Event. */
function checkVisibility(events: readonly EventObject[], runs: readonly RunRecord[]): void {
  for (const run of runs) {
    // A pass that could not complete says so in the log and in its report's last record.
    const failure = run.rows.filter((row) => row['name'] === null);
    if (run.result.code === 1) {
      expect(run.result.logs.some((l) => l['msg'] === 'the pass could not complete')).toBe(true);
      expect(failure).toMatchObject([{ action: 'error', reason: 'api-error' }]);
    }
    for (const row of run.rows.filter((r) => r['name'] !== null && isNotOk(r))) {
      const who = `${String(row['namespace'])}/${String(row['name'])} ${String(row['reason'])}`;
      expect(String(row['detail']), `${who}: no detail`).not.toBe('');
      const logged = run.result.logs.some(
        (l) =>
          l['msg'] === 'pvc decision' &&
          l['namespace'] === row['namespace'] &&
          l['name'] === row['name'] &&
          l['reason'] === row['reason'] &&
          l['action'] === row['action'],
      );
      expect(logged, `${who}: not in the log`).toBe(true);
      if (!wantsEvent(row, run)) continue;
      const evented = events.some(
        (e) =>
          e.type === 'Warning' &&
          e.reason === row['reason'] &&
          e.involvedObject.namespace === row['namespace'] &&
          e.involvedObject.name === row['name'],
      );
      // After SIGTERM's grace every call is abandoned, the Event too: that is logged instead.
      const abandoned =
        run.result.code === 4 &&
        run.result.logs.some(
          (l) => l['msg'] === 'recording event failed' && l['name'] === row['name'],
        );
      expect(evented || abandoned, `${who}: no Warning Event`).toBe(true);
    }
  }
}

export interface InvariantOptions {
  /** The harness's resize delay: a second accepted PATCH sooner than this hit a resize in flight. */
  resizeDelayMs?: number;
}

/** Every invariant of issue 5 over everything the cluster saw since `before` was taken. */
export async function assertInvariants(
  cluster: TestCluster,
  before: ReadonlyMap<string, PvcBefore>,
  runs: readonly RunRecord[],
  options: InvariantOptions = {},
): Promise<void> {
  const requests = await cluster.requests();
  const patches = pvcPatches(requests);
  checkPatchBodies(patches);
  checkSizes(await snapshotPvcs(cluster), before, runs, patches);
  checkCooldownAndInFlight(before, runs, patches, options.resizeDelayMs ?? 50);
  checkDryRuns(requests, runs);
  checkVisibility((await cluster.list('Event')) as EventObject[], runs);
}

/** Accepted PATCHes by PVC name (namespace left out: the fault tests use one namespace). */
export async function acceptedPatches(cluster: TestCluster): Promise<string[]> {
  return pvcPatches(await cluster.requests())
    .filter((p) => p.status === 200)
    .map((p) => p.pvc.split('/')[1] ?? '');
}

/** name → "action:reason" of one report. */
export function outcomes(rows: readonly Record<string, unknown>[]): Record<string, string> {
  return Object.fromEntries(
    rows.map((row) => [String(row['name']), `${String(row['action'])}:${String(row['reason'])}`]),
  );
}
