import { describe, expect, it } from 'vitest';
import { parseLabelSelector, selectorMatches } from '../../src/core/selector.js';

function selector(json: unknown) {
  const parsed = parseLabelSelector(json, 'spec.selector');
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

const LABELS = { app: 'db', tier: 'gold' };

describe('selectorMatches', () => {
  it.each([
    ['an empty selector matches everything', {}, LABELS, true],
    ['an empty selector matches no labels too', {}, {}, true],
    ['matchLabels equal', { matchLabels: { app: 'db' } }, LABELS, true],
    ['matchLabels differ', { matchLabels: { app: 'web' } }, LABELS, false],
    ['matchLabels missing key', { matchLabels: { zone: 'a' } }, LABELS, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] },
      LABELS,
      true,
    ],
    [
      'In without the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['bronze'] }] },
      LABELS,
      false,
    ],
    [
      'In without the key',
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      LABELS,
      false,
    ],
    [
      'NotIn with another value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['bronze'] }] },
      LABELS,
      true,
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] },
      LABELS,
      false,
    ],
    [
      'NotIn without the key matches',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      LABELS,
      true,
    ],
    ['Exists present', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, LABELS, true],
    ['Exists absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, LABELS, false],
    [
      'Exists with an empty value',
      { matchExpressions: [{ key: 'zone', operator: 'Exists' }] },
      { zone: '' },
      true,
    ],
    [
      'DoesNotExist absent',
      { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] },
      LABELS,
      true,
    ],
    [
      'DoesNotExist present',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      LABELS,
      false,
    ],
    [
      'labels and expressions are ANDed',
      {
        matchLabels: { app: 'db' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['silver'] }],
      },
      LABELS,
      false,
    ],
  ])('%s', (_name, json, labels, expected) => {
    expect(selectorMatches(selector(json), labels)).toBe(expected);
  });

  it('an absent selector matches nothing', () => {
    expect(selector(undefined)).toBeUndefined();
    expect(selector(null)).toBeUndefined();
    expect(selectorMatches(undefined, LABELS)).toBe(false);
    expect(selectorMatches(undefined, {})).toBe(false);
  });
});

describe('parseLabelSelector', () => {
  it.each([
    ['not an object', 'app=db', 'spec.selector', 'must be a label selector object'],
    [
      'matchLabels value not a string',
      { matchLabels: { app: 1 } },
      'spec.selector.matchLabels.app',
      'must be a string',
    ],
    [
      'unknown operator',
      { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] },
      'spec.selector.matchExpressions[0].operator',
      'must be one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      'spec.selector.matchExpressions[0].values',
      'must be non-empty when operator is In',
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'spec.selector.matchExpressions[0].values',
      'must be empty when operator is Exists',
    ],
    [
      'empty key',
      { matchExpressions: [{ key: '', operator: 'Exists' }] },
      'spec.selector.matchExpressions[0].key',
      'must be a non-empty string',
    ],
  ])('%s is an error naming the field', (_name, json, field, message) => {
    const parsed = parseLabelSelector(json, 'spec.selector');

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatchObject({ field, message });
  });
});
