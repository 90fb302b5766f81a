/**
 * Forecasts over three simulated days (issue 20): the built CLI runs every 2 hours of simulated
 * time (--now), the kubelets report usage that grows by the hour, and the PVCs carry their own
 * usage samples. On both test clusters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOffsetMs } from '../../src/core/usage-samples.js';
import { runCli, seed, type Claim } from './harness.js';
import { runJson, type RunRecord } from './invariants.js';
import { startTestCluster, type LoggedRequest, type TestCluster } from './test-cluster.js';

const GI = 1024 ** 3;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const PASS_HOURS = 2;
const DAYS = 3;
const INTERVAL_HOURS = 6;
const SAMPLES = 'pvc-chonker.io/usage-samples';

/** Used GiB of each PVC at `hours` into the simulation. */
const GROWTH: Record<string, (hours: number) => number> = {
  // 3.5 GiB a day from 6 GiB of 10Gi: over 80% after 14 h.
  fast: (h) => 6 + (3.5 * h) / 24,
  plain: (h) => 6 + (3.5 * h) / 24,
  // 2 GiB a day on 100Gi, with a wobble of up to 0.4 GiB: a forecast that must settle.
  steady: (h) => 30 + (2 * h) / 24 + 0.4 * Math.sin(h * 1.7),
};

const QUIET = Array.from({ length: 12 }, (_, i) => `quiet-${i}`);

const claims: Claim[] = [
  { name: 'fast', usedPercent: 60, annotations: { 'pvc-chonker.io/min-runway': '3d' } },
  { name: 'plain', usedPercent: 60 },
  {
    name: 'steady',
    sizeGi: 100,
    usedPercent: 30,
    annotations: { 'pvc-chonker.io/max-size': '200Gi' },
  },
  ...QUIET.map((name) => ({ name, sizeGi: 5, usedPercent: 20 })),
];

interface Pass {
  hours: number;
  run: RunRecord;
  requests: LoggedRequest[];
}

interface PvcObject {
  metadata: { name: string; uid: string; annotations?: Record<string, string> };
  spec: { resources: { requests: { storage: string } } };
}

let cluster: TestCluster | undefined;
const passes: Pass[] = [];

/** A PATCH that writes the usage samples and no size. */
function isSampleWrite(request: LoggedRequest): boolean {
  const body = request.body as
    { metadata?: { annotations?: Record<string, string> }; spec?: unknown } | undefined;
  return (
    request.method === 'PATCH' &&
    request.path.includes('/persistentvolumeclaims/') &&
    body?.metadata?.annotations?.[SAMPLES] !== undefined &&
    body.spec === undefined
  );
}

function isExpansion(request: LoggedRequest, name: string): boolean {
  const body = request.body as { spec?: unknown } | undefined;
  return (
    request.method === 'PATCH' &&
    request.status === 200 &&
    request.path.endsWith(`/persistentvolumeclaims/${name}`) &&
    body?.spec !== undefined
  );
}

function row(pass: Pass, name: string): Record<string, unknown> {
  const found = pass.run.rows.find((r) => r['name'] === name);
  if (found === undefined) throw new Error(`no row for ${name}`);
  return found;
}

beforeAll(async () => {
  const h = (cluster = await startTestCluster(seed(claims)));
  let seen = 0;
  for (let hours = 0; hours <= DAYS * 24; hours += PASS_HOURS) {
    for (const [name, used] of Object.entries(GROWTH))
      await h.setUsage('db', name, { usedBytes: Math.round(used(hours) * GI) });
    const now = new Date(T0 + hours * HOUR).toISOString();
    const run = await runJson(h, ['--now', now, '--sample-interval', `${INTERVAL_HOURS}h`]);
    if (run.result.code !== 0) throw new Error(`pass at ${now}: ${run.result.stderr}`);
    await h.settle();
    const all = await h.requests();
    passes.push({ hours, run, requests: all.slice(seen) });
    seen = all.length;
  }
}, 600_000);

afterAll(async () => {
  await cluster?.close();
});

