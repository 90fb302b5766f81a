// TopoLVM's rule as tables: the step that fits a node's free bytes, the reserve, several PVCs on
// one node in one pass, and every way the node's annotation can be missing or wrong.
import { describe, expect, it } from 'vitest';
import { fitStep, type StepFit } from '../../src/providers/onprem-fit.js';
import {
  nodeLookupKey,
  parseFreeBytes,
  topolvmTarget,
  topolvmVerdicts,
  type NodeLookup,
  type TopolvmItem,
} from '../../src/providers/topolvm-rule.js';
import type { ExpansionCandidate, ProviderVerdict } from '../../src/providers/types.js';
import { candidate, gi, pv, storageClass } from './builders.js';

const GIB = gi(1);

describe('fitStep', () => {
  it.each<[string, [number, number, number, bigint], StepFit]>([
    ['fits exactly', [100, 120, 1, gi(20)], { kind: 'whole' }],
    ['fits with room to spare', [100, 120, 1, gi(500)], { kind: 'whole' }],
    [
      'partly: the largest whole GiB',
      [100, 120, 1, gi(7) + GIB / 2n],
      { kind: 'partial', toBytes: gi(107) },
    ],
    ['partly: exactly min-increase', [100, 120, 5, gi(5)], { kind: 'partial', toBytes: gi(105) }],
    ['partly but below min-increase', [100, 120, 5, gi(4)], { kind: 'none', largestBytes: gi(4) }],
    ['less than a GiB', [100, 120, 1, GIB - 1n], { kind: 'none', largestBytes: 0n }],
    ['no room', [100, 120, 1, 0n], { kind: 'none', largestBytes: 0n }],
    ['less than no room', [100, 120, 1, -gi(3)], { kind: 'none', largestBytes: 0n }],
  ])('%s', (_, [from, to, minIncrease, room], expected) => {
    expect(
      fitStep({
        fromBytes: gi(from),
        toBytes: gi(to),
        minIncreaseBytes: gi(minIncrease),
        roomBytes: room,
      }),
    ).toEqual(expected);
  });

  it('rounds the size, not only the step, down to whole GiB', () => {
    // 100.5 GiB now, room for 3 GiB: 103 GiB is the largest whole size (+2.5 GiB).
    expect(
      fitStep({
        fromBytes: gi(100) + GIB / 2n,
        toBytes: gi(120),
        minIncreaseBytes: GIB,
        roomBytes: gi(3),
      }),
    ).toEqual({ kind: 'partial', toBytes: gi(103) });
  });
});

function topolvm(
  name: string,
  o: {
    node?: string;
    fromGi?: number;
    toGi?: number;
    minIncreaseGi?: number;
    deviceClass?: string;
  } = {},
): ExpansionCandidate {
  const parameters =
    o.deviceClass === undefined ? {} : { 'topolvm.io/device-class': o.deviceClass };
  return candidate(
    name,
    pv({
      csiDriver: 'topolvm.io',
      volumeHandle: `lv-${name}`,
      nodeAffinity: o.node === undefined ? {} : { 'topology.topolvm.io/node': [o.node] },
    }),
    { ...o, storageClass: storageClass('topolvm.io', parameters) },
  );
}

function nodes(
  ...entries: { name: string; annotations: Record<string, string> }[]
): Map<string, NodeLookup> {
  return new Map(
    entries.map((node) => [
      nodeLookupKey('topology.topolvm.io/node', node.name),
      { kind: 'found', node } as const,
    ]),
  );
}

function judge(
  candidates: ExpansionCandidate[],
  known: Map<string, NodeLookup>,
  reserveGi = 1,
): ProviderVerdict[] {
  const items: TopolvmItem[] = candidates.map((c) => {
    const target = topolvmTarget(c);
    if (!target.ok) throw new Error(target.error);
    return { key: c.pvc.name, candidate: c, target: target.value };
  });
  const verdicts = topolvmVerdicts(items, known, gi(reserveGi));
  return items.map((i) => verdicts.get(i.key) as ProviderVerdict);
}

