import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSummary } from '../../src/stats/kubelet-summary.js';

// The real GKE Summary document with real pvcRef volume entries from EKS, a CSI driver and an
// AKS Windows node inserted (see ../../../shared/samples/README.md).
const summary: unknown = JSON.parse(
  readFileSync(new URL('../fixtures/kubelet/summary-with-pvcs.json', import.meta.url), 'utf8'),
);

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
