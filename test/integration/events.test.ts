/**
 * Events across runs (issue 11, part 2): a Warning that repeats is one Event whose series counts
 * the repetitions; each expansion is an Event of its own, as client-go's recorders record them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seed, startHarness, type Claim, type Harness } from './harness.js';
import { assertInvariants, outcomes, runJson, snapshotPvcs, type RunRecord } from './invariants.js';

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

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function eventsOf(h: Harness, name: string): EventObject[] {
  return (h.sim.listObjects('Event', 'db') as EventObject[]).filter(
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
    harness = await startHarness(seed([stuck, { name: 'calm' }]));
    const h = harness;
    const before = snapshotPvcs(h.sim);
    const runs: RunRecord[] = [];

    for (let i = 0; i < 3; i++) runs.push(await runJson(h, []));

    for (const run of runs) expect(outcomes(run.rows)['stuck']).toBe('skip:max-size-reached');
    const events = eventsOf(h, 'stuck');
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
    const eventWrites = h.sim.requests
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
    expect(eventsOf(h, 'calm')).toEqual([]);
    assertInvariants(h.sim, before, runs);
  });

  it('a reason that changes gets its own Event; the first one keeps its count', async () => {
    harness = await startHarness(
      seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
    );
    const h = harness;

    const first = await runJson(h, []);
    const res = await fetch(`${h.sim.url}/api/v1/namespaces/db/persistentvolumeclaims/p`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { 'pvc-chonker.io/threshold': 'eighty' } } }),
    });
    expect(res.status).toBe(200);
    const second = await runJson(h, []);

    expect(outcomes(second.rows)).toEqual({ p: 'error:invalid-annotation' });
    const events = eventsOf(h, 'p').map((e) => `${e.reason}:${String(e.count)}`);
    expect(events.sort()).toEqual(['invalid-annotation:1', 'max-size-reached:1']);
    // No assertInvariants: the test's own annotation PATCH is in the request log.
    expect(outcomes(first.rows)).toEqual({ p: 'skip:max-size-reached' });
  });

  it('two runs at once over a stuck PVC: the loser of the race re-reads and counts, one Event of 2', async () => {
    harness = await startHarness(
      seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
    );
    const h = harness;
    // Both runs read "no Event" before either create lands; one create then gets 409.
    h.sim.faults.add({ method: 'POST', path: '/events$', delayMs: 800 });
    const before = snapshotPvcs(h.sim);

    const runs = await Promise.all([runJson(h, []), runJson(h, [])]);

    expect(runs.map((r) => r.result.code)).toEqual([0, 0]);
    const events = eventsOf(h, 'p');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ count: 2, series: { count: 2 } });
    expect(
      h.sim.requests
        .filter((r) => r.method === 'POST' && r.path.endsWith('/events'))
        .map((r) => r.status)
        .sort(),
    ).toEqual([201, 409]);
    for (const run of runs)
      expect(run.result.logs.filter((l) => l['msg'] === 'recording event failed')).toEqual([]);
    assertInvariants(h.sim, before, runs);
  });
});

describe('a ClusterRole that only allows creating events', () => {
  it('still records the Warning, as a new Event, and says the ClusterRole needs get/patch', async () => {
    harness = await startHarness(
      seed([{ name: 'p', usedPercent: 95, annotations: { 'pvc-chonker.io/max-size': '10Gi' } }]),
    );
    const h = harness;
    h.sim.faults.add({ method: 'GET', path: '/namespaces/db/events/', status: 403 });
    const before = snapshotPvcs(h.sim);

    const run = await runJson(h, []);

    expect(run.result.code).toBe(0);
    expect(eventsOf(h, 'p').map((e) => `${e.type}:${e.reason}`)).toEqual([
      'Warning:max-size-reached',
    ]);
    expect(
      run.result.logs.find((l) => String(l['msg']).startsWith('no get/patch on events')),
    ).toMatchObject({ name: 'p' });
    assertInvariants(h.sim, before, [run]);
  });
});

describe('expansions are Events of their own', () => {
  it('three expansions over three runs leave three Normal Events, each with its own sizes', async () => {
    const growing: Claim = {
      name: 'growing',
      usedPercent: 99,
      annotations: { 'pvc-chonker.io/cooldown': '1s', 'pvc-chonker.io/increase': '1Gi' },
    };
    harness = await startHarness(seed([growing]));
    const h = harness;
    const before = snapshotPvcs(h.sim);
    const runs: RunRecord[] = [];

    for (let i = 0; i < 3; i++) {
      runs.push(await runJson(h, []));
      await h.sim.settle();
      await sleep(1_100);
    }

    for (const run of runs)
      expect(outcomes(run.rows)).toEqual({ growing: 'expand:threshold-reached' });
    const normal = eventsOf(h, 'growing').filter((e) => e.type === 'Normal');
    expect(normal).toHaveLength(3);
    expect(new Set(normal.map((e) => e.metadata.name)).size).toBe(3);
    expect(normal.map((e) => e.series)).toEqual([undefined, undefined, undefined]);
    expect(normal.map((e) => /(\d+Gi -> \d+Gi)/.exec(e.message)?.[1]).sort()).toEqual([
      '10Gi -> 11Gi',
      '11Gi -> 12Gi',
      '12Gi -> 13Gi',
    ]);
    assertInvariants(h.sim, before, runs);
  });
});
