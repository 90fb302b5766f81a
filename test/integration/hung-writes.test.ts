/**
 * A write the API server never answers (issue 19, part 1). It is not sent again blindly: the
 * object is read again, under a short deadline, to learn whether the write applied, and the
 * outcome is reported. One call costs about one --api-timeout plus that re-read, not four
 * timeouts. Each kind of write is hung twice: before it applies (the sim's `hang`) and after
 * (`hangAfterServing`: applied, the answer lost). The CLI runs with a full GC every 5 ms, as in
 * deadline-gc.test.ts; `make test-node20` and `make test-node24` run it on both Nodes.
 */
import { afterEach, expect, it } from 'vitest';
import type { SimCluster } from '../../sim/index.js';
import { seed, type Claim } from './harness.js';
import { startSimOnly } from './test-cluster.js';
import { describeOnSim } from './sim-only.js';
import { assertInvariants, outcomes, runJson, snapshotPvcs, type RunRecord } from './invariants.js';

/** Preloaded into the CLI: a full collection every 5 ms, from its first line on. */
const GC_PRESSURE = [
  '--expose-gc',
  '--import',
  `data:text/javascript,${encodeURIComponent('setInterval(() => globalThis.gc(), 5).unref();')}`,
];

const API_TIMEOUT_MS = 2_000;
const ARGS = ['--api-timeout', '2s'];
const UNANSWERED_LOG = 'kubernetes write unanswered; read again to learn whether it applied';

let harness: Awaited<ReturnType<typeof startSimOnly>> | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const FULL = (name: string, extra: Partial<Claim> = {}): Claim => ({
  name,
  usedPercent: 95,
  ...extra,
});

type Request = SimCluster['requests'][number];

function matching(sim: SimCluster, method: string, path: RegExp): Request[] {
  return sim.requests.filter((r) => r.method === method && path.test(r.path));
}

/** The one hung write: sent exactly once. */
function hungWrite(sim: SimCluster, method: string, path: RegExp): Request {
  const sent = matching(sim, method, path);
  expect(sent, `${method} ${String(path)} sent again`).toHaveLength(1);
  return sent[0] as Request;
}

/**
 * The bound of the issue: the pass ends within --api-timeout + 10 s of the last request answered
 * apart from the hung write; and the hung write itself costs about one timeout and a re-read (the
 * old four attempts and their backoff took more than 4 timeouts).
 */
function expectBounded(sim: SimCluster, run: RunRecord, hung: Request): void {
  const answered = sim.requests.filter((r) => r !== hung && r.status !== 0 && !r.unanswered);
  const lastWork = Math.max(...answered.map((r) => r.startedAt + r.durationMs));
  expect(run.finishedAt - lastWork).toBeLessThan(API_TIMEOUT_MS + 10_000);
  expect(run.finishedAt - hung.startedAt).toBeLessThan(API_TIMEOUT_MS + 3_000);
}

function unansweredLogs(run: RunRecord): Record<string, unknown>[] {
  return run.result.logs.filter((l) => l['msg'] === UNANSWERED_LOG);
}

interface EventObject {
  type: string;
  reason: string;
  involvedObject: { name: string };
}

function eventsOf(sim: SimCluster, name: string): string[] {
  return (sim.listObjects('Event') as EventObject[])
    .filter((e) => e.involvedObject.name === name)
    .map((e) => `${e.type}:${e.reason}`);
}

function requestOf(sim: SimCluster, name: string): string {
  const pvc = sim.getObject('PersistentVolumeClaim', 'db', name) as {
    spec: { resources: { requests: { storage: string } } };
  };
  return pvc.spec.resources.requests.storage;
}

const STUCK_PATCH = /\/persistentvolumeclaims\/stuck$/;

