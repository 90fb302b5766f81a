/**
 * The fault matrix of issue 5 that cli.test.ts does not already cover: hung calls, a response
 * lost after the write landed, a PVC deleted mid-pass, two runs at once, SIGTERM mid-pass, and a
 * cloud API that keeps failing. Each test asserts the exact outcome, then every invariant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster, SimSeed } from '../../sim/index.js';
import { startEc2Fake, type Ec2Fake } from '../../sim/clouds/ec2.js';
import { seed, startHarness, writes, type Claim, type Harness } from './harness.js';
import {
  acceptedPatches,
  assertInvariants,
  DELETED_DETAIL,
  outcomes,
  runJson,
  snapshotPvcs,
} from './invariants.js';

interface PvcObject {
  metadata: { annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
}

interface EventObject {
  type: string;
  reason: string;
  involvedObject: { name: string };
}

let harness: Harness | undefined;
let ec2: Ec2Fake | undefined;
afterEach(async () => {
  await harness?.close();
  await ec2?.close();
  harness = undefined;
  ec2 = undefined;
});

const FULL = (name: string, extra: Partial<Claim> = {}): Claim => ({
  name,
  usedPercent: 95,
  ...extra,
});

/** Resolves once a request matching `test` reaches the sim (the sim logs it before serving it). */
function whenRequest(
  sim: SimCluster,
  test: (r: SimCluster['requests'][number]) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (sim.requests.some(test)) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error('the awaited request never came'));
      }
    }, 5);
  });
}

function pvc(sim: SimCluster, name: string): PvcObject {
  return sim.getObject('PersistentVolumeClaim', 'db', name) as PvcObject;
}

function requestOf(sim: SimCluster, name: string): string {
  return pvc(sim, name).spec.resources.requests.storage;
}

function patchesOf(sim: SimCluster, name: string): number[] {
  return sim.requests
    .filter((r) => r.method === 'PATCH' && r.path.endsWith(`/persistentvolumeclaims/${name}`))
    .map((r) => r.status);
}

describe('a call that hangs: every call has a timeout', () => {
  it('a hung PVC list fails the pass once its call budget is spent, with exit 1 and no write', async () => {
    harness = await startHarness(seed([FULL('full')]));
    harness.sim.faults.add({ method: 'GET', path: '^/api/v1/persistentvolumeclaims$', hang: true });
    const before = snapshotPvcs(harness.sim);

    const run = await runJson(harness, ['--api-timeout', '1s']);

    expect(run.result.code).toBe(1);
    expect(run.rows).toMatchObject([
      {
        name: null,
        action: 'error',
        reason: 'api-error',
        detail: 'the pass could not complete: list persistentvolumeclaims: timed out after 1000 ms',
      },
    ]);
    // One budget of 1 s covers the call and its retries: the hang spends it, no second attempt.
    const lists = harness.sim.requests.filter((r) => r.path === '/api/v1/persistentvolumeclaims');
    expect(lists).toHaveLength(1);
    expect(run.result.durationMs).toBeLessThan(6_000);
    const failure = run.result.logs.find((l) => l['msg'] === 'the pass could not complete');
    expect(String(failure?.['err'])).toContain('list persistentvolumeclaims');
    expect(writes(harness.sim)).toEqual([]);
    assertInvariants(harness.sim, before, [run]);
  });

  it('a hung PATCH costs only its own PVC: api-error, a Warning event, the others expand', async () => {
    harness = await startHarness(seed([FULL('a'), FULL('stuck'), FULL('c')]));
    harness.sim.faults.add({ method: 'PATCH', path: '/persistentvolumeclaims/stuck$', hang: true });
    const before = snapshotPvcs(harness.sim);

    const run = await runJson(harness, ['--api-timeout', '1s']);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      a: 'expand:threshold-reached',
      stuck: 'error:api-error',
      c: 'expand:threshold-reached',
    });
    const stuck = run.rows.find((r) => r['name'] === 'stuck');
    expect(String(stuck?.['detail'])).toMatch(/^PATCH unanswered: timed out after 1000 ms/);
    // Not sent again: a GET re-read it instead.
    expect(patchesOf(harness.sim, 'stuck')).toEqual([0]);
    expect(requestOf(harness.sim, 'stuck')).toBe('10Gi');
    expect(pvc(harness.sim, 'stuck').metadata.annotations?.['pvc-chonker.io/last-expansion']).toBe(
      undefined,
    );
    expect([requestOf(harness.sim, 'a'), requestOf(harness.sim, 'c')]).toEqual(['11Gi', '11Gi']);
    expect(run.result.durationMs).toBeLessThan(10_000);
    assertInvariants(harness.sim, before, [run]);
  });

  it('a PATCH that lands after its timeout is sent once: the re-read came first, the late PATCH applies alone', async () => {
    harness = await startHarness(seed([FULL('full')]));
    // The first PATCH is served 2.5 s late, after the client gave up at 1 s and read the PVC.
    harness.sim.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/full$',
      times: 1,
      delayMs: 2_500,
    });
    const before = snapshotPvcs(harness.sim);

    const run = await runJson(harness, ['--api-timeout', '1s']);
    await whenRequest(harness.sim, (r) => r.method === 'PATCH' && r.status === 200);

    // What the re-read saw is what the run reports; the next run sees the late expansion.
    expect(outcomes(run.rows)).toEqual({ full: 'error:api-error' });
    expect(String(run.rows[0]?.['detail'])).toMatch(/a re-read shows it not applied/);
    expect(patchesOf(harness.sim, 'full')).toEqual([200]);
    expect(requestOf(harness.sim, 'full')).toBe('11Gi');
    assertInvariants(harness.sim, before, [run]);
  });
});

