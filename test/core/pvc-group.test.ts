import { describe, expect, it } from 'vitest';
import { decide, type Decision } from '../../src/core/decision.js';
import { formatQuantity } from '../../src/core/quantity.js';
import {
  coordinateGroup,
  groupOf,
  groupStatusAfter,
  groupTarget,
  parsePvcGroup,
  type PvcGroup,
} from '../../src/core/pvc-group.js';
import { parseSettingsLayer } from '../../src/core/settings.js';
import { bytes, pvc, storageClass, usage, type PvcSpec } from '../builders/snapshots.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const GiB = 1024n ** 3n;

function group(spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): PvcGroup {
  const parsed = parsePvcGroup({
    metadata: { name: 'es', generation: 2, resourceVersion: '5' },
    spec,
    status,
  });
  if (parsed === undefined) throw new Error('no group');
  return parsed;
}

describe('groupTarget', () => {
  it.each([
    ['no members', [], undefined, {}],
    [
      'the largest next size, each member capped by its own max-size and cloud limit',
      [
        { key: 'a', nextBytes: 11n * GiB, maxSizeBytes: undefined },
        { key: 'b', nextBytes: 22n * GiB, maxSizeBytes: undefined },
        { key: 'c', nextBytes: 11n * GiB, maxSizeBytes: 15n * GiB },
        { key: 'd', nextBytes: 11n * GiB, maxSizeBytes: undefined, cloudLimitBytes: 16n * GiB },
        { key: 'e', nextBytes: 11n * GiB, maxSizeBytes: 30n * GiB, cloudLimitBytes: 20n * GiB },
      ],
      22n * GiB,
      { a: '22Gi', b: '22Gi', c: '15Gi', d: '16Gi', e: '20Gi' },
    ],
  ])('%s', (_name, members, targetBytes, requests) => {
    const target = groupTarget(members);

    expect(target?.targetBytes).toBe(targetBytes);
    expect(
      Object.fromEntries(
        [...(target?.requests ?? new Map<string, bigint>())].map(([k, v]) => [
          k,
          formatQuantity(v),
        ]),
      ),
    ).toEqual(requests);
  });
});

describe('parsePvcGroup and membership', () => {
  it('defaults to largest and reads members, selector and status', () => {
    const g = group(
      {
        members: [{ namespace: 'elastic', name: 'data-0' }],
        selector: { matchLabels: { app: 'es' } },
        cooldown: '1h',
      },
      {
        currentSize: '20Gi',
        lastExpansion: '2026-11-26T10:00:00Z',
        expansionHistory: [
          {
            timestamp: '2026-11-26T10:00:00Z',
            from: '10Gi',
            to: '20Gi',
            trigger: 'elastic/data-0',
          },
        ],
      },
    );

    expect(g).toMatchObject({ coordinationPolicy: 'largest', cooldownMs: 3_600_000, problems: [] });
    expect(g.status.currentSizeBytes).toBe(20n * GiB);
    expect(g.status.history).toHaveLength(1);
  });

  it.each([
    ['a listed member', { namespace: 'elastic', name: 'data-0' }, true],
    [
      'selected by label in any namespace',
      { namespace: 'other', name: 'x', labels: { app: 'es' } },
      true,
    ],
    [
      'annotated with the group name',
      { namespace: 'other', name: 'y', annotations: { 'pvc-chonker.io/group': 'es' } },
      true,
    ],
    [
      'annotated with another group',
      { namespace: 'other', name: 'y', annotations: { 'pvc-chonker.io/group': 'kafka' } },
      false,
    ],
    ['unrelated', { namespace: 'elastic', name: 'data-9' }, false],
  ] as [
    string,
    {
      namespace: string;
      name: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    },
    boolean,
  ][])('%s', (_name, spec, member) => {
    const g = group({
      members: [{ namespace: 'elastic', name: 'data-0' }],
      selector: { matchLabels: { app: 'es' } },
    });
    const claim = {
      ...pvc({ namespace: spec.namespace, name: spec.name, annotations: spec.annotations ?? {} }),
      labels: spec.labels ?? {},
    };

    expect(groupOf([g], claim)?.name).toBe(member ? 'es' : undefined);
  });

  it.each([
    ['coordinationPolicy', { coordinationPolicy: 'smallest' }, 'spec.coordinationPolicy'],
    ['cooldown', { cooldown: 'soon' }, 'spec.cooldown'],
    ['members', { members: [{ name: 'x' }] }, 'spec.members[0]'],
  ])('an invalid %s is a problem naming the field', (_name, spec, field) => {
    expect(group(spec).problems[0]?.field).toBe(field);
  });
});

interface MemberSpec extends PvcSpec {
  usedPercent?: number;
}

function member(spec: MemberSpec): { pvc: ReturnType<typeof pvc>; decision: Decision } {
  const claim = pvc({ namespace: 'elastic', ...spec });
  const layer = parseSettingsLayer('flag', {});
  if (!layer.ok) throw new Error('bad layer');
  const decision = decide({
    pvc: claim,
    storageClass: storageClass(true),
    stats: usage({ usedPercent: spec.usedPercent ?? 10 }, spec.size ?? '10Gi'),
    layers: [layer.value],
    now: NOW,
  });
  return { pvc: claim, decision };
}

function summary(decisions: readonly Decision[]): string[] {
  return decisions.map(
    (d) => `${d.action} ${d.reason} ${d.toBytes === undefined ? '-' : formatQuantity(d.toBytes)}`,
  );
}