describe('usage samples over three days', () => {
  it('each PVC keeps at most 12, no closer than half an interval, then one per interval', async () => {
    const pvcs = (await cluster?.list('PersistentVolumeClaim', 'db')) as PvcObject[];

    expect(pvcs).toHaveLength(claims.length);
    for (const pvc of pvcs) {
      const text = pvc.metadata.annotations?.[SAMPLES] ?? '';
      const times = text.split(',').map((pair) => Number(pair.split(':')[0]) * 1000);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));

      expect(times.length, pvc.metadata.name).toBe(12);
      expect(Math.min(...gaps), pvc.metadata.name).toBeGreaterThanOrEqual(
        (INTERVAL_HOURS / 2) * HOUR,
      );
      // From the second gap on: the PVC's own slot, found by the first pass after it.
      for (const gap of gaps.slice(1))
        expect(Math.abs(gap - INTERVAL_HOURS * HOUR), pvc.metadata.name).toBeLessThan(
          PASS_HOURS * HOUR,
        );
      // The slot is the PVC's own, from its uid: after the first two, every sample falls in the
      // first pass after the uid's boundary in the interval.
      const offset = sampleOffsetMs(pvc.metadata.uid, INTERVAL_HOURS * HOUR);
      for (const time of times.filter((t) => t >= T0 + 8 * HOUR)) {
        const phase =
          (((time - offset) % (INTERVAL_HOURS * HOUR)) + INTERVAL_HOURS * HOUR) %
          (INTERVAL_HOURS * HOUR);
        expect(phase, pvc.metadata.name).toBeLessThan(PASS_HOURS * HOUR + 60_000);
      }
    }
  });

  it('are written at most once per interval per PVC, spread over the passes', () => {
    const writes = passes.map((pass) => pass.requests.filter(isSampleWrite));
    const perPvc = new Map<string, number>();
    for (const request of writes.flat())
      perPvc.set(request.path, (perPvc.get(request.path) ?? 0) + 1);
    // From 8 h on, every PVC writes at its own phase (the second samples, sooner, cluster).
    const later = writes.slice(4).map((list) => list.length);

    // The first pass writes every PVC's first sample; the fast ones may carry later samples on
    // their expansions instead.
    expect(writes[0]).toHaveLength(claims.length);
    for (const count of perPvc.values()) expect(count).toBeLessThanOrEqual(DAYS * 4 + 1);
    // 15 PVCs over the 3 passes of each 6 h interval, by uid: a share each pass, not all at
    // once (13 or more in one of three phases is a chance of about 1 in 10,000).
    expect(Math.max(...later)).toBeLessThan(claims.length - 2);
    expect(later.filter((count) => count > 0).length).toBeGreaterThan(later.length / 2);
  });

  it('an expansion history entry records the used bytes', async () => {
    const pvc = (await cluster?.get('PersistentVolumeClaim', 'db', 'fast')) as PvcObject;
    const history = JSON.parse(
      pvc.metadata.annotations?.['pvc-chonker.io/expansion-history'] ?? '[]',
    ) as { used?: string }[];

    expect(history.length).toBeGreaterThan(0);
    expect(history.every((entry) => typeof entry.used === 'string')).toBe(true);
  });
});

describe('the forecast', () => {
  it('says why there is none at first, and converges on the true rate', () => {
    const first = row(passes[0]!, 'steady');
    const rates = passes
      .map((pass) => row(pass, 'steady')['growthBytesPerDay'])
      .filter((rate): rate is number => typeof rate === 'number');
    const truth = 2 * GI;
    const error = (rate: number | undefined): number => Math.abs((rate ?? 0) - truth) / truth;

    expect(first['growthBytesPerDay']).toBeNull();
    expect(first['detail']).toBeTypeOf('string');
    expect(rates.length).toBeGreaterThan(passes.length - 6);
    expect(error(rates.at(-1))).toBeLessThan(0.05);
    expect(error(rates.at(-1))).toBeLessThan(error(rates[0]));
    const last = row(passes.at(-1)!, 'steady');
    expect(last['daysUntilFull']).toBeGreaterThan(30);
    expect(last['daysUntilMaxSize']).toBeGreaterThan(60);
    expect(last['daysUntilMaxSize']).toBeGreaterThan(last['daysUntilFull'] as number);
  });

  it('a fast grower is expanded once with a runway step, where the plain one takes four or more', () => {
    const fast = passes.flatMap((pass) => pass.requests.filter((r) => isExpansion(r, 'fast')));
    const plain = passes.flatMap((pass) => pass.requests.filter((r) => isExpansion(r, 'plain')));
    const expanded = passes.find((pass) => row(pass, 'fast')['action'] === 'expand');

    expect(fast).toHaveLength(1);
    expect(plain.length).toBeGreaterThanOrEqual(4);
    // 3.5 GiB/day × 3 days = 10.5 GiB more than 10Gi, rounded up to a whole Gi.
    expect(expanded && row(expanded, 'fast')['newSize']).toBe('21Gi');
    expect(expanded && row(expanded, 'fast')['detail']).toMatch(/step sized for min-runway 3d/);
  });

  it("the expansion's Normal Event says how fast the volume grows", async () => {
    const events = (await cluster?.list('Event', 'db')) as {
      type: string;
      message: string;
      involvedObject: { name: string };
    }[];
    const fast = events.find((e) => e.involvedObject.name === 'fast' && e.type === 'Normal');

    expect(fast?.message).toMatch(/growing 3\.5 GiB\/day, full in [\d.]+ days?; \d+ samples over/);
  });

  it('explain prints the forecast line', async () => {
    const h = cluster as TestCluster;
    const now = new Date(T0 + DAYS * 24 * HOUR).toISOString();

    const result = await runCli([
      'explain',
      'db/steady',
      '--kubeconfig',
      h.kubeconfig,
      '--now',
      now,
    ]);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^Forecast {3}growing 2(\.\d)? GiB\/day, full in \d+(\.\d)? days, max-size in \d+(\.\d)? days; 13 samples over 2\.\d days$/m,
    );
    expect(result.stdout).toMatch(/^ {2}min-runway {10}none {8}from default$/m);
  });
});