describe('a PVC deleted between list and patch', () => {
  it('is reported as api-error naming the deletion; nothing is recreated, the others expand', async () => {
    harness = await startHarness(seed([FULL('a'), FULL('gone'), FULL('c')]));
    harness.sim.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/gone$',
      times: 1,
      delayMs: 300,
    });
    const before = snapshotPvcs(harness.sim);
    const sim = harness.sim;
    // The PATCH is logged on arrival and held 300 ms: the PVC is deleted in that window.
    const deleted = whenRequest(sim, (r) => r.method === 'PATCH' && r.path.endsWith('/gone')).then(
      () => {
        sim.deleteObject('PersistentVolumeClaim', 'db', 'gone');
      },
    );

    const [run] = await Promise.all([runJson(harness, []), deleted]);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      a: 'expand:threshold-reached',
      gone: 'skip:api-error',
      c: 'expand:threshold-reached',
    });
    expect(run.rows.find((r) => r['name'] === 'gone')?.['detail']).toBe(DELETED_DETAIL);
    expect(patchesOf(sim, 'gone')).toEqual([404]);
    expect(sim.getObject('PersistentVolumeClaim', 'db', 'gone')).toBe(undefined);
    const events = sim.listObjects('Event') as EventObject[];
    expect(events.filter((e) => e.involvedObject.name === 'gone')).toEqual([]);
    assertInvariants(sim, before, [run]);
  });
});

describe('two runs at once on the same fleet', () => {
  it('expand each PVC exactly once; the other run loses on resourceVersion and sees the resize in flight', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    harness = await startHarness(seed([...names.map((n) => FULL(n)), { name: 'calm' }]), {
      resizeDelayMs: 60_000,
    });
    // PATCHes are held 1.5 s, so both runs list the fleet before either write lands.
    harness.sim.faults.add({ method: 'PATCH', delayMs: 1_500 });
    const before = snapshotPvcs(harness.sim);
    const args = ['--write-concurrency', '8'];

    const runs = await Promise.all([runJson(harness, args), runJson(harness, args)]);

    expect(runs.map((r) => r.result.code)).toEqual([0, 0]);
    for (const name of names) {
      const seen = runs.map((r) => outcomes(r.rows)[name]).sort();
      expect(seen, name).toEqual(['expand:threshold-reached', 'skip:resize-in-progress']);
      // Both sent a PATCH with the same resourceVersion; exactly one was accepted.
      expect(patchesOf(harness.sim, name).sort(), name).toEqual([200, 409]);
      expect(requestOf(harness.sim, name)).toBe('11Gi');
    }
    expect(acceptedPatches(harness.sim).sort()).toEqual(names);
    const normal = (harness.sim.listObjects('Event') as EventObject[]).filter(
      (e) => e.type === 'Normal',
    );
    expect(normal.map((e) => e.involvedObject.name).sort()).toEqual(names);
    assertInvariants(harness.sim, before, runs, { resizeDelayMs: 60_000 });
  });
});