describe('coordinateGroup', () => {
  it.each([
    {
      name: 'one member over threshold: every member grows to the largest next size',
      group: group(),
      members: [
        { name: 'a', size: '10Gi', usedPercent: 90 },
        { name: 'b', size: '20Gi' },
        { name: 'c', size: '20Gi' },
      ],
      expected: [
        'expand threshold-reached 22Gi',
        'expand group-sync 22Gi',
        'expand group-sync 22Gi',
      ],
    },
    {
      name: 'mixed caps: a member with a lower max-size stops at it',
      group: group(),
      members: [
        { name: 'a', size: '20Gi', usedPercent: 90 },
        { name: 'b', size: '20Gi', annotations: { 'pvc-chonker.io/max-size': '21Gi' } },
        { name: 'c', size: '20Gi', annotations: { 'pvc-chonker.io/max-size': '20Gi' } },
      ],
      expected: [
        'expand threshold-reached 22Gi',
        'expand group-sync 21Gi',
        'skip max-size-reached -',
      ],
    },
    {
      name: 'nobody over threshold and all the same size: nothing happens',
      group: group(),
      members: [
        { name: 'a', size: '20Gi' },
        { name: 'b', size: '20Gi' },
      ],
      expected: ['skip below-threshold -', 'skip below-threshold -'],
    },
    {
      name: 'a new smaller member catches up to the group size',
      group: group({}, { currentSize: '20Gi' }),
      members: [
        { name: 'a', size: '20Gi' },
        { name: 'new', size: '10Gi' },
      ],
      expected: ['skip below-threshold -', 'expand group-sync 20Gi'],
    },
    {
      name: 'the group waits while a member is resizing',
      group: group(),
      members: [
        { name: 'a', size: '10Gi', usedPercent: 90 },
        { name: 'b', size: '10Gi', request: '12Gi' },
      ],
      expected: ['skip resize-in-progress -', 'skip resize-in-progress -'],
    },
    {
      name: 'the group waits for its own cooldown (spec.cooldown)',
      group: group(
        { cooldown: '2h' },
        { lastExpansion: '2026-11-26T11:00:00Z', currentSize: '10Gi' },
      ),
      members: [
        { name: 'a', size: '10Gi', usedPercent: 90 },
        { name: 'b', size: '10Gi' },
      ],
      expected: ['skip cooldown -', 'skip cooldown -'],
    },
    {
      name: 'without spec.cooldown the largest member cooldown counts',
      group: group({}, { lastExpansion: '2026-11-26T11:00:00Z' }),
      members: [
        { name: 'a', size: '10Gi', usedPercent: 90 },
        { name: 'b', size: '10Gi', annotations: { 'pvc-chonker.io/cooldown': '30m' } },
      ],
      expected: ['expand threshold-reached 11Gi', 'expand group-sync 11Gi'],
    },
    {
      name: 'independent: the members decide alone',
      group: group({ coordinationPolicy: 'independent' }),
      members: [
        { name: 'a', size: '10Gi', usedPercent: 90 },
        { name: 'b', size: '20Gi' },
      ],
      expected: ['expand threshold-reached 11Gi', 'skip below-threshold -'],
    },
    {
      name: 'an invalid group expands nobody',
      group: group({ cooldown: 'soon' }),
      members: [{ name: 'a', size: '10Gi', usedPercent: 90 }],
      expected: ['error invalid-policy -'],
    },
  ])('$name', ({ group: g, members, expected }) => {
    const plan = coordinateGroup(g, members.map(member), NOW);

    expect(summary(plan.decisions)).toEqual(expected);
    expect(plan.decisions.every((d) => d.group === 'es')).toBe(true);
  });

  it('details name the group target once: the member that crossed, then the ones raised', () => {
    const plan = coordinateGroup(
      group(),
      [member({ name: 'a', size: '10Gi', usedPercent: 90 }), member({ name: 'b', size: '20Gi' })],
      NOW,
    );

    expect(plan.decisions.map((d) => d.detail)).toEqual([
      'used 90.0% >= 80%; group es grows to 22Gi; 10Gi -> 22Gi',
      'group es grows to 22Gi (elastic/a reached its threshold); 20Gi -> 22Gi',
    ]);
  });

  it('group expansions are written to history with the reason group, and to the status', () => {
    const g = group();
    const plan = coordinateGroup(
      g,
      [member({ name: 'a', usedPercent: 90 }), member({ name: 'b' })],
      NOW,
    );

    expect(plan.decisions.map((d) => d.historyReason)).toEqual(['group', 'group']);
    const status = groupStatusAfter(g, plan, {
      memberCount: 2,
      sizesAfter: [bytes('11Gi'), bytes('11Gi')],
      expanded: true,
      now: NOW,
    });
    expect(status).toMatchObject({
      currentSize: '11Gi',
      memberCount: 2,
      lastExpansion: '2026-11-26T12:00:00Z',
      observedGeneration: 2,
      expansionHistory: [
        { timestamp: '2026-11-26T12:00:00Z', from: '10Gi', to: '11Gi', trigger: 'elastic/a' },
      ],
    });
  });

  it('keeps at most 10 history entries, newest last', () => {
    const history = Array.from({ length: 10 }, (_, i) => ({
      timestamp: `2026-01-0${(i % 9) + 1}T00:00:00Z`,
      from: `${i + 1}Gi`,
      to: `${i + 2}Gi`,
      trigger: 'x/y',
    }));
    const g = group({}, { expansionHistory: history, currentSize: '10Gi' });
    const plan = coordinateGroup(g, [member({ name: 'a', usedPercent: 90 })], NOW);

    const status = groupStatusAfter(g, plan, {
      memberCount: 1,
      sizesAfter: [bytes('11Gi')],
      expanded: true,
      now: NOW,
    });
    const written = status['expansionHistory'] as { from: string }[];
    expect(written).toHaveLength(10);
    expect(written[0]?.from).toBe('2Gi');
    expect(written[9]).toMatchObject({ from: '10Gi', to: '11Gi' });
  });
});
