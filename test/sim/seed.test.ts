import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expandTimeTokens,
  generateFleet,
  loadSeed,
  parseSeed,
  startSimCluster,
  type SimCluster,
} from '../../sim/index.js';
import { canonicalQuantity, parseQuantity } from '../../sim/quantity.js';
import { microTimeParseError } from '../../sim/events.js';
import { humanDuration } from '../../sim/table.js';
import { clientsFor, raw } from './fixtures.js';

const DEMO = fileURLToPath(new URL('../fixtures/sim/demo-fleet.yaml', import.meta.url));

let sim: SimCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('seed loading', () => {
  it('expands ${now±N<unit>} tokens to RFC 3339 seconds', () => {
    const now = new Date('2026-11-26T05:00:00.500Z');

    expect(expandTimeTokens('${now}', now)).toBe('2026-11-26T05:00:00Z');
    expect(expandTimeTokens('at ${now-5m}', now)).toBe('at 2026-11-26T04:55:00Z');
    expect(expandTimeTokens('${now+2h}/${now-1d}', now)).toBe(
      '2026-11-26T07:00:00Z/2026-11-25T05:00:00Z',
    );
    // Unix seconds, as pvc-chonker.io/usage-samples spells its times.
    expect(expandTimeTokens('${unix:now-6h}:1', now)).toBe(
      `${Date.parse('2026-11-25T23:00:00Z') / 1000}:1`,
    );
  });

  it('parses SimVolumeUsage documents and rejects unknown kinds', () => {
    const seed = parseSeed(
      'kind: SimVolumeUsage\napiVersion: sim.pvc-chonker.io/v1\nnamespace: a\npvc: b\nusedBytes: 8Gi\ninodes: 100\nkubeletFails: true\n',
    );

    expect(seed.usage).toEqual([
      { namespace: 'a', pvc: 'b', usedBytes: '8Gi', inodes: 100, kubeletFails: true },
    ]);
    expect(() => parseSeed('kind: DaemonSet\napiVersion: apps/v1\n')).toThrow(
      /unsupported kind "DaemonSet"/,
    );
  });

  it('loads the demo fleet with every case it promises', async () => {
    const seed = await loadSeed(DEMO);
    sim = await startSimCluster({ seed: DEMO, resizeDelayMs: 60_000 });
    const c = await clientsFor(sim);

    const pvcs = await c.core.listPersistentVolumeClaimForAllNamespaces();
    const byName = new Map(pvcs.items.map((p) => [p.metadata?.name ?? '', p]));
    const mongo =
      byName.get('data-mongo-0')?.metadata?.annotations?.['pvc-chonker.io/last-expansion'] ?? '';
    const ageMs = Date.now() - Date.parse(mongo);
    await sim.settle();
    const nats = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'data-nats-0',
      namespace: 'queues',
    });
    const summaries = await Promise.all(
      ['worker-a', 'worker-b', 'worker-c'].map((n) =>
        raw(sim!, `/api/v1/nodes/${n}/proxy/stats/summary`),
      ),
    );

    expect(seed.objects.filter((o) => o['kind'] === 'Node')).toHaveLength(3);
    expect(pvcs.items).toHaveLength(18);
    expect(new Set(pvcs.items.map((p) => p.metadata?.namespace))).toEqual(
      new Set(['databases', 'search', 'queues']),
    );
    expect(ageMs).toBeGreaterThan(4 * 60_000);
    expect(ageMs).toBeLessThan(6 * 60_000);
    expect(byName.get('data-solr-0')?.metadata?.annotations?.['pvc-chonker.io/threshold']).toBe(
      'eighty',
    );
    expect(byName.get('data-cassandra-0')?.spec?.volumeMode).toBe('Block');
    expect(byName.get('data-zookeeper-0')?.metadata?.annotations ?? {}).not.toHaveProperty(
      'pvc-chonker.io/enabled',
    );
    // Managed only by docs/examples/ (the PVCPolicy's label, the PVCGroup's member list).
    for (const name of ['data-timescale-0', 'data-elasticsearch-2'])
      expect(byName.get(name)?.metadata?.annotations ?? {}).not.toHaveProperty(
        'pvc-chonker.io/enabled',
      );
    expect(byName.get('data-timescale-0')?.metadata?.labels?.['workload']).toBe('database');
    expect(nats.spec?.resources?.requests?.['storage']).toBe('30Gi');
    expect(nats.status?.conditions?.map((x) => x.type)).toEqual(['Resizing']);
    expect(summaries.map((s) => s.status)).toEqual([200, 200, 200]);
    const refs = summaries.flatMap((s) =>
      (s.json as { pods: { volume?: { pvcRef?: { name: string } }[] }[] }).pods
        .flatMap((p) => p.volume ?? [])
        .flatMap((v) => (v.pvcRef ? [v.pvcRef.name] : [])),
    );
    expect(refs).toHaveLength(17);
    expect(refs).not.toContain('data-cassandra-0');
  });

  it('generates fleets for benchmarks', async () => {
    sim = await startSimCluster({ seed: generateFleet({ nodes: 4, pvcs: 40 }) });

    const list = await raw(sim, '/api/v1/persistentvolumeclaims?limit=500');
    const summary = await raw(sim, '/api/v1/nodes/node-00001/proxy/stats/summary');

    expect((list.json as { items: unknown[] }).items).toHaveLength(40);
    expect((summary.json as { pods: unknown[] }).pods).toHaveLength(10);
  });
});

describe('wire-format helpers', () => {
  it.each([
    ['10Gi', '10Gi'],
    ['1.5Gi', '1536Mi'],
    ['10737418240', '10737418240'],
    ['1000000000', '1G'],
    ['2048Ki', '2Mi'],
    ['1e9', '1e9'],
  ])('canonicalises quantity %s as %s', (input, expected) => {
    expect(canonicalQuantity(input)).toBe(expected);
  });

  it('parses quantities to bytes and refuses garbage', () => {
    expect(parseQuantity('0.5Ki')?.bytes).toBe(512n);
    expect(parseQuantity('100m')?.bytes).toBe(1n);
    expect(parseQuantity('eighty')).toBeUndefined();
  });

  it.each([
    ['2026-11-26T05:00:00.123456Z', undefined],
    ['2026-11-26T05:00:00.123456+01:00', undefined],
    ['2026-11-26T05:00:00.123Z', 'cannot parse ".123Z" as ".000000"'],
    ['2026-11-26T05:00:00.123456789Z', 'cannot parse "789Z" as "Z07:00"'],
    ['2026-11-26 05:00:00.123456Z', 'cannot parse " 05:00:00.123456Z" as "T"'],
  ])('MicroTime %s', (value, error) => {
    const result = microTimeParseError(value);

    if (error === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(error);
  });

  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [3 * 3_600_000, '3h'],
    [20 * 86_400_000, '20d'],
  ])('prints age %i ms as %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
