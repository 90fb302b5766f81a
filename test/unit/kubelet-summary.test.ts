import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSummary, readSummary } from '../../src/stats/kubelet-summary.js';

// The real GKE Summary document with real pvcRef volume entries from EKS, a CSI driver and an
// AKS Windows node inserted (see ../../../shared/samples/README.md).
const summaryText = readFileSync(
  new URL('../fixtures/kubelet/summary-with-pvcs.json', import.meta.url),
  'utf8',
);
const summary: unknown = JSON.parse(summaryText);

describe('parseSummary', () => {
  it('reads every PVC-backed volume and nothing else', () => {
    const stats = parseSummary(summary);

    expect([...stats.keys()].sort()).toEqual([
      'default/persistent-storage-statefulset-azuredisk-win-0',
      'default/pvc-test',
      'namespace-pvc/name-pvc',
    ]);
  });

  it('reads only the volumes asked about when given a set of keys', () => {
    const stats = parseSummary(summary, new Set(['default/pvc-test', 'other/absent']));

    expect([...stats.keys()]).toEqual(['default/pvc-test']);
  });

  it('keeps the EKS volume exactly', () => {
    expect(parseSummary(summary).get('namespace-pvc/name-pvc')).toEqual({
      capacityBytes: 1623168045056n,
      availableBytes: 467653439488n,
      usedBytes: 1155497828352n,
      inodes: 100663296n,
      inodesUsed: 146963n,
      inodesFree: 100516333n,
    });
  });

  it('treats zero inodes (Windows) as no inode counts', () => {
    expect(
      parseSummary(summary).get('default/persistent-storage-statefulset-azuredisk-win-0')?.inodes,
    ).toBeUndefined();
  });

  it.each([
    ['not an object', 'garbage'],
    ['no pods', { node: {} }],
    [
      'volume without capacity',
      { pods: [{ volume: [{ pvcRef: { name: 'a', namespace: 'b' }, availableBytes: 1 }] }] },
    ],
    [
      'negative capacity',
      {
        pods: [
          {
            volume: [
              { pvcRef: { name: 'a', namespace: 'b' }, capacityBytes: 1.5, availableBytes: 1 },
            ],
          },
        ],
      },
    ],
    [
      'pvcRef without namespace',
      { pods: [{ volume: [{ pvcRef: { name: 'a' }, capacityBytes: 10, availableBytes: 1 }] }] },
    ],
  ])('drops malformed input: %s', (_name, body) => {
    expect(parseSummary(body).size).toBe(0);
  });
});

