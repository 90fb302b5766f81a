/**
 * Property tests: arbitrary annotation values, extreme quantities and garbage state never make
 * the core throw, shrink a volume, overshoot max-size, or skip without naming the bad value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAnnotations } from '../../src/core/annotations.js';
import { decide } from '../../src/core/decision.js';
import type { StatsLookup } from '../../src/core/pvc.js';
import { formatQuantity, parseQuantity } from '../../src/core/quantity.js';
import { pvc, storageClass } from '../builders/snapshots.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const KEYS = [
  'threshold',
  'inodes-threshold',
  'increase',
  'min-increase',
  'max-size',
  'cooldown',
  'last-expansion',
  'expansion-history',
];

const quantityText = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '8Ei',
    '8Ei-1',
    '1e18',
    '9.2e18',
    '1.5Gi',
    '100m',
    '0.001',
    '1E',
    '-0',
    '+1Ki',
    '.5',
    '1e-9',
  ),
  fc
    .tuple(
      fc.nat({ max: 1_000_000 }),
      fc.constantFrom(
        '',
        'Ki',
        'Mi',
        'Gi',
        'Ti',
        'Pi',
        'Ei',
        'k',
        'M',
        'G',
        'T',
        'P',
        'E',
        'm',
        'e3',
        'e-3',
      ),
    )
    .map(([n, s]) => `${n}${s}`),
);
const annotationValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  quantityText,
  fc.constantFrom(
    '80%',
    '-5%',
    '150%',
    '0%',
    '99.999%',
    'eighty',
    '1d',
    '[]',
    '{}',
    'null',
    '2026-11-26T11:00:00Z',
  ),
);

const statsArb: fc.Arbitrary<StatsLookup> = fc.oneof(
  fc.constant<StatsLookup>({ kind: 'unavailable', detail: 'down' }),
  fc
    .record({
      capacity: fc.bigInt({ min: -10n, max: 1n << 62n }),
      available: fc.bigInt({ min: -10n, max: 1n << 62n }),
      inodes: fc.option(fc.bigInt({ min: 0n, max: 1n << 40n })),
      inodesUsed: fc.option(fc.bigInt({ min: 0n, max: 1n << 40n })),
    })
    .map(({ capacity, available, inodes, inodesUsed }) => ({
      kind: 'found' as const,
      stats: {
        capacityBytes: capacity,
        availableBytes: available,
        usedBytes: capacity - available,
        inodes: inodes ?? undefined,
        inodesUsed: inodesUsed ?? undefined,
        inodesFree: undefined,
      },
    })),
);

describe('properties', () => {
  it('parseQuantity never throws, and what it accepts round-trips exactly', () => {
    fc.assert(
      fc.property(fc.oneof(quantityText, fc.string()), (text) => {
        const parsed = parseQuantity(text);
        if (parsed.ok) {
          expect(parsed.value).toBeGreaterThanOrEqual(0n);
          expect(parseQuantity(formatQuantity(parsed.value))).toEqual(parsed);
        } else {
          expect(parsed.error).toContain(JSON.stringify(text));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseAnnotations never throws and names every bad key', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(...KEYS).map((k) => `pvc-chonker.io/${k}`),
          annotationValue,
        ),
        (annotations) => {
          const parsed = parseAnnotations(annotations);
          for (const problem of parsed.problems)
            expect(Object.keys(annotations)).toContain(problem.key);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decide never throws, never shrinks, never overshoots max-size, and explains bad values', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...KEYS), annotationValue),
        fc.bigInt({ min: 1n, max: 1n << 62n }),
        statsArb,
        (values, size, stats) => {
          const annotations = Object.fromEntries(
            Object.entries(values).map(([k, v]) => [`pvc-chonker.io/${k}`, v]),
          );
          const claim = { ...pvc({ annotations }), capacityBytes: size, requestBytes: size };

          const decision = decide({
            pvc: claim,
            storageClass: storageClass(),
            stats,
            layers: [],
            now: NOW,
          });

          if (decision.action === 'expand') {
            expect(decision.toBytes).toBeGreaterThan(size);
            if (decision.maxSizeBytes !== undefined)
              expect(decision.toBytes).toBeLessThanOrEqual(decision.maxSizeBytes);
          }
          if (decision.reason === 'invalid-annotation')
            expect(decision.detail).toMatch(/^pvc-chonker\.io\/[a-z-]+: /);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a huge history annotation is refused, not parsed', () => {
    const history = JSON.stringify(
      Array.from({ length: 5000 }, () => ({
        time: '2026-01-01T00:00:00Z',
        from: '1Gi',
        to: '2Gi',
        reason: 'x',
      })),
    );

    const parsed = parseAnnotations({ 'pvc-chonker.io/expansion-history': history });

    expect(parsed.problems[0]?.key).toBe('pvc-chonker.io/expansion-history');
  });
});
