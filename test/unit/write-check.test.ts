import { describe, expect, it } from 'vitest';
import { expansionApplied, guardedPatchApplied, holdsPatch } from '../../src/kube/write-check.js';
import type { PvcSnapshot } from '../../src/core/pvc.js';
import { pvc } from '../builders/snapshots.js';

describe('holdsPatch', () => {
  it.each([
    ['equal leaves', { a: 1, b: 'x' }, { a: 1, b: 'x', c: true }, true],
    ['a different leaf', { a: 1 }, { a: 2 }, false],
    ['nested objects, field by field', { s: { n: 1 } }, { s: { n: 1, m: 2 } }, true],
    ['a missing object', { s: { n: 1 } }, {}, false],
    ['null removes a field: removed', { a: null }, { b: 1 }, true],
    ['null removes a field: still there', { a: null }, { a: 1 }, false],
    ['arrays are values', { l: [1, 2] }, { l: [1, 2] }, true],
    ['arrays differ', { l: [1, 2] }, { l: [2, 1] }, false],
    ['undefined is not sent', { a: undefined, b: 1 }, { b: 1 }, true],
  ])('%s', (_case, patch, object, expected) => {
    expect(holdsPatch(patch, object)).toBe(expected);
  });
});

describe('guardedPatchApplied', () => {
  const patch = { metadata: { resourceVersion: '5' }, status: { matchedPVCs: 3 } };

  it.each([
    [
      'moved past the guard and holds the patch',
      { metadata: { resourceVersion: '6' }, status: { matchedPVCs: 3 } },
      true,
    ],
    [
      'still at the guard',
      { metadata: { resourceVersion: '5' }, status: { matchedPVCs: 3 } },
      false,
    ],
    [
      'moved, by another writer',
      { metadata: { resourceVersion: '6' }, status: { matchedPVCs: 2 } },
      false,
    ],
    ['gone', undefined, false],
  ])('%s', (_case, object, expected) => {
    expect(guardedPatchApplied(patch, object)).toBe(expected);
  });
});

describe('expansionApplied', () => {
  const written = {
    resourceVersion: '7',
    requestBytes: 11n << 30n,
    annotations: { 'pvc-chonker.io/last-expansion': '2026-11-26T12:00:00Z' },
  };
  const moved = (annotations: Record<string, string> = {}): PvcSnapshot => ({
    ...pvc({ size: '10Gi', request: '11Gi', annotations }),
    resourceVersion: '8',
  });

  it.each([
    ['the new size and the state annotation', moved(written.annotations), true],
    ['unchanged (still at the guard)', pvc({ size: '10Gi' }), false],
    ['the size without our state: another writer', moved(), false],
    ['deleted', undefined, false],
  ])('%s', (_case, snapshot, expected) => {
    expect(expansionApplied(written, snapshot)).toBe(expected);
  });
});
