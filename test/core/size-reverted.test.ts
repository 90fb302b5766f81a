import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decision.js';
import type { Reason } from '../../src/core/outcome.js';
import { pvc, storageClass, usage } from '../builders/snapshots.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const LAST = '2026-12-01T09:00:00Z';

function history(...entries: [time: string, from: string, to: string][]): string {
  return JSON.stringify(
    entries.map(([time, from, to]) => ({ time, from, to, reason: 'threshold-reached' })),
  );
}

const GREW_TO_11 = history(['2026-11-30T09:00:00Z', '9Gi', '10Gi'], [LAST, '10Gi', '11Gi']);

interface Case {
  name: string;
  size: string;
  request: string;
  annotations: Record<string, string>;
  usedPercent: number;
  action: 'expand' | 'skip' | 'error';
  reason: Reason;
  warn?: boolean;
}

const cases: Case[] = [
  {
    name: 'the request set back below what pvc-chonker wrote, volume full: no expansion',
    size: '10Gi',
    request: '10Gi',
    annotations: { 'pvc-chonker.io/expansion-history': GREW_TO_11 },
    usedPercent: 95,
    action: 'skip',
    reason: 'size-reverted',
    warn: true,
  },
  {
    name: 'set back while the resize was pending (request above capacity)',
    size: '10Gi',
    request: '10500Mi',
    annotations: { 'pvc-chonker.io/expansion-history': GREW_TO_11 },
    usedPercent: 50,
    action: 'skip',
    reason: 'size-reverted',
    warn: true,
  },
  {
    name: 'the request is what pvc-chonker wrote',
    size: '11Gi',
    request: '11Gi',
    annotations: { 'pvc-chonker.io/expansion-history': GREW_TO_11 },
    usedPercent: 95,
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'someone grew it further by hand',
    size: '20Gi',
    request: '20Gi',
    annotations: { 'pvc-chonker.io/expansion-history': GREW_TO_11 },
    usedPercent: 50,
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'no history: never expanded by pvc-chonker',
    size: '10Gi',
    request: '10Gi',
    annotations: {},
    usedPercent: 95,
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'acknowledged: the ack names the reverted expansion, so it grows again',
    size: '10Gi',
    request: '10Gi',
    annotations: {
      'pvc-chonker.io/expansion-history': GREW_TO_11,
      'pvc-chonker.io/size-reverted-ack': LAST,
    },
    usedPercent: 95,
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'an old ack (of an earlier expansion) does not cover a new revert',
    size: '10Gi',
    request: '10Gi',
    annotations: {
      'pvc-chonker.io/expansion-history': GREW_TO_11,
      'pvc-chonker.io/size-reverted-ack': '2026-11-30T09:00:00Z',
    },
    usedPercent: 95,
    action: 'skip',
    reason: 'size-reverted',
  },
  {
    name: 'an ack that is no time',
    size: '10Gi',
    request: '10Gi',
    annotations: {
      'pvc-chonker.io/expansion-history': GREW_TO_11,
      'pvc-chonker.io/size-reverted-ack': 'yes',
    },
    usedPercent: 95,
    action: 'error',
    reason: 'invalid-annotation',
  },
];

describe('size-reverted: an owner set the request back below what pvc-chonker wrote', () => {
  it.each(cases)('$name → $action $reason', (c) => {
    const claim = pvc({ size: c.size, request: c.request, annotations: c.annotations });

    const decision = decide({
      pvc: claim,
      storageClass: storageClass(),
      stats: usage({ usedPercent: c.usedPercent }, c.size),
      layers: [],
      now: NOW,
    });

    expect([decision.action, decision.reason]).toEqual([c.action, c.reason]);
    if (c.warn !== undefined) expect(decision.warn).toBe(c.warn);
  });

  it('says what was written, when, and the annotation that accepts the smaller size', () => {
    const claim = pvc({
      size: '10Gi',
      annotations: { 'pvc-chonker.io/expansion-history': GREW_TO_11 },
    });

    const decision = decide({
      pvc: claim,
      storageClass: storageClass(),
      stats: usage({ usedPercent: 95 }),
      layers: [],
      now: NOW,
    });

    expect(decision.detail).toBe(
      'spec.resources.requests.storage is 10Gi, below the 11Gi pvc-chonker wrote at 2026-12-01T09:00:00Z: something set it back; no expansion until the owner keeps the new size or the PVC is annotated pvc-chonker.io/size-reverted-ack=2026-12-01T09:00:00Z',
    );
    expect(decision.toBytes).toBeUndefined();
  });
});
