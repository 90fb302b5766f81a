/**
 * The forecast in decide(): runway-sized steps (clamped by max-size) and the predictive trigger
 * expand-before-full (reason forecast-full), from the PVC's usage-samples annotation.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decision.js';
import type { Reason } from '../../src/core/outcome.js';
import { formatQuantity } from '../../src/core/quantity.js';
import { parseSettingsLayer, type SettingsLayer } from '../../src/core/settings.js';
import { bytes, pvc, storageClass } from '../builders/snapshots.js';

const NOW = new Date('2026-12-03T12:00:00Z');
const HOUR = 3_600_000;
const GiB = 2n ** 30n;

/** Samples every 6 h up to 6 h ago, growing `gibPerDay` to reach `usedGiB` now. */
function samples(usedGiB: number, gibPerDay: number, count = 4): string {
  return Array.from({ length: count }, (_, i) => {
    const hoursAgo = (count - i) * 6;
    const used = BigInt(Math.round((usedGiB - (gibPerDay * hoursAgo) / 24) * 2 ** 30));
    return `${(NOW.getTime() - hoursAgo * HOUR) / 1000}:${used}`;
  }).join(',');
}

interface Case {
  name: string;
  size?: string;
  usedGiB: number;
  gibPerDay?: number;
  annotations?: Record<string, string>;
  flags?: Record<string, string>;
  providerMax?: string;
  reason: Reason;
  action: 'expand' | 'skip';
  newSize?: string;
  detail?: RegExp;
}

function decideCase(c: Case) {
  const size = c.size ?? '10Gi';
  const capacity = bytes(size);
  const used = BigInt(Math.round(c.usedGiB * 2 ** 30));
  const layers: SettingsLayer[] = [];
  if (c.flags !== undefined) {
    const layer = parseSettingsLayer('flag', c.flags);
    if (!layer.ok) throw new Error('bad flags');
    layers.push(layer.value);
  }
  return decide({
    pvc: pvc({
      size,
      annotations: {
        ...(c.gibPerDay === undefined
          ? {}
          : { 'pvc-chonker.io/usage-samples': samples(c.usedGiB, c.gibPerDay) }),
        ...c.annotations,
      },
    }),
    storageClass: storageClass(),
    stats: {
      kind: 'found',
      stats: {
        capacityBytes: capacity,
        availableBytes: capacity - used,
        usedBytes: used,
        inodes: undefined,
        inodesUsed: undefined,
        inodesFree: undefined,
      },
    },
    layers,
    now: NOW,
  });
}

