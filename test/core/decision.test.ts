import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../../src/core/decision.js';
import type { Reason } from '../../src/core/outcome.js';
import type { StatsLookup } from '../../src/core/pvc.js';
import { formatQuantity } from '../../src/core/quantity.js';
import { parseSettingsLayer, type SettingsLayer } from '../../src/core/settings.js';
import { pvc, storageClass, usage, type PvcSpec, type UsageSpec } from '../builders/snapshots.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const minutesAgo = (minutes: number): string =>
  new Date(NOW.getTime() - minutes * 60_000).toISOString();

interface Case {
  name: string;
  pvc?: PvcSpec;
  usage?: UsageSpec;
  stats?: StatsLookup;
  allowExpansion?: boolean;
  flags?: Record<string, string>;
  action: 'expand' | 'skip' | 'error';
  reason: Reason;
  newSize?: string;
  detail?: string;
  warn?: boolean;
}

function input(c: Case): DecisionInput {
  const claim = pvc(c.pvc);
  const size = c.pvc?.size ?? '10Gi';
  const layers: SettingsLayer[] = [];
  if (c.flags !== undefined) {
    const layer = parseSettingsLayer('flag', c.flags);
    if (!layer.ok) throw new Error('bad flags in test case');
    layers.push(layer.value);
  }
  return {
    pvc: claim,
    storageClass: storageClass(c.allowExpansion ?? true),
    stats: c.stats ?? usage(c.usage, size),
    layers,
    now: NOW,
  };
}