const free = (n: number): Record<string, string> => ({
  'capacity.topolvm.io/00default': String(gi(n)),
});

describe('TopoLVM verdicts', () => {
  it.each<[string, number, number, Partial<ProviderVerdict>]>([
    // [case, free GiB on the node, reserve GiB, verdict]
    ['fits', 50, 1, { ok: true, toBytes: gi(120), warnings: [] }],
    ['fits exactly with the reserve', 21, 1, { ok: true, toBytes: gi(120) }],
    ['partly fits: the largest whole-GiB step', 12, 1, { ok: true, toBytes: gi(111) }],
    ['does not fit', 1, 1, { ok: false, reason: 'provider-capacity' }],
    ['fits only without the reserve', 20, 0, { ok: true, toBytes: gi(120) }],
    ['the reserve makes it partial', 20, 1, { ok: true, toBytes: gi(119) }],
  ])('%s', (_, freeGi, reserveGi, expected) => {
    const [verdict] = judge(
      [topolvm('a', { node: 'n1' })],
      nodes({ name: 'n1', annotations: free(freeGi) }),
      reserveGi,
    );

    expect(verdict).toMatchObject({ provider: 'topolvm', ...expected });
  });

  it('names the node and the free bytes when it refuses', () => {
    const [verdict] = judge(
      [topolvm('a', { node: 'worker-3', minIncreaseGi: 5 })],
      nodes({ name: 'worker-3', annotations: free(4) }),
    );

    expect(verdict).toEqual({
      ok: false,
      provider: 'topolvm',
      reason: 'provider-capacity',
      detail:
        '+20Gi does not fit on node worker-3, device class 00default (default): 4294967296 bytes (4.0 GiB) free, 1Gi kept free by --onprem-reserve; the largest whole-GiB step that fits, +3Gi, is below min-increase 5Gi',
      retryAt: undefined,
    });
  });

  it('says what a partial step is in a warning', () => {
    const [verdict] = judge(
      [topolvm('a', { node: 'n1' })],
      nodes({ name: 'n1', annotations: free(8) }),
    );

    expect(verdict).toMatchObject({
      ok: true,
      toBytes: gi(107),
      warnings: [
        'only +7Gi of +20Gi fits (node n1, device class 00default (default): 8589934592 bytes (8.0 GiB) free, 1Gi kept free by --onprem-reserve)',
      ],
    });
  });

  it('shares one node between the PVCs of a pass, the first decided taking first', () => {
    const verdicts = judge(
      [
        topolvm('first', { node: 'n1' }),
        topolvm('other-node', { node: 'n2' }),
        topolvm('second', { node: 'n1' }),
        topolvm('third', { node: 'n1' }),
        topolvm('fourth', { node: 'n1' }),
      ],
      nodes({ name: 'n1', annotations: free(51) }, { name: 'n2', annotations: free(100) }),
    );

    // 50 GiB usable on n1: 20 + 20, then 10 of the third's 20, then nothing.
    expect(verdicts.map((v) => (v.ok ? v.toBytes / GIB : v.reason))).toEqual([
      120n,
      120n,
      120n,
      110n,
      'provider-capacity',
    ]);
    expect(verdicts[4]).toHaveProperty(
      'detail',
      expect.stringContaining('53687091200 bytes (50.0 GiB) granted to earlier PVCs this run'),
    );
  });

  it('keeps device classes of one node apart', () => {
    const verdicts = judge(
      [
        topolvm('ssd', { node: 'n1', deviceClass: 'ssd' }),
        topolvm('hdd', { node: 'n1', deviceClass: 'hdd' }),
      ],
      nodes({
        name: 'n1',
        annotations: {
          'capacity.topolvm.io/ssd': String(gi(21)),
          'capacity.topolvm.io/hdd': String(gi(21)),
        },
      }),
    );

    expect(verdicts.map((v) => v.ok)).toEqual([true, true]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['no annotation for the class', {}, 'node n1 has no annotation capacity.topolvm.io/00default'],
    [
      'a negative value',
      { 'capacity.topolvm.io/00default': '-5' },
      'has capacity.topolvm.io/00default: "-5", not a byte count',
    ],
    ['a quantity, not bytes', { 'capacity.topolvm.io/00default': '10Gi' }, 'not a byte count'],
    ['an empty value', { 'capacity.topolvm.io/00default': '' }, 'not a byte count'],
    ['a huge number', { 'capacity.topolvm.io/00default': '9'.repeat(40) }, 'not a byte count'],
  ])('a clear provider-error for %s', (_, annotations, detail) => {
    const [verdict] = judge([topolvm('a', { node: 'n1' })], nodes({ name: 'n1', annotations }));

    expect(verdict).toMatchObject({ ok: false, reason: 'provider-error' });
    expect(verdict).toHaveProperty('detail', expect.stringContaining(detail));
  });

  it('a provider-error when no Node carries the PV topology value', () => {
    const [verdict] = judge([topolvm('a', { node: 'gone' })], nodes());

    expect(verdict).toMatchObject({
      ok: false,
      reason: 'provider-error',
      detail: "no Node has the label topology.topolvm.io/node=gone (the PV's node)",
    });
  });

  it('passes the failure of a node read on to its volumes only', () => {
    const failed: ProviderVerdict = {
      ok: false,
      provider: 'topolvm',
      reason: 'provider-error',
      detail: 'list nodes failed',
      retryAt: undefined,
    };
    const known = nodes({ name: 'n2', annotations: free(100) });
    known.set(nodeLookupKey('topology.topolvm.io/node', 'n1'), { kind: 'failed', verdict: failed });

    const verdicts = judge([topolvm('a', { node: 'n1' }), topolvm('b', { node: 'n2' })], known);

    expect(verdicts[0]).toBe(failed);
    expect(verdicts[1]).toMatchObject({ ok: true });
  });
});

describe('topolvmTarget', () => {
  it('reads the node from the PV and the device class from the StorageClass', () => {
    const target = topolvmTarget(topolvm('a', { node: 'n1', deviceClass: 'nvme' }));

    expect(target).toMatchObject({
      ok: true,
      value: { node: 'n1', deviceClass: 'nvme', annotation: 'capacity.topolvm.io/nvme' },
    });
  });

  it('uses the legacy keys of the legacy driver', () => {
    const c = candidate(
      'a',
      pv({
        csiDriver: 'topolvm.cybozu.com',
        nodeAffinity: { 'topology.topolvm.cybozu.com/node': ['n1'] },
      }),
      { storageClass: storageClass('topolvm.cybozu.com') },
    );

    expect(topolvmTarget(c)).toMatchObject({
      ok: true,
      value: { node: 'n1', annotation: 'capacity.topolvm.cybozu.com/00default' },
    });
  });

  it.each<[string, Record<string, string[]>]>([
    ['no node affinity', {}],
    ['two nodes', { 'topology.topolvm.io/node': ['n1', 'n2'] }],
    ['another key only', { 'kubernetes.io/hostname': ['n1'] }],
  ])('is an error with %s', (_, nodeAffinity) => {
    const c = candidate('a', pv({ csiDriver: 'topolvm.io', nodeAffinity }));

    expect(topolvmTarget(c)).toHaveProperty(
      'error',
      expect.stringContaining(
        'names no single node in its node affinity on topology.topolvm.io/node',
      ),
    );
  });
});

describe('parseFreeBytes', () => {
  it.each<[string | undefined, bigint | undefined]>([
    ['0', 0n],
    ['107374182400', gi(100)],
    ['18446744073709551615', 18446744073709551615n],
    [undefined, undefined],
    ['', undefined],
    ['1.5', undefined],
    [' 1', undefined],
    ['0x10', undefined],
  ])('%s', (text, expected) => {
    expect(parseFreeBytes(text)).toBe(expected);
  });
});