const cases: Case[] = [
  // Runway-sized steps: 10Gi at 85%, growing 4 GiB a day.
  {
    name: 'no min-runway: the plain 1Gi step',
    usedGiB: 8.5,
    gibPerDay: 4,
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '11Gi',
  },
  {
    name: 'min-runway 3d: at least 12 GiB more',
    usedGiB: 8.5,
    gibPerDay: 4,
    annotations: { 'pvc-chonker.io/min-runway': '3d' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '22Gi',
    detail: /step sized for min-runway 3d at the forecast rate \(12 GiB\)/,
  },
  {
    name: 'min-runway from the flag layer',
    usedGiB: 8.5,
    gibPerDay: 4,
    flags: { 'min-runway': '1d' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '14Gi',
  },
  {
    name: 'the runway step is still capped at max-size',
    usedGiB: 8.5,
    gibPerDay: 4,
    annotations: { 'pvc-chonker.io/min-runway': '3d', 'pvc-chonker.io/max-size': '16Gi' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '16Gi',
  },
  {
    name: 'a runway smaller than the plain step changes nothing',
    size: '100Gi',
    usedGiB: 85,
    gibPerDay: 1,
    annotations: { 'pvc-chonker.io/min-runway': '1d' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '110Gi',
  },
  {
    name: 'no forecast (no samples): the plain step',
    usedGiB: 8.5,
    annotations: { 'pvc-chonker.io/min-runway': '3d' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '11Gi',
  },
  {
    name: 'a shrinking volume: the plain step',
    usedGiB: 8.5,
    gibPerDay: -1,
    annotations: { 'pvc-chonker.io/min-runway': '3d' },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '11Gi',
  },
  // The predictive trigger: 10Gi at 60% (4 GiB free), under the 80% threshold.
  {
    name: 'full in 1 day, expand-before-full 2d: forecast-full',
    usedGiB: 6,
    gibPerDay: 4,
    annotations: { 'pvc-chonker.io/expand-before-full': '2d' },
    action: 'expand',
    reason: 'forecast-full',
    newSize: '11Gi',
    detail:
      /used 60\.0% < 80%; growing 4 GiB\/day, full in 1 day; .*full within expand-before-full 2d/,
  },
  {
    name: 'forecast-full with a runway step',
    usedGiB: 6,
    gibPerDay: 4,
    annotations: {
      'pvc-chonker.io/expand-before-full': '2d',
      'pvc-chonker.io/min-runway': '2d',
    },
    action: 'expand',
    reason: 'forecast-full',
    newSize: '18Gi',
  },
  {
    name: 'full in 4 days, expand-before-full 2d: below-threshold',
    usedGiB: 6,
    gibPerDay: 1,
    annotations: { 'pvc-chonker.io/expand-before-full': '2d' },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'no expand-before-full: never predictive',
    usedGiB: 6,
    gibPerDay: 40,
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'over the threshold the reason stays threshold-reached',
    usedGiB: 9,
    gibPerDay: 4,
    annotations: { 'pvc-chonker.io/expand-before-full': '2d' },
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'forecast-full respects the cooldown',
    usedGiB: 6,
    gibPerDay: 4,
    annotations: {
      'pvc-chonker.io/expand-before-full': '2d',
      'pvc-chonker.io/last-expansion': new Date(NOW.getTime() - 60_000).toISOString(),
    },
    action: 'skip',
    reason: 'cooldown',
  },
  {
    name: 'a malformed usage-samples annotation only means no forecast',
    usedGiB: 6,
    annotations: {
      'pvc-chonker.io/usage-samples': 'garbage',
      'pvc-chonker.io/expand-before-full': '2d',
    },
    action: 'skip',
    reason: 'below-threshold',
  },
];

describe('decide() with a forecast', () => {
  it.each(cases)('$name', (c) => {
    const decision = decideCase(c);

    expect([decision.action, decision.reason]).toEqual([c.action, c.reason]);
    if (c.newSize !== undefined) expect(formatQuantity(decision.toBytes ?? 0n)).toBe(c.newSize);
    if (c.detail !== undefined) expect(decision.detail).toMatch(c.detail);
  });

  it('the forecast counts the reading now with the stored samples', () => {
    const decision = decideCase({
      name: '',
      usedGiB: 6,
      gibPerDay: 4,
      action: 'skip',
      reason: 'below-threshold',
    });

    expect(decision.forecast).toMatchObject({ kind: 'rate', samples: 5, spanMs: 24 * HOUR });
    expect(decision.usedBytes).toBe(6n * GiB);
  });

  it('a malformed annotation says why there is no forecast', () => {
    const decision = decideCase({
      name: '',
      usedGiB: 6,
      annotations: { 'pvc-chonker.io/usage-samples': 'garbage' },
      action: 'skip',
      reason: 'below-threshold',
    });

    expect(decision.forecast).toEqual({
      kind: 'none',
      why: 'pvc-chonker.io/usage-samples entry 0 "garbage" is not <unix seconds>:<used bytes>',
    });
  });

  it.each([
    ['min-runway', 'soon'],
    ['expand-before-full', '2 days'],
  ])('a bad %s annotation is invalid-annotation', (key, value) => {
    const decision = decideCase({
      name: '',
      usedGiB: 6,
      annotations: { [`pvc-chonker.io/${key}`]: value },
      action: 'skip',
      reason: 'below-threshold',
    });

    expect([decision.action, decision.reason]).toEqual(['error', 'invalid-annotation']);
  });
});
