import { describe, expect, it } from 'vitest';
import {
  evaluateModificationRule,
  knownModificationTimes,
  type EbsModification,
} from '../../src/providers/aws-rule.js';
import type { AwsModificationRule } from '../../src/providers/types.js';
import { history, hoursBefore } from './builders.js';

const now = new Date('2025-06-01T12:00:00Z');
const H = 3_600_000;

function mod(state: string, hoursAgo: number, progress?: number): EbsModification {
  return {
    volumeId: 'vol-1',
    state,
    startTime: hoursBefore(now, hoursAgo),
    endTime: undefined,
    progress,
    targetSizeGib: 120,
  };
}

interface Row {
  name: string;
  rule: AwsModificationRule;
  modification: EbsModification | undefined;
  historyHours: number[];
  allowed: boolean;
  /** Hours from now, or null for "unknown". */
  retryInHours?: number | null;
}

const rows: Row[] = [
  {
    name: 'never modified',
    rule: 'strict',
    modification: undefined,
    historyHours: [],
    allowed: true,
  },
  {
    name: 'modifying, 1 h ago (strict)',
    rule: 'strict',
    modification: mod('modifying', 1),
    historyHours: [],
    allowed: false,
    retryInHours: 5,
  },
  {
    name: 'modifying, 1 h ago (current)',
    rule: 'current',
    modification: mod('modifying', 1),
    historyHours: [],
    allowed: false,
    retryInHours: null,
  },
  {
    name: 'modifying, 1 h ago (legacy)',
    rule: 'legacy',
    modification: mod('modifying', 1),
    historyHours: [],
    allowed: false,
    retryInHours: 5,
  },
  {
    name: 'optimizing, 8 h ago (strict)',
    rule: 'strict',
    modification: mod('optimizing', 8, 60),
    historyHours: [],
    allowed: false,
    retryInHours: null,
  },
  {
    name: 'optimizing, 8 h ago (legacy)',
    rule: 'legacy',
    modification: mod('optimizing', 8, 60),
    historyHours: [],
    allowed: true,
  },
  {
    name: 'completed 2 h ago (strict)',
    rule: 'strict',
    modification: mod('completed', 2),
    historyHours: [],
    allowed: false,
    retryInHours: 4,
  },
  {
    name: 'completed 2 h ago (current)',
    rule: 'current',
    modification: mod('completed', 2),
    historyHours: [],
    allowed: true,
  },
  {
    name: 'completed 2 h ago (legacy)',
    rule: 'legacy',
    modification: mod('completed', 2),
    historyHours: [],
    allowed: false,
    retryInHours: 4,
  },
  {
    name: 'completed 7 h ago (strict)',
    rule: 'strict',
    modification: mod('completed', 7),
    historyHours: [],
    allowed: true,
  },
  {
    name: 'history 3 h ago, API silent',
    rule: 'strict',
    modification: undefined,
    historyHours: [3],
    allowed: false,
    retryInHours: 3,
  },
  {
    name: '4 in 24 h (strict)',
    rule: 'strict',
    modification: mod('completed', 7),
    historyHours: [22, 15, 8],
    allowed: false,
    retryInHours: 2,
  },
  {
    name: '4 in 24 h (current)',
    rule: 'current',
    modification: mod('completed', 7),
    historyHours: [22, 15, 8],
    allowed: false,
    retryInHours: 2,
  },
  {
    name: '4 in 24 h (legacy: only the 6 h gap counts)',
    rule: 'legacy',
    modification: mod('completed', 7),
    historyHours: [22, 15, 8],
    allowed: true,
  },
  {
    name: '3 in 24 h and one older (current)',
    rule: 'current',
    modification: mod('completed', 7),
    historyHours: [30, 15, 8],
    allowed: true,
  },
  {
    name: 'history entry matching the API modification counts once',
    rule: 'current',
    modification: mod('completed', 7),
    historyHours: [22, 15, 7.1],
    allowed: true,
  },
];

describe('evaluateModificationRule', () => {
  it.each(rows)('$name', ({ rule, modification, historyHours, allowed, retryInHours }) => {
    const outcome = evaluateModificationRule(
      { rule, volumeId: 'vol-1', modification, history: history(...historyHours)(now) },
      now,
    );

    expect(outcome.allowed).toBe(allowed);
    if (!outcome.allowed && retryInHours !== undefined) {
      expect(outcome.retryAt?.getTime()).toBe(
        retryInHours === null ? undefined : now.getTime() + retryInHours * H,
      );
    }
  });

  it('warns after a failed modification', () => {
    const outcome = evaluateModificationRule(
      { rule: 'strict', volumeId: 'vol-1', modification: mod('failed', 30), history: [] },
      now,
    );

    expect(outcome).toEqual({
      allowed: true,
      warnings: ['the last modification of EBS volume vol-1 failed'],
    });
  });
});

describe('knownModificationTimes', () => {
  it('adds the API modification only when no history entry is within 15 minutes', () => {
    expect(knownModificationTimes(history(5, 2)(now), mod('completed', 2.1))).toHaveLength(2);
    expect(knownModificationTimes(history(5, 2)(now), mod('completed', 1))).toHaveLength(3);
  });
});
