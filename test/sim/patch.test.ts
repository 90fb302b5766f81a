// The strategic merge approximation: lists replaced, except the merge-keyed ones (webhooks by name).
import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../sim/patch.js';

const hook = (name: string, path: string) => ({
  name,
  sideEffects: 'None',
  clientConfig: { service: { name: 'svc', path } },
  rules: [{ operations: ['CREATE'], scope: '*' }],
});
const config = { metadata: { name: 'c' }, webhooks: [hook('a', '/a'), hook('b', '/b')] };

describe('strategic merge patch', () => {
  it.each([
    [
      'merges a webhook by name, keeping its other fields',
      { webhooks: [{ name: 'b', rules: [{ operations: ['UPDATE'] }] }] },
      [hook('a', '/a'), { ...hook('b', '/b'), rules: [{ operations: ['UPDATE'] }] }],
    ],
    [
      'appends a webhook of a new name',
      { webhooks: [{ name: 'c', sideEffects: 'None' }] },
      [hook('a', '/a'), hook('b', '/b'), { name: 'c', sideEffects: 'None' }],
    ],
    [
      'deletes a webhook named with $patch: delete',
      { webhooks: [{ name: 'a', $patch: 'delete' }] },
      [hook('b', '/b')],
    ],
    [
      'orders the webhooks by $setElementOrder',
      { '$setElementOrder/webhooks': [{ name: 'b' }, { name: 'a' }], webhooks: [] },
      [hook('b', '/b'), hook('a', '/a')],
    ],
  ])('%s', (_, patch, webhooks) => {
    expect(applyPatch('strategic', structuredClone(config), patch)).toEqual({
      metadata: { name: 'c' },
      webhooks,
    });
  });

  it('replaces other lists whole', () => {
    const patched = applyPatch('strategic', { spec: { items: [1, 2] } }, { spec: { items: [3] } });

    expect(patched).toEqual({ spec: { items: [3] } });
  });
});