describe('SIGTERM in the middle of a pass', () => {
  it('finishes the PATCHes in flight, starts nothing new, reports the rest interrupted, exits 4', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];
    harness = await startHarness(seed(names.map((n) => FULL(n))));
    harness.sim.faults.add({ method: 'PATCH', delayMs: 400 });
    const before = snapshotPvcs(harness.sim);
    const sim = harness.sim;
    let pid = 0;
    const stopped = whenRequest(sim, (r) => r.method === 'PATCH').then(() => {
      process.kill(pid, 'SIGTERM');
    });

    const [run] = await Promise.all([
      runJson(harness, ['--write-concurrency', '2'], {}, (p) => (pid = p)),
      stopped,
    ]);

    expect(run.result.code).toBe(4);
    expect(run.rows.map((r) => r['name'])).toEqual(names);
    const expanded = run.rows.filter((r) => r['action'] === 'expand').map((r) => r['name']);
    const interrupted = run.rows.filter((r) => r['reason'] === 'interrupted');
    expect(expanded.length).toBeGreaterThanOrEqual(1);
    expect(expanded.length).toBeLessThanOrEqual(2);
    expect(expanded.length + interrupted.length).toBe(names.length);
    expect(interrupted.every((r) => r['action'] === 'skip')).toBe(true);
    // Exactly the PATCHes in flight at SIGTERM were sent, and each one completed.
    expect(acceptedPatches(sim)).toEqual(expanded);
    expect(sim.requests.filter((r) => r.method === 'PATCH')).toHaveLength(expanded.length);
    for (const name of names) {
      const { annotations = {} } = pvc(sim, name).metadata;
      if (expanded.includes(name)) {
        expect(requestOf(sim, name)).toBe('11Gi');
        expect(annotations['pvc-chonker.io/last-expansion']).toMatch(/Z$/);
        expect(JSON.parse(annotations['pvc-chonker.io/expansion-history'] ?? '[]')).toMatchObject([
          { from: '10Gi', to: '11Gi' },
        ]);
      } else {
        expect(requestOf(sim, name)).toBe('10Gi');
        expect(annotations['pvc-chonker.io/last-expansion']).toBe(undefined);
      }
    }
    expect(run.result.logs.some((l) => l['msg'] === 'stopping: no new work is started')).toBe(true);
    expect(run.result.logs.find((l) => l['msg'] === 'run finished')).toMatchObject({
      status: 'interrupted',
    });
    assertInvariants(sim, before, [run]);
  });

  it('abandons a PATCH still hanging after the 5 s grace: api-error, the rest interrupted, exit 4', async () => {
    harness = await startHarness(seed([FULL('a-stuck'), FULL('b'), FULL('c')]));
    harness.sim.faults.add({ method: 'PATCH', path: '/a-stuck$', hang: true });
    const before = snapshotPvcs(harness.sim);
    const sim = harness.sim;
    let pid = 0;
    let signalledAt = 0;
    const stopped = whenRequest(sim, (r) => r.method === 'PATCH').then(() => {
      signalledAt = Date.now();
      process.kill(pid, 'SIGTERM');
    });

    const [run] = await Promise.all([
      runJson(harness, ['--write-concurrency', '1', '--api-timeout', '60s'], {}, (p) => (pid = p)),
      stopped,
    ]);

    expect(run.result.code).toBe(4);
    expect(outcomes(run.rows)).toEqual({
      'a-stuck': 'error:api-error',
      b: 'skip:interrupted',
      c: 'skip:interrupted',
    });
    expect(String(run.rows.find((r) => r['name'] === 'a-stuck')?.['detail'])).toContain(
      'abandoned: the run was stopped',
    );
    const stoppedAfter = run.finishedAt - signalledAt;
    expect(stoppedAfter).toBeGreaterThanOrEqual(5_000);
    expect(stoppedAfter).toBeLessThan(6_500);
    // An abandoned call is final: neither sent again nor retried after the grace.
    expect(patchesOf(sim, 'a-stuck')).toEqual([0]);
    const stopAt = run.result.logs.findIndex(
      (l) => l['msg'] === 'stopping: no new work is started',
    );
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(
      run.result.logs.slice(stopAt).filter((l) => l['msg'] === 'retrying kubernetes api call'),
    ).toEqual([]);
    expect(writes(sim).filter((w) => w.method === 'PATCH')).toHaveLength(1);
    assertInvariants(sim, before, [run]);
  });
});

