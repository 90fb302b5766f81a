/**
 * Deadlines that fire under garbage collection (issue 11, part 1). On Node 20 a timeout inside
 * AbortSignal.any() can be collected before it fires (nodejs/node#57736), so a hung call hung the
 * run. Here the CLI runs with a full GC every 5 ms (--expose-gc and a preloaded interval) while one
 * kind of request hangs; every run must end on its deadline. Runs on whichever Node runs vitest:
 * `make test-node20` and `make test-node24` cover both.
 */
import { afterEach, expect, it } from 'vitest';
import { startSimOnly, type TestCluster } from './test-cluster.js';
import { seed, type Claim } from './harness.js';
import { assertInvariants, outcomes, runJson, snapshotPvcs } from './invariants.js';
import { describeOnSim } from './sim-only.js';

/** Preloaded into the CLI: a full collection every 5 ms, from its first line on. */
const GC_PRESSURE = [
  '--expose-gc',
  '--import',
  `data:text/javascript,${encodeURIComponent('setInterval(() => globalThis.gc(), 5).unref();')}`,
];

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const FULL = (name: string, extra: Partial<Claim> = {}): Claim => ({
  name,
  usedPercent: 95,
  ...extra,
});

async function start(claims: Claim[]): ReturnType<typeof startSimOnly> {
  const c = await startSimOnly(seed(claims), { nodeArgs: GC_PRESSURE });
  cluster = c;
  return c;
}

describeOnSim('held-request')(
  'a hung request ends on its deadline while the CLI collects garbage',
  () => {
    it.each([
      // The direct kubelet (the one transport, aimed at the kubelet), the default source.
      ['kubelet', /^kubelet on node node-hung failed: 127\.0\.0\.1:\d+: timed out$/],
      // The API server's node proxy.
      ['kubelet-proxy', /^kubelet stats from node node-hung failed: timed out$/],
    ])(
      'the %s stats call: its PVCs are metrics-unavailable (timed out), the other node expands',
      async (source, detail) => {
        const h = await start([
          FULL('hung', { node: 'node-hung' }),
          FULL('fine', { node: 'node-b' }),
        ]);
        h.sim.faults.hangNode('node-hung');
        const before = await snapshotPvcs(h);

        const run = await runJson(h, ['--stats-timeout', '1s', '--stats-source', source]);

        expect(run.result.code).toBe(0);
        expect(outcomes(run.rows)).toEqual({
          hung: 'skip:metrics-unavailable',
          fine: 'expand:threshold-reached',
        });
        expect(run.rows.find((r) => r['name'] === 'hung')?.['detail']).toMatch(detail);
        expect(run.result.durationMs).toBeLessThan(8_000);
        await assertInvariants(h, before, [run]);
      },
    );

    it('a list: its one budget runs out, the pass fails with exit 1 naming the deadline', async () => {
      const h = await start([FULL('full')]);
      h.sim.faults.add({ method: 'GET', path: '^/api/v1/persistentvolumeclaims$', hang: true });
      const before = await snapshotPvcs(h);

      const run = await runJson(h, ['--api-timeout', '1s']);

      expect(run.result.code).toBe(1);
      const failure = run.result.logs.find((l) => l['msg'] === 'the pass could not complete');
      expect(String(failure?.['err'])).toBe('list persistentvolumeclaims: timed out after 1000 ms');
      // The call's budget covers its retries: a hang spends it all, so there is one attempt.
      const lists = (await h.requests()).filter((r) => r.path === '/api/v1/persistentvolumeclaims');
      expect(lists).toHaveLength(1);
      expect(run.result.durationMs).toBeLessThan(10_000);
      await assertInvariants(h, before, [run]);
    });

    it('a PATCH: sent once, its PVC is api-error naming the timeout, the others expand', async () => {
      const h = await start([FULL('a'), FULL('stuck')]);
      h.sim.faults.add({ method: 'PATCH', path: '/persistentvolumeclaims/stuck$', hang: true });
      const before = await snapshotPvcs(h);

      const run = await runJson(h, ['--api-timeout', '1s']);

      expect(run.result.code).toBe(0);
      expect(outcomes(run.rows)).toEqual({
        a: 'expand:threshold-reached',
        stuck: 'error:api-error',
      });
      expect(run.rows.find((r) => r['name'] === 'stuck')?.['detail']).toBe(
        'PATCH unanswered: timed out after 1000 ms; a re-read shows it not applied; the next run tries again',
      );
      expect(h.sim.requests.filter((r) => r.method === 'PATCH' && r.status === 0)).toHaveLength(1);
      expect(run.result.durationMs).toBeLessThan(10_000);
      await assertInvariants(h, before, [run]);
    });

    it('an Event: the failure is logged, the expansion stands, exit 0', async () => {
      const h = await start([FULL('a')]);
      h.sim.faults.add({ method: 'POST', path: '/events$', hang: true });
      const before = await snapshotPvcs(h);

      const run = await runJson(h, ['--api-timeout', '1s']);

      expect(run.result.code).toBe(0);
      expect(outcomes(run.rows)).toEqual({ a: 'expand:threshold-reached' });
      const failed = run.result.logs.find((l) => l['msg'] === 'recording event failed');
      expect(String(failed?.['err'])).toContain('timed out after 1000 ms');
      expect(run.result.durationMs).toBeLessThan(10_000);
      await assertInvariants(h, before, [run]);
    });
  },
);

describeOnSim('held-request')('--run-deadline', () => {
  it('stops the pass like SIGTERM: in-flight work gets the grace, the rest is interrupted, exit 4', async () => {
    const h = await start([FULL('a-stuck'), FULL('b'), FULL('c')]);
    h.sim.faults.add({ method: 'PATCH', path: '/a-stuck$', hang: true });
    const before = await snapshotPvcs(h);

    const run = await runJson(h, [
      '--write-concurrency',
      '1',
      '--api-timeout',
      '60s',
      '--run-deadline',
      '2s',
    ]);

    expect(run.result.code).toBe(4);
    expect(outcomes(run.rows)).toEqual({
      'a-stuck': 'error:api-error',
      b: 'skip:interrupted',
      c: 'skip:interrupted',
    });
    expect(
      run.result.logs.find((l) => l['msg'] === 'stopping: no new work is started'),
    ).toMatchObject({ runDeadlineMs: 2_000, graceMs: 5_000 });
    // 2 s deadline + 5 s grace, not the 60 s API timeout.
    expect(run.result.durationMs).toBeGreaterThanOrEqual(7_000);
    expect(run.result.durationMs).toBeLessThan(12_000);
    await assertInvariants(h, before, [run]);
  });

  it('is read from PVC_CHONKER_RUN_DEADLINE, and a bad value is a usage error naming the flag', async () => {
    const h = await start([FULL('a')]);

    const bad = await h.cli([], { PVC_CHONKER_RUN_DEADLINE: 'soon' });

    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--run-deadline');
  });
});