const cases: Case[] = [
  // Thresholds
  {
    name: 'below the default 80%',
    usage: { usedPercent: 50 },
    action: 'skip',
    reason: 'below-threshold',
    detail: 'used 50.0% < 80%',
  },
  {
    name: 'exactly at 80% expands',
    usage: { usedPercent: 80 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '11Gi',
  },
  {
    name: 'above 80% expands by 10%, at least 1Gi, whole Gi',
    usage: { usedPercent: 91 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '11Gi',
  },
  {
    name: '10% of 100Gi is 10Gi',
    pvc: { size: '100Gi' },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '110Gi',
  },
  {
    name: '10% of 105Gi rounds up to a whole Gi',
    pvc: { size: '105Gi' },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '116Gi',
  },
  {
    name: 'annotation threshold 95% holds at 91%',
    pvc: { annotations: { 'pvc-chonker.io/threshold': '95%' } },
    usage: { usedPercent: 91 },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'quantity threshold: free below it expands',
    pvc: { annotations: { 'pvc-chonker.io/threshold': '2Gi' } },
    usage: { available: '1Gi' },
    action: 'expand',
    reason: 'threshold-reached',
    detail: 'free 1Gi < 2Gi',
  },
  {
    name: 'quantity threshold: free at it holds',
    pvc: { annotations: { 'pvc-chonker.io/threshold': '2Gi' } },
    usage: { available: '2Gi' },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'inodes over threshold expand',
    usage: { usedPercent: 10, inodes: 1000, inodesUsedPercent: 85 },
    action: 'expand',
    reason: 'threshold-reached',
    detail: 'inodes 85.0% >= 80%',
  },
  {
    name: 'inodes threshold from annotation',
    pvc: { annotations: { 'pvc-chonker.io/inodes-threshold': '90%' } },
    usage: { usedPercent: 10, inodes: 1000, inodesUsedPercent: 85 },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'no inode counts: inodes ignored',
    usage: { usedPercent: 10 },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'inodes 0 (Windows) ignored',
    stats: {
      kind: 'found',
      stats: {
        capacityBytes: 10n << 30n,
        availableBytes: 9n << 30n,
        usedBytes: 1n << 30n,
        inodes: undefined,
        inodesUsed: 0n,
        inodesFree: 0n,
      },
    },
    action: 'skip',
    reason: 'below-threshold',
  },
  {
    name: 'global flag threshold applies',
    flags: { threshold: '50%' },
    usage: { usedPercent: 60 },
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'annotation beats global flag',
    flags: { threshold: '50%' },
    pvc: { annotations: { 'pvc-chonker.io/threshold': '70%' } },
    usage: { usedPercent: 60 },
    action: 'skip',
    reason: 'below-threshold',
  },
  // Growth
  {
    name: 'fixed increase',
    pvc: { annotations: { 'pvc-chonker.io/increase': '5Gi' } },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '15Gi',
  },
  {
    name: 'min-increase wins over a small percentage',
    pvc: { annotations: { 'pvc-chonker.io/min-increase': '4Gi' } },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '14Gi',
  },
  {
    name: 'odd capacity rounds up to whole Gi',
    pvc: { size: '1500Mi' },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '3Gi',
  },
  // Max size
  {
    name: 'capped at max-size',
    pvc: { annotations: { 'pvc-chonker.io/max-size': '10500Mi' } },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
    newSize: '10500Mi',
  },
  {
    name: 'at max-size: warn, no expansion',
    pvc: { annotations: { 'pvc-chonker.io/max-size': '10Gi' } },
    usage: { usedPercent: 90 },
    action: 'skip',
    reason: 'max-size-reached',
    warn: true,
  },
  {
    name: 'at max-size but below threshold: quiet',
    pvc: { annotations: { 'pvc-chonker.io/max-size': '10Gi' } },
    usage: { usedPercent: 50 },
    action: 'skip',
    reason: 'below-threshold',
    warn: false,
  },
  {
    name: 'global max-size below the size: max-size-reached',
    flags: { 'max-size': '5Gi' },
    usage: { usedPercent: 90 },
    action: 'skip',
    reason: 'max-size-reached',
  },
  {
    name: 'annotation max-size below the current size is invalid',
    pvc: { annotations: { 'pvc-chonker.io/max-size': '5Gi' } },
    usage: { usedPercent: 90 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: 'pvc-chonker.io/max-size: 5Gi is below the current size 10Gi',
  },
  // Cooldown
  {
    name: 'in cooldown',
    pvc: { annotations: { 'pvc-chonker.io/last-expansion': minutesAgo(5) } },
    usage: { usedPercent: 90 },
    action: 'skip',
    reason: 'cooldown',
    detail: '10m left',
  },
  {
    name: 'cooldown over',
    pvc: { annotations: { 'pvc-chonker.io/last-expansion': minutesAgo(15) } },
    usage: { usedPercent: 90 },
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'custom cooldown 1d',
    pvc: {
      annotations: {
        'pvc-chonker.io/last-expansion': minutesAgo(600),
        'pvc-chonker.io/cooldown': '1d',
      },
    },
    usage: { usedPercent: 90 },
    action: 'skip',
    reason: 'cooldown',
  },
  {
    name: 'last expansion in the future (clock skew) counts as cooldown',
    pvc: { annotations: { 'pvc-chonker.io/last-expansion': minutesAgo(-30) } },
    usage: { usedPercent: 90 },
    action: 'skip',
    reason: 'cooldown',
  },
  {
    name: 'cooldown is not reported below threshold',
    pvc: { annotations: { 'pvc-chonker.io/last-expansion': minutesAgo(5) } },
    usage: { usedPercent: 20 },
    action: 'skip',
    reason: 'below-threshold',
  },
  // Resize state
  {
    name: 'request above capacity: resize in flight',
    pvc: { request: '11Gi' },
    usage: { usedPercent: 95 },
    action: 'skip',
    reason: 'resize-in-progress',
  },
  {
    name: 'Resizing condition',
    pvc: { conditions: ['Resizing'] },
    usage: { usedPercent: 95 },
    action: 'skip',
    reason: 'resize-in-progress',
  },
  {
    name: 'FileSystemResizePending condition',
    pvc: { conditions: ['FileSystemResizePending'] },
    usage: { usedPercent: 95 },
    action: 'skip',
    reason: 'resize-in-progress',
  },
  {
    name: 'NodeResizePending status',
    pvc: { allocatedResourceStatus: 'NodeResizePending' },
    usage: { usedPercent: 95 },
    action: 'skip',
    reason: 'resize-in-progress',
  },
  {
    name: 'infeasible resize is a failure',
    pvc: { request: '11Gi', allocatedResourceStatus: 'ControllerResizeInfeasible' },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'resize-failed',
    warn: true,
  },
  {
    name: 'NodeResizeError condition is a failure',
    pvc: { conditions: ['NodeResizeError'] },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'resize-failed',
  },
  // Not expandable
  {
    name: 'class without allowVolumeExpansion',
    allowExpansion: false,
    usage: { usedPercent: 95 },
    action: 'skip',
    reason: 'expansion-not-allowed',
    warn: true,
  },
  { name: 'pending claim', pvc: { phase: 'Pending' }, action: 'skip', reason: 'not-bound' },
  {
    name: 'block mode',
    pvc: { volumeMode: 'Block' },
    stats: { kind: 'unavailable', detail: 'n/a' },
    action: 'skip',
    reason: 'block-mode',
  },
  {
    name: 'no stats',
    stats: { kind: 'unavailable', detail: 'node n1 timed out' },
    action: 'skip',
    reason: 'metrics-unavailable',
    detail: 'node n1 timed out',
  },
  {
    name: 'zero capacity stats',
    stats: {
      kind: 'found',
      stats: {
        capacityBytes: 0n,
        availableBytes: 0n,
        usedBytes: 0n,
        inodes: undefined,
        inodesUsed: undefined,
        inodesFree: undefined,
      },
    },
    action: 'skip',
    reason: 'metrics-unavailable',
  },
  // Stale stats: kubelet capacity more than max(4%, 512Mi) below status.capacity.
  {
    name: 'kubelet still sees the old size',
    pvc: { size: '11Gi' },
    usage: { capacity: '10Gi', usedPercent: 95 },
    action: 'skip',
    reason: 'stats-stale',
  },
  {
    name: 'filesystem overhead within 512Mi is not stale',
    pvc: { size: '10Gi' },
    usage: { capacity: '9800Mi', usedPercent: 95 },
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'large volume: 4% margin',
    pvc: { size: '1000Gi' },
    usage: { capacity: '970Gi', usedPercent: 95 },
    action: 'expand',
    reason: 'threshold-reached',
  },
  {
    name: 'large volume beyond 4% is stale',
    pvc: { size: '1000Gi' },
    usage: { capacity: '950Gi', usedPercent: 95 },
    action: 'skip',
    reason: 'stats-stale',
  },
  // Bad annotations
  {
    name: 'threshold "eighty"',
    pvc: { annotations: { 'pvc-chonker.io/threshold': 'eighty' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: 'pvc-chonker.io/threshold: "eighty"',
    warn: true,
  },
  {
    name: 'threshold 150%',
    pvc: { annotations: { 'pvc-chonker.io/threshold': '150%' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: '"150%" is above 100%',
  },
  {
    name: 'increase -5%',
    pvc: { annotations: { 'pvc-chonker.io/increase': '-5%' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: 'pvc-chonker.io/increase',
  },
  {
    name: 'max-size 10Gx',
    pvc: { annotations: { 'pvc-chonker.io/max-size': '10Gx' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: '"10Gx"',
  },
  {
    name: 'cooldown "soon"',
    pvc: { annotations: { 'pvc-chonker.io/cooldown': 'soon' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
  },
  {
    name: 'last-expansion not a time',
    pvc: { annotations: { 'pvc-chonker.io/last-expansion': 'yesterday' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: 'pvc-chonker.io/last-expansion',
  },
  {
    name: 'history not JSON',
    pvc: { annotations: { 'pvc-chonker.io/expansion-history': '{oops' } },
    usage: { usedPercent: 95 },
    action: 'error',
    reason: 'invalid-annotation',
    detail: 'is not JSON: ',
  },
  {
    name: 'unknown key is only warned about',
    pvc: { annotations: { 'pvc-chonker.io/treshold': '90%' } },
    usage: { usedPercent: 95 },
    action: 'expand',
    reason: 'threshold-reached',
  },
];

describe('decide', () => {
  it.each(cases)('$name', (c) => {
    const decision = decide(input(c));

    expect(decision.action).toBe(c.action);
    expect(decision.reason).toBe(c.reason);
    if (c.newSize !== undefined) expect(formatQuantity(decision.toBytes ?? 0n)).toBe(c.newSize);
    if (c.detail !== undefined) expect(decision.detail).toContain(c.detail);
    if (c.warn !== undefined) expect(decision.warn).toBe(c.warn);
    if (c.action === 'expand')
      expect(decision.toBytes ?? 0n).toBeGreaterThan(decision.fromBytes ?? 0n);
  });

  it('reports the thresholds crossed even when held back by cooldown', () => {
    const decision = decide(
      input({
        name: '',
        pvc: { annotations: { 'pvc-chonker.io/last-expansion': minutesAgo(1) } },
        usage: { usedPercent: 90, inodes: 100, inodesUsedPercent: 90 },
        action: 'skip',
        reason: 'cooldown',
      }),
    );

    expect(decision.thresholdsReached).toEqual(['storage', 'inodes']);
    expect(decision.usedRatio).toBeCloseTo(0.9, 6);
    expect(decision.inodesUsedRatio).toBeCloseTo(0.9, 6);
  });

  it('marks a failed resize unhealthy', () => {
    const decision = decide(
      input({
        name: '',
        pvc: { conditions: ['ControllerResizeError'] },
        action: 'error',
        reason: 'resize-failed',
      }),
    );

    expect(decision.unhealthy).toBe(true);
  });

  it('is exact past 2^53 bytes', () => {
    // 8 PiB + 1 byte: 10% rounds up and the result is a whole Gi.
    const size = (8n << 50n) + 1n;
    const claim = { ...pvc(), capacityBytes: size, requestBytes: size };
    const stats: StatsLookup = {
      kind: 'found',
      stats: {
        capacityBytes: size,
        availableBytes: size / 10n,
        usedBytes: size - size / 10n,
        inodes: undefined,
        inodesUsed: undefined,
        inodesFree: undefined,
      },
    };

    const decision = decide({
      pvc: claim,
      storageClass: storageClass(),
      stats,
      layers: [],
      now: NOW,
    });

    expect(decision.toBytes).toBe(((size + (size + 9n) / 10n + (1n << 30n) - 1n) >> 30n) << 30n);
  });
});