/** Puts each named claim's PV in an AWS zone (the region comes from the zone label). */
function inZones(simSeed: SimSeed, zones: Record<string, string>): SimSeed {
  for (const object of simSeed.objects as {
    kind: string;
    metadata: { labels?: Record<string, string> };
    spec?: { claimRef?: { name: string } };
  }[]) {
    const zone = zones[object.spec?.claimRef?.name ?? ''];
    if (object.kind === 'PersistentVolume' && zone !== undefined)
      object.metadata.labels = { 'topology.kubernetes.io/zone': zone };
  }
  return simSeed;
}

describe('a cloud API that keeps failing', () => {
  it('costs its own PVCs (provider-error, then circuit open); generic PVCs still expand', async () => {
    ec2 = await startEc2Fake();
    ec2.failNext('*', { code: 'Unavailable', message: 'try again', status: 503 }, Infinity);
    const aws = (name: string, n: number): Claim =>
      FULL(name, { csi: { driver: 'ebs.csi.aws.com', volumeHandle: `vol-0${n}` } });
    harness = await startHarness(
      inZones(
        seed([
          aws('aws-1', 1),
          aws('aws-2', 2),
          aws('aws-3', 3),
          aws('aws-4', 4),
          FULL('plain-1'),
          FULL('plain-2'),
        ]),
        {
          'aws-1': 'us-east-1a',
          'aws-2': 'us-west-2a',
          'aws-3': 'eu-west-1a',
          'aws-4': 'ap-south-1a',
        },
      ),
    );
    const before = snapshotPvcs(harness.sim);
    const env = {
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-key',
      AWS_REGION: 'us-east-1',
    };

    const run = await runJson(
      harness,
      ['--provider-max-retries', '2', '--provider-retry-base-delay-ms', '10'],
      env,
    );

    expect(run.result.code).toBe(0);
    // One region at a time; each exhausted call counts; the third opens the breaker.
    expect(outcomes(run.rows)).toEqual({
      'aws-1': 'error:provider-error',
      'aws-2': 'error:provider-error',
      'aws-3': 'error:provider-error',
      'aws-4': 'skip:provider-circuit-open',
      'plain-1': 'expand:threshold-reached',
      'plain-2': 'expand:threshold-reached',
    });
    expect(run.rows.filter((r) => r['provider'] === 'aws')).toHaveLength(4);
    // 3 regions x (1 call + 2 retries), nothing for the 4th region once the breaker is open.
    expect(ec2.count('DescribeVolumes')).toBe(9);
    expect(ec2.count('DescribeVolumesModifications')).toBe(0);
    expect(acceptedPatches(harness.sim).sort()).toEqual(['plain-1', 'plain-2']);
    for (const name of ['aws-1', 'aws-2', 'aws-3', 'aws-4'])
      expect(requestOf(harness.sim, name)).toBe('10Gi');
    assertInvariants(harness.sim, before, [run]);
  });
});
