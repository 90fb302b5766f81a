/**
 * Events across runs (issue 11, part 2): a Warning that repeats is one Event whose series counts
 * the repetitions; each expansion is an Event of its own, as client-go's recorders record them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimOnly, startTestCluster, type TestCluster } from './test-cluster.js';
import { seed, type Claim } from './harness.js';
import { assertInvariants, outcomes, runJson, snapshotPvcs, type RunRecord } from './invariants.js';
import { describeOnSim, itOnSim } from './sim-only.js';

interface EventObject {
  metadata: { name: string };
  type: string;
  reason: string;
  action: string;
  message: string;
  count?: number;
  eventTime: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  series?: { count: number; lastObservedTime: string };
  involvedObject: { name: string; uid: string };
}

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

async function eventsOf(c: TestCluster, name: string): Promise<EventObject[]> {
  return ((await c.list('Event', 'db')) as EventObject[]).filter(
    (e) => e.involvedObject.name === name,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Warning Events aggregate across runs', () => {
  it('three runs over a PVC stuck at max-size leave one Warning Event whose series counts 3', async () => {
    const stuck: Claim = {
      name: 'stuck',
      usedPercent: 95,
      annotations: { 'pvc-chonker.io/max-size': '10Gi' },
    };
    const h = (cluster = await startTestCluster(seed([stuck, { name: 'calm' }])));
    const before = await snapshotPvcs(h);
    const runs: RunRecord[] = [];

    for (let i = 0; i < 3; i++) runs.push(await runJson(h, []));

    for (const run of runs) expect(outcomes(run.rows)['stuck']).toBe('skip:max-size-reached');
    const events = await eventsOf(h, 'stuck');
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'max-size-reached',
      action: 'skip',
      count: 3,
      series: { count: 3 },
    });
    expect(event?.eventTime).toMatch(MICRO);
    expect(event?.series?.lastObservedTime).toMatch(MICRO);
    expect(Date.parse(event?.series?.lastObservedTime ?? '')).toBeGreaterThan(
      Date.parse(event?.eventTime ?? ''),
    );
    // Run 1 finds nothing and creates; runs 2 and 3 read the Event and patch it.
    const eventWrites = (await h.requests())
      .filter((r) => r.path.startsWith('/api/v1/namespaces/db/events'))
      .map((r) => `${r.method} ${r.status}`);
    expect(eventWrites).toEqual([
      'GET 404',
      'POST 201',
      'GET 200',
      'PATCH 200',
      'GET 200',
      'PATCH 200',
    ]);
    expect(await eventsOf(h, 'calm')).toEqual([]);
    await assertInvariants(h, before, runs);
  });

  it('a reason that changes gets its own Event; the first one keeps its count', async () => {
    const h = (cluster = await startTestCluster(
      seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
    ));
    const before = await snapshotPvcs(h);

    const first = await runJson(h, []);
    await h.patch('PersistentVolumeClaim', 'db', 'p', {
      metadata: { annotations: { 'pvc-chonker.io/threshold': 'eighty' } },
    });
    const second = await runJson(h, []);

    expect(outcomes(second.rows)).toEqual({ p: 'error:invalid-annotation' });
    const events = (await eventsOf(h, 'p')).map((e) => `${e.reason}:${String(e.count)}`);
    expect(events.sort()).toEqual(['invalid-annotation:1', 'max-size-reached:1']);
    expect(outcomes(first.rows)).toEqual({ p: 'skip:max-size-reached' });
    await assertInvariants(h, before, [first, second]);
  });

  itOnSim('held-request')(
    'two runs at once over a stuck PVC: the loser of the race re-reads and counts, one Event of 2',
    async () => {
      const h = (cluster = await startSimOnly(
        seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
      ));
      // Both runs read "no Event" before either create lands; one create then gets 409.
      h.sim.faults.add({ method: 'POST', path: '/events$', delayMs: 800 });
      const before = await snapshotPvcs(h);

      const runs = await Promise.all([runJson(h, []), runJson(h, [])]);

      expect(runs.map((r) => r.result.code)).toEqual([0, 0]);
      const events = await eventsOf(h, 'p');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ count: 2, series: { count: 2 } });
      expect(
        (await h.requests())
          .filter((r) => r.method === 'POST' && r.path.endsWith('/events'))
          .map((r) => r.status)
          .sort(),
      ).toEqual([201, 409]);
      for (const run of runs)
        expect(run.result.logs.filter((l) => l['msg'] === 'recording event failed')).toEqual([]);
      await assertInvariants(h, before, runs);
    },
  );
});

describeOnSim('injected-status')('a ClusterRole that only allows creating events', () => {
  it('still records the Warning, as a new Event, and says the ClusterRole needs get/patch', async () => {
    const h = (cluster = await startSimOnly(
      seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
    ));
    h.sim.faults.add({ method: 'GET', path: '/namespaces/db/events/', status: 403 });
    const before = await snapshotPvcs(h);

    const run = await runJson(h, []);

    expect(run.result.code).toBe(0);
    expect((await eventsOf(h, 'p')).map((e) => `${e.type}:${e.reason}`)).toEqual([
      'Warning:max-size-reached',
    ]);
    expect(
      run.result.logs.find((l) => String(l['msg']).startsWith('no get/patch on events')),
    ).toMatchObject({ name: 'p' });
    await assertInvariants(h, before, [run]);
  });
});

describe('expansions are Events of their own', () => {
  it('three expansions over three runs leave three Normal Events, each with its own sizes', async () => {
    const growing: Claim = {
      name: 'growing',
      usedPercent: 99,
      annotations: { 'pvc-chonker.io/cooldown': '1s', 'pvc-chonker.io/increase': '1Gi' },
    };
    const h = (cluster = await startTestCluster(seed([growing])));
    const before = await snapshotPvcs(h);
    const runs: RunRecord[] = [];

    for (let i = 0; i < 3; i++) {
      runs.push(await runJson(h, []));
      await h.settle();
      await sleep(1_100);
    }

    for (const run of runs)
      expect(outcomes(run.rows)).toEqual({ growing: 'expand:threshold-reached' });
    const normal = (await eventsOf(h, 'growing')).filter((e) => e.type === 'Normal');
    expect(normal).toHaveLength(3);
    expect(new Set(normal.map((e) => e.metadata.name)).size).toBe(3);
    expect(normal.map((e) => e.series)).toEqual([undefined, undefined, undefined]);
    expect(normal.map((e) => /(\d+Gi -> \d+Gi)/.exec(e.message)?.[1]).sort()).toEqual([
      '10Gi -> 11Gi',
      '11Gi -> 12Gi',
      '12Gi -> 13Gi',
    ]);
    await assertInvariants(h, before, runs);
  });
});