describeOnSim('held-request')('a hung PVC PATCH', () => {
  it('not applied: a re-read says so, the PVC is api-error naming the timeout, nothing is sent again', async () => {
    harness = await startSimOnly(seed([FULL('a'), FULL('stuck')]), { nodeArgs: GC_PRESSURE });
    const { sim } = harness;
    sim.faults.add({ method: 'PATCH', path: STUCK_PATCH, hang: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({ a: 'expand:threshold-reached', stuck: 'error:api-error' });
    expect(run.rows.find((r) => r['name'] === 'stuck')?.['detail']).toBe(
      'PATCH unanswered: timed out after 2000 ms; a re-read shows it not applied; the next run tries again',
    );
    const hung = hungWrite(sim, 'PATCH', STUCK_PATCH);
    expect(hung.status).toBe(0);
    const rereads = matching(sim, 'GET', STUCK_PATCH);
    expect(rereads.map((r) => r.status)).toEqual([200]);
    // After the timeout (the client's clock starts a little before the sim logs the request).
    expect(rereads[0]?.startedAt).toBeGreaterThanOrEqual(hung.startedAt + API_TIMEOUT_MS - 100);
    expect(requestOf(sim, 'stuck')).toBe('10Gi');
    expect(eventsOf(sim, 'stuck')).toEqual(['Warning:api-error']);
    expect(unansweredLogs(run)).toMatchObject([
      { operation: 'patch persistentvolumeclaim db/stuck', reread: 'not-applied' },
    ]);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });

  it('applied, its answer lost: a re-read finds it applied, the PVC expands once and says so', async () => {
    harness = await startSimOnly(seed([FULL('a'), FULL('stuck')]), { nodeArgs: GC_PRESSURE });
    const { sim } = harness;
    sim.faults.add({ method: 'PATCH', path: STUCK_PATCH, hangAfterServing: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      a: 'expand:threshold-reached',
      stuck: 'expand:threshold-reached',
    });
    expect(String(run.rows.find((r) => r['name'] === 'stuck')?.['detail'])).toMatch(
      /; 10Gi -> 11Gi; PATCH unanswered: timed out after 2000 ms; a re-read shows it applied$/,
    );
    const hung = hungWrite(sim, 'PATCH', STUCK_PATCH);
    expect([hung.status, hung.unanswered]).toEqual([200, true]);
    expect(requestOf(sim, 'stuck')).toBe('11Gi');
    expect(eventsOf(sim, 'stuck')).toEqual(['Normal:threshold-reached']);
    expect(unansweredLogs(run)).toMatchObject([{ reread: 'applied' }]);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });
});

const EVENT_CREATE = /^\/api\/v1\/namespaces\/db\/events$/;

describeOnSim('held-request')('a hung Event create', () => {
  it('not applied: a GET of its name finds none; the expansion stands and its record names the timeout', async () => {
    harness = await startSimOnly(seed([FULL('a')]), { nodeArgs: GC_PRESSURE });
    const { sim } = harness;
    sim.faults.add({ method: 'POST', path: EVENT_CREATE, hang: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({ a: 'expand:threshold-reached' });
    expect(String(run.rows[0]?.['detail'])).toMatch(
      /; 10Gi -> 11Gi; its Normal Event was not recorded: record event for db\/a: timed out after 2000 ms; a re-read shows it not applied$/,
    );
    const hung = hungWrite(sim, 'POST', EVENT_CREATE);
    const name = (hung.body as { metadata: { name: string } }).metadata.name;
    expect(matching(sim, 'GET', /\/events\//).map((r) => [r.path, r.status])).toEqual([
      [`/api/v1/namespaces/db/events/${name}`, 404],
    ]);
    expect(eventsOf(sim, 'a')).toEqual([]);
    expect(requestOf(sim, 'a')).toBe('11Gi');
    expect(run.result.logs.filter((l) => l['msg'] === 'recording event failed')).toHaveLength(1);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });

  it('applied, its answer lost: the GET finds it, and it is not created again', async () => {
    harness = await startSimOnly(seed([FULL('a')]), { nodeArgs: GC_PRESSURE });
    const { sim } = harness;
    sim.faults.add({ method: 'POST', path: EVENT_CREATE, hangAfterServing: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({ a: 'expand:threshold-reached' });
    expect(String(run.rows[0]?.['detail'])).toMatch(/; 10Gi -> 11Gi$/);
    const hung = hungWrite(sim, 'POST', EVENT_CREATE);
    expect([hung.status, hung.unanswered]).toEqual([201, true]);
    expect(eventsOf(sim, 'a')).toEqual(['Normal:threshold-reached']);
    expect(unansweredLogs(run)).toMatchObject([
      { operation: 'record event for db/a', reread: 'applied' },
    ]);
    expect(run.result.logs.filter((l) => l['msg'] === 'recording event failed')).toEqual([]);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });
});

const CRD_BASE = '/apis/pvc-chonker.io/v1alpha1';

function pvcGroup(name: string, members: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCGroup',
    metadata: { name },
    spec: { members: members.map((member) => ({ namespace: 'db', name: member })) },
  };
}

function pvcPolicy(name: string): Record<string, unknown> {
  return {
    apiVersion: 'pvc-chonker.io/v1alpha1',
    kind: 'PVCPolicy',
    metadata: { name, namespace: 'db' },
    spec: { selector: { matchLabels: { tier: 'data' } }, template: { threshold: '90%' } },
  };
}

function statusOf(
  sim: SimCluster,
  kind: 'PVCGroup' | 'PVCPolicy',
  ns: string | undefined,
  name: string,
): unknown {
  return (sim.getObject(kind, ns, name) as { status?: unknown }).status;
}

describeOnSim('held-request')('a hung status patch', () => {
  it('PVCGroup, not applied: a re-read says so, the failure is logged naming the timeout, not sent again', async () => {
    harness = await startSimOnly(
      seed([FULL('m-0'), FULL('m-1', { usedPercent: 50 })], [pvcGroup('pair', ['m-0', 'm-1'])]),
      { nodeArgs: GC_PRESSURE, crds: true },
    );
    const { sim } = harness;
    const statusPath = new RegExp(`^${CRD_BASE}/pvcgroups/pair/status$`);
    sim.faults.add({ method: 'PATCH', path: statusPath, hang: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      'm-0': 'expand:threshold-reached',
      'm-1': 'expand:group-sync',
    });
    const hung = hungWrite(sim, 'PATCH', statusPath);
    expect(hung.status).toBe(0);
    const rereads = matching(sim, 'GET', new RegExp(`^${CRD_BASE}/pvcgroups$`)).filter(
      (r) => r.query['fieldSelector'] === 'metadata.name=pair',
    );
    expect(rereads.map((r) => r.status)).toEqual([200]);
    expect(statusOf(sim, 'PVCGroup', undefined, 'pair')).toBe(undefined);
    const failed = run.result.logs.filter((l) => l['msg'] === 'status write failed');
    expect(failed).toMatchObject([
      {
        kind: 'pvcgroups',
        name: 'pair',
        err: 'patch pvcgroups pair/status: timed out after 2000 ms; a re-read shows it not applied',
      },
    ]);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });

  it('PVCPolicy, applied, its answer lost: a re-read finds the status written, nothing is sent again', async () => {
    harness = await startSimOnly(
      seed([FULL('p-0', { managed: false, labels: { tier: 'data' } })], [pvcPolicy('data')]),
      { nodeArgs: GC_PRESSURE, crds: true },
    );
    const { sim } = harness;
    const statusPath = new RegExp(`^${CRD_BASE}/namespaces/db/pvcpolicies/data/status$`);
    sim.faults.add({ method: 'PATCH', path: statusPath, hangAfterServing: true });
    const before = await snapshotPvcs(harness);

    const run = await runJson(harness, ARGS);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({ 'p-0': 'expand:threshold-reached' });
    const hung = hungWrite(sim, 'PATCH', statusPath);
    expect([hung.status, hung.unanswered]).toEqual([200, true]);
    expect(statusOf(sim, 'PVCPolicy', 'db', 'data')).toMatchObject({ matchedPVCs: 1 });
    expect(unansweredLogs(run)).toMatchObject([
      { operation: 'patch pvcpolicies db/data/status', reread: 'applied' },
    ]);
    expect(
      run.result.logs.filter((l) => /^status (write failed|not written)$/.test(String(l['msg']))),
    ).toEqual([]);
    expectBounded(sim, run, hung);
    await assertInvariants(harness, before, [run]);
  });
});