describe('readSummary (the bytes; only the volume lists are parsed)', () => {
  const volume = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    pvcRef: { name, namespace: 'db' },
    capacityBytes: 100,
    availableBytes: 40,
    ...extra,
  });
  const wrap = (pods: unknown[]): string =>
    JSON.stringify({ node: { nodeName: 'n', fs: { volume: 'not a list' } }, pods });
  const read = (text: string, wanted?: ReadonlySet<string>) =>
    readSummary(Buffer.from(text, 'utf8'), wanted);

  it.each([
    ['the real document, compact', JSON.stringify(summary)],
    ['the real document, indented', JSON.stringify(summary, null, 2)],
    ['the real document as the kubelet sent it', summaryText],
  ])('reads what parseSummary reads: %s', (_name, text) => {
    expect(read(text)).toEqual({ ok: true, value: parseSummary(summary) });
    const wanted = new Set(['default/pvc-test']);
    expect(read(text, wanted)).toEqual({ ok: true, value: parseSummary(summary, wanted) });
  });

  it('is not misled by brackets, braces, quotes and "volume" inside strings', () => {
    const tricky = 'a]b}c"volume":[d"}]\\';
    const text = wrap([
      { podRef: { name: '"volume":[', namespace: 'db' }, volume: [volume('x', { note: tricky })] },
      { podRef: { name: 'p', namespace: 'db' }, containers: [{ name: 'volume' }], volume: [] },
      {
        podRef: { name: 'q', namespace: 'db' },
        volume: [volume('y', { nested: [[{}], { a: [] }] })],
      },
    ]);

    const stats = read(text);
    expect(stats.ok && [...stats.value.keys()]).toEqual(['db/x', 'db/y']);
    expect(stats).toEqual({ ok: true, value: parseSummary(JSON.parse(text)) });
  });

  it('reads names in any script: a multi-byte character has no byte below 0x80', () => {
    // "ボリューム" holds the bytes 0x9C and 0xBC, which are not "\\" or "]" as bytes either.
    const text = wrap([
      {
        podRef: { name: 'p', namespace: 'db' },
        volume: [volume('ボリューム"]', { note: '№]}"' })],
      },
    ]);

    const stats = read(text);
    expect(stats).toEqual({ ok: true, value: parseSummary(JSON.parse(text)) });
    expect(stats.ok && [...stats.value.keys()]).toEqual(['db/ボリューム"]']);
  });

  it('reads a document without a pods list whole: no stats, not a failure', () => {
    expect(read(JSON.stringify({ node: {} }))).toEqual({ ok: true, value: new Map() });
  });

  it.each([
    ['a volume list that does not close', '{"pods":[{"volume":[{"name":"a"}', /JSON/],
    ['a volume list that is not JSON', '{"pods":[{"volume":[{"name":}]}]}', /JSON/],
    ['an HTML page', '<html><body>502 Bad Gateway</body></html>', /<html>.*is not valid JSON/],
  ])('gives a failure as a value, not an exception: %s', (_name, text, why) => {
    const stats = read(text);

    expect(stats.ok).toBe(false);
    expect(!stats.ok && stats.error).toMatch(/^the answer is not a kubelet Summary: /);
    expect(!stats.ok && stats.error).toMatch(why);
  });

  // Text that a byte scan could mistake for structure: quotes, brackets, braces, backslashes, the
  // key itself, and characters of two, three and four UTF-8 bytes.
  const tricky = fc.string({
    unit: fc.constantFrom(
      '"',
      '[',
      ']',
      '{',
      '}',
      '\\',
      ':',
      ' ',
      'volume',
      '"volume":[',
      'é',
      'ボ',
      '𝄞',
      'a',
    ),
    maxLength: 12,
  });
  const volumeEntry = fc.record({
    name: tricky,
    pvcRef: fc.option(fc.record({ name: tricky, namespace: tricky }), { nil: undefined }),
    capacityBytes: fc.nat(),
    availableBytes: fc.nat(),
    note: fc.option(fc.array(fc.dictionary(tricky, tricky, { maxKeys: 2 }), { maxLength: 2 }), {
      nil: undefined,
    }),
  });
  const pod = fc.record({
    podRef: fc.record({ name: tricky, namespace: tricky }),
    containers: fc.array(fc.record({ name: tricky }), { maxLength: 2 }),
    volume: fc.option(fc.array(volumeEntry, { maxLength: 3 }), { nil: undefined }),
  });
  const document = fc.record({
    node: fc.record({ nodeName: tricky, fs: fc.record({ volume: tricky }) }),
    pods: fc.array(pod, { maxLength: 4 }),
  });

  it('reads what JSON.parse and parseSummary read, for any document, compact or indented', () => {
    fc.assert(
      fc.property(document, fc.boolean(), (doc, indented) => {
        const text = JSON.stringify(doc, null, indented ? 2 : undefined);
        expect(read(text)).toEqual({ ok: true, value: parseSummary(JSON.parse(text)) });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on a cut answer: the stats of the lists that closed, or a failure as a value', () => {
    fc.assert(
      fc.property(document, fc.nat(), (doc, cut) => {
        // Each PVC once, so that the stats of a key are the same in any part of the answer.
        let n = 0;
        for (const p of doc.pods)
          for (const v of p.volume ?? []) if (v.pvcRef) v.pvcRef.name += `#${String(n++)}`;
        const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
        const whole = parseSummary(doc);
        const stats = readSummary(bytes.subarray(0, cut % (bytes.length + 1)));
        if (!stats.ok) expect(stats.error).toMatch(/^the answer is not a kubelet Summary: /);
        else for (const [key, value] of stats.value) expect(whole.get(key)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});
