import { describe, expect, it } from 'vitest';
import {
  choosePolicy,
  parsePvcPolicy,
  policyStatus,
  type PvcPolicy,
} from '../../src/core/pvc-policy.js';
import { describeFieldProblem } from '../../src/core/describe.js';
import { pvc } from '../builders/snapshots.js';

function policy(name: string, spec: Record<string, unknown>, namespace = 'db'): PvcPolicy {
  const parsed = parsePvcPolicy({
    metadata: { name, namespace, generation: 3, resourceVersion: '9' },
    spec,
  });
  if (parsed === undefined) throw new Error('no policy');
  return parsed;
}

const claim = { ...pvc({ namespace: 'db' }), labels: { workload: 'database' } };
const all = { selector: {} };

describe('parsePvcPolicy', () => {
  it('reads the roadmap example into typed values', () => {
    const parsed = policy('database-policy', {
      selector: { matchLabels: { workload: 'database' } },
      template: {
        initialSize: '100Gi',
        threshold: '85%',
        increase: '25%',
        maxSize: '2000Gi',
        minIncrease: '50Gi',
        provider: 'aws',
        providerConfig: { volumeType: 'gp3', iops: 3000 },
      },
    });

    expect(parsed.problems).toEqual([]);
    expect(parsed.priority).toBe(0);
    expect(parsed.enabled).toBe(true);
    expect(parsed.layer.source).toBe('policy:db/database-policy');
    expect(parsed.layer.values.maxSizeBytes).toBe(2000n * 1024n ** 3n);
    expect(parsed.layer.values.threshold).toMatchObject({ kind: 'percent' });
    expect(parsed.extras).toMatchObject({ provider: 'aws', volumeType: 'gp3', iops: 3000 });
    expect(parsed.extras.initialSizeBytes).toBe(100n * 1024n ** 3n);
  });

  it.each([
    ['threshold', { template: { threshold: 'eighty' } }, 'spec.template.threshold', '"eighty"'],
    ['cooldown', { template: { cooldown: '5 minutes' } }, 'spec.template.cooldown', '"5 minutes"'],
    ['maxSize', { template: { maxSize: '0' } }, 'spec.template.maxSize', '"0"'],
    ['increase type', { template: { increase: 10 } }, 'spec.template.increase', '10'],
    ['provider', { template: { provider: 'ibm' } }, 'spec.template.provider', '"ibm"'],
    [
      'iops',
      { template: { providerConfig: { iops: -3 } } },
      'spec.template.providerConfig.iops',
      '-3',
    ],
    ['priority', { priority: 'high' }, 'spec.priority', '"high"'],
    ['enabled', { enabled: 'yes' }, 'spec.enabled', '"yes"'],
    [
      'selector',
      { selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      'spec.selector.matchExpressions[0].values',
      '<absent>',
    ],
  ])('an invalid %s is a problem naming the field and the value', (_name, spec, field, value) => {
    const [problem] = policy('p', spec).problems;

    expect(problem).toMatchObject({ field, value });
    expect(describeFieldProblem(problem ?? { field: '', value: '', message: '' })).toContain(field);
  });

  it('writes status with the Valid condition naming the bad field', () => {
    const status = policyStatus(
      policy('p', { template: { threshold: 'eighty' } }),
      2,
      new Date('2026-01-01T00:00:00Z'),
    );

    expect(status).toMatchObject({
      observedGeneration: 3,
      matchedPVCs: 2,
      lastEvaluated: '2026-01-01T00:00:00Z',
    });
    expect(status['conditions']).toEqual([
      expect.objectContaining({
        type: 'Valid',
        status: 'False',
        reason: 'InvalidSpec',
        message: expect.stringContaining('spec.template.threshold') as unknown,
      }),
    ]);
  });
});

describe('choosePolicy', () => {
  it.each([
    ['no policy', [], undefined, []],
    ['one match', [policy('a', all)], 'a', ['a']],
    [
      'higher priority wins',
      [policy('a', { ...all, priority: 1 }), policy('b', { ...all, priority: 5 })],
      'b',
      ['b', 'a'],
    ],
    [
      'same priority: first name wins',
      [policy('zeta', all), policy('alpha', all)],
      'alpha',
      ['alpha', 'zeta'],
    ],
    ['disabled policies do not select', [policy('a', { ...all, enabled: false })], undefined, []],
    ['other namespaces do not select', [policy('a', all, 'web')], undefined, []],
    ['a null selector selects nothing', [policy('a', {})], undefined, []],
    [
      'selector mismatch',
      [policy('a', { selector: { matchLabels: { workload: 'cache' } } })],
      undefined,
      [],
    ],
    ['storage class listed', [policy('a', { ...all, storageClassNames: ['gp3'] })], 'a', ['a']],
    [
      'storage class not listed',
      [policy('a', { ...all, storageClassNames: ['io2'] })],
      undefined,
      [],
    ],
    [
      'an invalid policy still selects',
      [policy('a', { ...all, template: { threshold: 'x' } })],
      'a',
      ['a'],
    ],
  ])('%s', (_name, policies, chosen, matched) => {
    const choice = choosePolicy(policies, claim);

    expect(choice.chosen?.name).toBe(chosen);
    expect(choice.matched.map((p) => p.name)).toEqual(matched);
  });
});
