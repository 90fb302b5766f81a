import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  choosePolicy,
  indexPolicies,
  parsePvcPolicy,
  policyCandidates,
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

  it.each([
    ['max below initial', { initialSize: '100Gi', maxSize: '50Gi' }, '"50Gi"', '"100Gi"'],
    ['across units', { initialSize: '1Ti', maxSize: '1000Gi' }, '"1000Gi"', '"1Ti"'],
    ['one byte below', { initialSize: '1Gi', maxSize: '1073741823' }, '"1073741823"', '"1Gi"'],
  ])('maxSize below initialSize is invalid (%s)', (_name, template, max, initial) => {
    const parsed = policy('p', { ...all, template });

    expect(parsed.problems).toEqual([
      {
        field: 'spec.template.maxSize',
        value: max,
        message: `is below spec.template.initialSize ${initial}`,
      },
    ]);
    expect(describeFieldProblem(parsed.problems[0] ?? { field: '', value: '', message: '' })).toBe(
      `spec.template.maxSize: ${max} is below spec.template.initialSize ${initial}`,
    );
  });

  it.each([
    ['equal', { initialSize: '100Gi', maxSize: '100Gi' }],
    ['above', { initialSize: '100Gi', maxSize: '2000Gi' }],
    ['no maxSize', { initialSize: '100Gi' }],
    ['no initialSize', { maxSize: '1Gi' }],
    // The unparsable value is the problem reported, not a comparison with it.
    ['unparsable initialSize', { initialSize: 'big', maxSize: '1Gi' }],
  ])('maxSize and initialSize: %s is no size problem', (_name, template) => {
    const parsed = policy('p', { ...all, template });

    expect(parsed.problems.filter((p) => p.message.includes('initialSize'))).toEqual([]);
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

describe('indexPolicies and policyCandidates', () => {
  const key = fc.constantFrom('app', 'tier', 'team');
  const value = fc.constantFrom('a', 'b', 'c');
  const labels = fc.dictionary(key, value, { maxKeys: 3 });
  const selector = fc.oneof(
    fc.record({ matchLabels: labels }),
    fc.record({
      matchLabels: labels,
      matchExpressions: fc.constant([{ key: 'tier', operator: 'In', values: ['a', 'b'] }]),
    }),
    fc.constant({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }),
    fc.constant('not a selector'),
  );
  const policies = fc.array(
    fc.record({
      priority: fc.integer({ min: 0, max: 3 }),
      selector,
      enabled: fc.boolean(),
    }),
    { maxLength: 12 },
  );

  it('chooses from the candidates exactly as from every policy', () => {
    fc.assert(
      fc.property(policies, labels, (specs, pvcLabels) => {
        const parsed = specs.map((spec, i) => policy(`p-${i}`, spec));
        const target = { ...pvc({ namespace: 'db' }), labels: pvcLabels };

        const fromIndex = choosePolicy(policyCandidates(indexPolicies(parsed), pvcLabels), target);
        const fromAll = choosePolicy(parsed, target);

        expect(fromIndex.matched.map((p) => p.name)).toEqual(fromAll.matched.map((p) => p.name));
      }),
    );
  });

  it('files a policy with matchLabels under one pair and checks it only for PVCs with it', () => {
    const index = indexPolicies([
      policy('by-app', { selector: { matchLabels: { app: 'pg', tier: 'db' } } }),
      policy('every', all),
    ]);

    expect(policyCandidates(index, { app: 'redis' }).map((p) => p.name)).toEqual(['every']);
    expect(policyCandidates(index, { app: 'pg' }).map((p) => p.name)).toEqual(['every', 'by-app']);
  });
});
