/**
 * The fault matrix of issue 5 that cli.test.ts does not already cover: hung calls, a response
 * lost after the write landed, a PVC deleted mid-pass, two runs at once, SIGTERM mid-pass, and a
 * cloud API that keeps failing. Each test asserts the exact outcome, then every invariant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimCluster, SimSeed } from '../../sim/index.js';
import { startEc2Fake, type Ec2Fake } from '../../sim/clouds/ec2.js';
import { startSimOnly, startTestCluster, writes, type TestCluster } from './test-cluster.js';
import { seed, type Claim } from './harness.js';
import {
  acceptedPatches,
  assertInvariants,
  DELETED_DETAIL,
  outcomes,
  runJson,
  snapshotPvcs,
} from './invariants.js';
import { describeOnSim } from './sim-only.js';

interface PvcObject {
  metadata: { annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
}

interface EventObject {
  type: string;
  reason: string;
  involvedObject: { name: string };
}

let cluster: TestCluster | undefined;
let ec2: Ec2Fake | undefined;
afterEach(async () => {
  await cluster?.close();
  await ec2?.close();
  cluster = undefined;
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

async function pvc(c: TestCluster, name: string): Promise<PvcObject> {
  return (await c.get('PersistentVolumeClaim', 'db', name)) as PvcObject;
}

async function requestOf(c: TestCluster, name: string): Promise<string> {
  return (await pvc(c, name)).spec.resources.requests.storage;
}

async function patchesOf(c: TestCluster, name: string): Promise<number[]> {
  return (await c.requests())
    .filter((r) => r.method === 'PATCH' && r.path.endsWith(`/persistentvolumeclaims/${name}`))
    .map((r) => r.status);
}

describeOnSim('held-request')('a call that hangs: every call has a timeout', () => {
  it('a hung PVC list fails the pass once its call budget is spent, with exit 1 and no write', async () => {
    const h = (cluster = await startSimOnly(seed([FULL('full')])));
    h.sim.faults.add({ method: 'GET', path: '^/api/v1/persistentvolumeclaims$', hang: true });
    const before = await snapshotPvcs(h);

    const run = await runJson(h, ['--api-timeout', '1s']);

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
    const lists = (await h.requests()).filter((r) => r.path === '/api/v1/persistentvolumeclaims');
    expect(lists).toHaveLength(1);
    expect(run.result.durationMs).toBeLessThan(6_000);
    const failure = run.result.logs.find((l) => l['msg'] === 'the pass could not complete');
    expect(String(failure?.['err'])).toContain('list persistentvolumeclaims');
    expect(await writes(h)).toEqual([]);
    await assertInvariants(h, before, [run]);
  });

  it('a hung PATCH costs only its own PVC: api-error, a Warning event, the others expand', async () => {
    const h = (cluster = await startSimOnly(seed([FULL('a'), FULL('stuck'), FULL('c')])));
    h.sim.faults.add({ method: 'PATCH', path: '/persistentvolumeclaims/stuck$', hang: true });
    const before = await snapshotPvcs(h);

    const run = await runJson(h, ['--api-timeout', '1s']);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      a: 'expand:threshold-reached',
      stuck: 'error:api-error',
      c: 'expand:threshold-reached',
    });
    const stuck = run.rows.find((r) => r['name'] === 'stuck');
    expect(String(stuck?.['detail'])).toMatch(/^PATCH unanswered: timed out after 1000 ms/);
    // Not sent again: a GET re-read it instead.
    expect(await patchesOf(h, 'stuck')).toEqual([0]);
    expect(await requestOf(h, 'stuck')).toBe('10Gi');
    expect((await pvc(h, 'stuck')).metadata.annotations?.['pvc-chonker.io/last-expansion']).toBe(
      undefined,
    );
    expect([await requestOf(h, 'a'), await requestOf(h, 'c')]).toEqual(['11Gi', '11Gi']);
    expect(run.result.durationMs).toBeLessThan(10_000);
    await assertInvariants(h, before, [run]);
  });

  it('a PATCH that lands after its timeout is sent once: the re-read came first, the late PATCH applies alone', async () => {
    const h = (cluster = await startSimOnly(seed([FULL('full')])));
    // The first PATCH is served 2.5 s late, after the client gave up at 1 s and read the PVC.
    h.sim.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/full$',
      times: 1,
      delayMs: 2_500,
    });
    const before = await snapshotPvcs(h);

    const run = await runJson(h, ['--api-timeout', '1s']);
    await whenRequest(h.sim, (r) => r.method === 'PATCH' && r.status === 200);

    // What the re-read saw is what the run reports; the next run sees the late expansion.
    expect(outcomes(run.rows)).toEqual({ full: 'error:api-error' });
    expect(String(run.rows[0]?.['detail'])).toMatch(/a re-read shows it not applied/);
    expect(await patchesOf(h, 'full')).toEqual([200]);
    expect(await requestOf(h, 'full')).toBe('11Gi');
    await assertInvariants(h, before, [run]);
  });
});

describeOnSim('vanishing-object')('a PVC deleted between list and patch', () => {
  it('is reported as api-error naming the deletion; nothing is recreated, the others expand', async () => {
    const h = (cluster = await startSimOnly(seed([FULL('a'), FULL('gone'), FULL('c')])));
    h.sim.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/gone$',
      times: 1,
      delayMs: 300,
    });
    const before = await snapshotPvcs(h);
    const sim = h.sim;
    // The PATCH is logged on arrival and held 300 ms: the PVC is deleted in that window.
    const deleted = whenRequest(sim, (r) => r.method === 'PATCH' && r.path.endsWith('/gone')).then(
      () => {
        sim.deleteObject('PersistentVolumeClaim', 'db', 'gone');
      },
    );

    const [run] = await Promise.all([runJson(h, []), deleted]);

    expect(run.result.code).toBe(0);
    expect(outcomes(run.rows)).toEqual({
      a: 'expand:threshold-reached',
      gone: 'skip:api-error',
      c: 'expand:threshold-reached',
    });
    expect(run.rows.find((r) => r['name'] === 'gone')?.['detail']).toBe(DELETED_DETAIL);
    expect(await patchesOf(h, 'gone')).toEqual([404]);
    expect(await h.get('PersistentVolumeClaim', 'db', 'gone')).toBe(undefined);
    const events = (await h.list('Event')) as EventObject[];
    expect(events.filter((e) => e.involvedObject.name === 'gone')).toEqual([]);
    await assertInvariants(h, before, [run]);
  });
});

describeOnSim('held-request')('two runs at once on the same fleet', () => {
  it('expand each PVC exactly once; the other run loses on resourceVersion and sees the resize in flight', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const h = (cluster = await startSimOnly(
      seed([...names.map((n) => FULL(n)), { name: 'calm' }]),
      {
        resizeDelayMs: 60_000,
      },
    ));
    // PATCHes are held 1.5 s, so both runs list the fleet before either write lands.
    h.sim.faults.add({ method: 'PATCH', delayMs: 1_500 });
    const before = await snapshotPvcs(h);
    const args = ['--write-concurrency', '8'];

    const runs = await Promise.all([runJson(h, args), runJson(h, args)]);

    expect(runs.map((r) => r.result.code)).toEqual([0, 0]);
    for (const name of names) {
      const seen = runs.map((r) => outcomes(r.rows)[name]).sort();
      expect(seen, name).toEqual(['expand:threshold-reached', 'skip:resize-in-progress']);
      // Both sent a PATCH with the same resourceVersion; exactly one was accepted.
      expect((await patchesOf(h, name)).sort(), name).toEqual([200, 409]);
      expect(await requestOf(h, name)).toBe('11Gi');
    }
    expect((await acceptedPatches(h)).sort()).toEqual(names);
    const normal = ((await h.list('Event')) as EventObject[]).filter((e) => e.type === 'Normal');
    expect(normal.map((e) => e.involvedObject.name).sort()).toEqual(names);
    await assertInvariants(h, before, runs, { resizeDelayMs: 60_000 });
  });
});

describeOnSim('held-request')('SIGTERM in the middle of a pass', () => {
  it('finishes the PATCHes in flight, starts nothing new, reports the rest interrupted, exits 4', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];
    const h = (cluster = await startSimOnly(seed(names.map((n) => FULL(n)))));
    h.sim.faults.add({ method: 'PATCH', delayMs: 400 });
    const before = await snapshotPvcs(h);
    const sim = h.sim;
    let pid = 0;
    const stopped = whenRequest(sim, (r) => r.method === 'PATCH').then(() => {
      process.kill(pid, 'SIGTERM');
    });

    const [run] = await Promise.all([
      runJson(h, ['--write-concurrency', '2'], {}, (p) => (pid = p)),
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
    expect(await acceptedPatches(h)).toEqual(expanded);
    expect((await h.requests()).filter((r) => r.method === 'PATCH')).toHaveLength(expanded.length);
    for (const name of names) {
      const { annotations = {} } = (await pvc(h, name)).metadata;
      if (expanded.includes(name)) {
        expect(await requestOf(h, name)).toBe('11Gi');
        expect(annotations['pvc-chonker.io/last-expansion']).toMatch(/Z$/);
        expect(JSON.parse(annotations['pvc-chonker.io/expansion-history'] ?? '[]')).toMatchObject([
          { from: '10Gi', to: '11Gi' },
        ]);
      } else {
        expect(await requestOf(h, name)).toBe('10Gi');
        expect(annotations['pvc-chonker.io/last-expansion']).toBe(undefined);
      }
    }
    expect(run.result.logs.some((l) => l['msg'] === 'stopping: no new work is started')).toBe(true);
    expect(run.result.logs.find((l) => l['msg'] === 'run finished')).toMatchObject({
      status: 'interrupted',
    });
    await assertInvariants(h, before, [run]);
  });

  it('abandons a PATCH still hanging after the 5 s grace: api-error, the rest interrupted, exit 4', async () => {
    const h = (cluster = await startSimOnly(seed([FULL('a-stuck'), FULL('b'), FULL('c')])));
    h.sim.faults.add({ method: 'PATCH', path: '/a-stuck$', hang: true });
    const before = await snapshotPvcs(h);
    const sim = h.sim;
    let pid = 0;
    let signalledAt = 0;
    const stopped = whenRequest(sim, (r) => r.method === 'PATCH').then(() => {
      signalledAt = Date.now();
      process.kill(pid, 'SIGTERM');
    });

    const [run] = await Promise.all([
      runJson(h, ['--write-concurrency', '1', '--api-timeout', '60s'], {}, (p) => (pid = p)),
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
    expect(await patchesOf(h, 'a-stuck')).toEqual([0]);
    const stopAt = run.result.logs.findIndex(
      (l) => l['msg'] === 'stopping: no new work is started',
    );
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(
      run.result.logs.slice(stopAt).filter((l) => l['msg'] === 'retrying kubernetes api call'),
    ).toEqual([]);
    expect((await writes(h)).filter((w) => w.startsWith('PATCH '))).toHaveLength(1);
    await assertInvariants(h, before, [run]);
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

// The EC2 API is a fake of its own beside the cluster: this runs on both clusters.
describe('a cloud API that keeps failing', () => {
  it('costs its own PVCs (provider-error, then circuit open); generic PVCs still expand', async () => {
    ec2 = await startEc2Fake();
    ec2.failNext('*', { code: 'Unavailable', message: 'try again', status: 503 }, Infinity);
    const aws = (name: string, n: number): Claim =>
      FULL(name, { csi: { driver: 'ebs.csi.aws.com', volumeHandle: `vol-0${n}` } });
    const h = (cluster = await startTestCluster(
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
    ));
    const before = await snapshotPvcs(h);
    const env = {
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-key',
      AWS_REGION: 'us-east-1',
    };

    const run = await runJson(
      h,
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
    expect((await acceptedPatches(h)).sort()).toEqual(['plain-1', 'plain-2']);
    for (const name of ['aws-1', 'aws-2', 'aws-3', 'aws-4'])
      expect(await requestOf(h, name)).toBe('10Gi');
    await assertInvariants(h, before, [run]);
  });
});
