import { describe, expect, it } from 'vitest';
import type { PvcOutcome } from '../../src/core/outcome.js';
import { previousFromText } from '../../src/metrics/previous.js';
import {
  isExpansionFailure,
  isProblem,
  NO_PREVIOUS_VALUES,
  resolvePvcMetrics,
  type PreviousValues,
  type PvcMetrics,
} from '../../src/metrics/series.js';
import { expanded, outcome, summary } from './builders.js';
import { buildFamilies, samples, value, type Labels } from './exposition-text.js';

/** Previous values as the Pushgateway or a metrics file would give them back. */
function previousOf(...lines: string[]): PreviousValues {
  const previous = previousFromText(`${lines.join('\n')}\n`);
  if (previous === undefined) throw new Error('no previous values in the lines');
  return previous;
}

const web = { pvc: 'web', namespace: 'default' };

describe('buildFamilies: one run from nothing', () => {
  it.each<[string, PvcOutcome, string, Labels, number | undefined]>([
    [
      'expand counts an expansion',
      expanded('web', { provider: 'aws' }),
      'pvc_chonker_expansions_total',
      { ...web, provider: 'aws' },
      1,
    ],
    [
      'skip seeds the expansion counter at 0',
      outcome({ name: 'web' }),
      'pvc_chonker_expansions_total',
      { ...web, provider: 'generic' },
      0,
    ],
    [
      'unknown provider gets provider="unknown"',
      expanded('web', { provider: undefined }),
      'pvc_chonker_expansions_total',
      { ...web, provider: 'unknown' },
      1,
    ],
    [
      'storage threshold counted',
      expanded('web'),
      'pvc_chonker_threshold_reached_total',
      { ...web, type: 'storage' },
      1,
    ],
    [
      'inodes threshold seeded at 0',
      expanded('web'),
      'pvc_chonker_threshold_reached_total',
      { ...web, type: 'inodes' },
      0,
    ],
    [
      'inodes threshold counted',
      outcome({ name: 'web', action: 'skip', reason: 'cooldown', thresholdsReached: ['inodes'] }),
      'pvc_chonker_threshold_reached_total',
      { ...web, type: 'inodes' },
      1,
    ],
    [
      'max size counted',
      outcome({ name: 'web', reason: 'max-size-reached', thresholdsReached: ['storage'] }),
      'pvc_chonker_max_size_reached_total',
      web,
      1,
    ],
    [
      'max size is not a failure',
      outcome({ name: 'web', reason: 'max-size-reached' }),
      'pvc_chonker_expansion_failures_total',
      { ...web, reason: 'max-size-reached' },
      undefined,
    ],
    [
      'resize-failed is a failure',
      outcome({ name: 'web', action: 'error', reason: 'resize-failed', unhealthy: true }),
      'pvc_chonker_expansion_failures_total',
      { ...web, reason: 'resize-failed' },
      1,
    ],
    [
      'unhealthy counted',
      outcome({ name: 'web', action: 'error', reason: 'resize-failed', unhealthy: true }),
      'pvc_chonker_pvc_unhealthy_total',
      web,
      1,
    ],
    [
      'api-error is a failure',
      outcome({ name: 'web', action: 'error', reason: 'api-error' }),
      'pvc_chonker_expansion_failures_total',
      { ...web, reason: 'api-error' },
      1,
    ],
    [
      'provider refusal (skip) is a failure',
      outcome({ name: 'web', reason: 'provider-refused' }),
      'pvc_chonker_expansion_failures_total',
      { ...web, reason: 'provider-refused' },
      1,
    ],
    [
      'cooldown is not a failure',
      outcome({ name: 'web', reason: 'cooldown' }),
      'pvc_chonker_expansion_failures_total',
      { ...web, reason: 'cooldown' },
      undefined,
    ],
    [
      'used ratio gauge',
      outcome({ name: 'web', usedRatio: 0.42 }),
      'pvc_chonker_pvc_used_ratio',
      web,
      0.42,
    ],
    [
      'no stats: no used ratio series',
      outcome({ name: 'web', usedRatio: undefined }),
      'pvc_chonker_pvc_used_ratio',
      web,
      undefined,
    ],
    [
      'capacity bytes',
      outcome({ name: 'web' }),
      'pvc_chonker_pvc_capacity_bytes',
      web,
      10 * 1024 ** 3,
    ],
    [
      'requested bytes after expansion',
      expanded('web'),
      'pvc_chonker_pvc_requested_bytes',
      web,
      12 * 1024 ** 3,
    ],
    [
      'max size bytes when set',
      outcome({ name: 'web', maxSizeBytes: 100n * 1024n ** 3n }),
      'pvc_chonker_pvc_max_size_bytes',
      web,
      100 * 1024 ** 3,
    ],
    [
      'no max size: no series',
      outcome({ name: 'web' }),
      'pvc_chonker_pvc_max_size_bytes',
      web,
      undefined,
    ],
    [
      'status carries action and reason',
      outcome({ name: 'web', reason: 'cooldown' }),
      'pvc_chonker_pvc_status',
      { ...web, action: 'skip', reason: 'cooldown' },
      1,
    ],
    [
      'threshold gauge',
      expanded('web'),
      'pvc_chonker_pvc_threshold_reached',
      { ...web, type: 'storage' },
      1,
    ],
  ])('%s', (_name, pvc, metric, labels, expected) => {
    const families = buildFamilies(summary([pvc]), NO_PREVIOUS_VALUES);

    expect(value(families, metric, labels)).toBe(expected);
  });

  it('exposes the batch-job metrics of a completed run', () => {
    const run = summary([expanded('a'), outcome({ name: 'b' }), outcome({ name: 'c' })], {
      pvcsSeen: 7,
    });

    const families = buildFamilies(run, NO_PREVIOUS_VALUES);

    const finished = run.finishedAt.getTime() / 1000;
    expect(value(families, 'pvc_chonker_loop_duration_seconds')).toBe(2.5);
    expect(value(families, 'pvc_chonker_last_run_timestamp_seconds')).toBe(finished);
    expect(value(families, 'pvc_chonker_last_success_timestamp_seconds')).toBe(finished);
    expect(value(families, 'pvc_chonker_last_run_status', { status: 'success' })).toBe(1);
    expect(value(families, 'pvc_chonker_last_run_status', { status: 'failed' })).toBe(0);
    expect(value(families, 'pvc_chonker_runs_total', { status: 'success' })).toBe(1);
    expect(value(families, 'pvc_chonker_runs_total', { status: 'interrupted' })).toBe(0);
    expect(value(families, 'pvc_chonker_pvcs_seen')).toBe(7);
    expect(value(families, 'pvc_chonker_pvcs_managed')).toBe(3);
    expect(value(families, 'pvc_chonker_pvcs_unmanaged', { reason: 'not-enabled' })).toBe(1);
    expect(value(families, 'pvc_chonker_pvcs_unmanaged', { reason: 'other-shard' })).toBe(0);
    expect(
      value(families, 'pvc_chonker_pvcs_by_outcome', { action: 'skip', reason: 'below-threshold' }),
    ).toBe(2);
    expect(
      value(families, 'pvc_chonker_pvcs_by_outcome', {
        action: 'expand',
        reason: 'threshold-reached',
      }),
    ).toBe(1);
    expect(value(families, 'pvc_chonker_dry_run')).toBe(0);
  });

  it('dry run: would-expand counts in would_expand_total, never in expansions_total', () => {
    const run = summary([expanded('web', { action: 'would-expand' })], { dryRun: true });

    const families = buildFamilies(run, NO_PREVIOUS_VALUES);

    expect(value(families, 'pvc_chonker_would_expand_total', { ...web, provider: 'generic' })).toBe(
      1,
    );
    expect(value(families, 'pvc_chonker_expansions_total', { ...web, provider: 'generic' })).toBe(
      0,
    );
    expect(value(families, 'pvc_chonker_dry_run')).toBe(1);
  });

  it('a real run does not create would_expand series', () => {
    const families = buildFamilies(summary([expanded('web')]), NO_PREVIOUS_VALUES);

    expect(samples(families, 'pvc_chonker_would_expand_total')).toEqual([]);
  });

  it('a first run that failed reports last success 0 (never)', () => {
    const families = buildFamilies(
      summary([], { status: 'failed', error: 'list failed' }),
      NO_PREVIOUS_VALUES,
    );

    expect(value(families, 'pvc_chonker_last_success_timestamp_seconds')).toBe(0);
    expect(value(families, 'pvc_chonker_last_run_status', { status: 'failed' })).toBe(1);
  });
});

describe('buildFamilies: counters carried forward', () => {
  const previous = previousOf(
    'pvc_chonker_last_success_timestamp_seconds 1700000000',
    'pvc_chonker_expansions_total{pvc="web",namespace="default",provider="generic"} 4',
    'pvc_chonker_expansions_total{pvc="gone",namespace="default",provider="generic"} 2',
    'pvc_chonker_expansion_failures_total{pvc="web",namespace="default",reason="api-error"} 3',
    'pvc_chonker_runs_total{status="success"} 10',
    'pvc_chonker_runs_total{status="failed"} 1',
    // An older schema's extra label: not carried (the Pushgateway would see two label sets).
    'pvc_chonker_max_size_reached_total{pvc="web",namespace="default",extra="x"} 9',
  );

  it.each<[string, Labels, number | undefined]>([
    ['pvc_chonker_expansions_total', { ...web, provider: 'generic' }, 5],
    [
      'pvc_chonker_expansions_total',
      { pvc: 'gone', namespace: 'default', provider: 'generic' },
      undefined,
    ],
    ['pvc_chonker_expansion_failures_total', { ...web, reason: 'api-error' }, 3],
    ['pvc_chonker_runs_total', { status: 'success' }, 11],
    ['pvc_chonker_runs_total', { status: 'failed' }, 1],
    ['pvc_chonker_max_size_reached_total', web, 0],
  ])('after a completed run %s%j = %s', (metric, labels, expected) => {
    const families = buildFamilies(summary([expanded('web')]), previous);

    expect(value(families, metric, labels)).toBe(expected);
  });

  it('a failed run keeps every previous series and re-sends the previous last success', () => {
    const run = summary([], { status: 'failed', error: 'API unreachable' });

    const families = buildFamilies(run, previous);

    expect(
      value(families, 'pvc_chonker_expansions_total', {
        pvc: 'gone',
        namespace: 'default',
        provider: 'generic',
      }),
    ).toBe(2);
    expect(value(families, 'pvc_chonker_expansions_total', { ...web, provider: 'generic' })).toBe(
      4,
    );
    expect(value(families, 'pvc_chonker_runs_total', { status: 'failed' })).toBe(2);
    expect(value(families, 'pvc_chonker_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(value(families, 'pvc_chonker_last_run_timestamp_seconds')).toBe(
      run.finishedAt.getTime() / 1000,
    );
  });

  it('an interrupted run keeps previous series too', () => {
    const run = summary([outcome({ name: 'web', reason: 'interrupted' })], {
      status: 'interrupted',
    });

    const families = buildFamilies(run, previous);

    expect(
      value(families, 'pvc_chonker_expansions_total', {
        pvc: 'gone',
        namespace: 'default',
        provider: 'generic',
      }),
    ).toBe(2);
    expect(
      value(families, 'pvc_chonker_expansion_failures_total', { ...web, reason: 'interrupted' }),
    ).toBeUndefined();
  });

  it('ignores negative and non-finite previous values', () => {
    const bad = previousOf(
      'pvc_chonker_expansions_total{pvc="web",namespace="default",provider="generic"} -3',
      'pvc_chonker_threshold_reached_total{pvc="web",namespace="default",type="storage"} +Inf',
    );

    const families = buildFamilies(summary([expanded('web')]), bad);

    expect(value(families, 'pvc_chonker_expansions_total', { ...web, provider: 'generic' })).toBe(
      1,
    );
    expect(
      value(families, 'pvc_chonker_threshold_reached_total', { ...web, type: 'storage' }),
    ).toBe(1);
  });
});

describe('isExpansionFailure', () => {
  it.each<[PvcOutcome['action'], PvcOutcome['reason'], boolean]>([
    ['error', 'api-error', true],
    ['error', 'conflict', true],
    ['error', 'resize-failed', true],
    ['error', 'invalid-annotation', true],
    ['skip', 'expansion-not-allowed', true],
    ['skip', 'provider-refused', true],
    ['skip', 'provider-circuit-open', true],
    ['skip', 'provider-error', true],
    ['skip', 'max-size-reached', false],
    ['skip', 'max-expansions-per-run', false],
    ['skip', 'cooldown', false],
    ['skip', 'resize-in-progress', false],
    ['skip', 'metrics-unavailable', false],
    ['skip', 'stats-stale', false],
    ['skip', 'interrupted', false],
    ['expand', 'threshold-reached', false],
    ['would-expand', 'threshold-reached', false],
  ])('%s %s → %s', (action, reason, expected) => {
    expect(isExpansionFailure({ action, reason })).toBe(expected);
  });
});

describe('--pvc-metrics', () => {
  it.each<[PvcMetrics | undefined, number, PvcMetrics]>([
    [undefined, 0, 'all'],
    [undefined, 2_000, 'all'],
    [undefined, 2_001, 'problems'],
    ['all', 10_000, 'all'],
    ['problems', 1, 'problems'],
    ['none', 1, 'none'],
  ])('flag %s with %i managed PVCs → %s', (requested, managed, expected) => {
    expect(resolvePvcMetrics(requested, managed)).toBe(expected);
  });

  it.each<[string, PvcOutcome, boolean]>([
    ['below threshold', outcome({ name: 'a' }), false],
    [
      'no stats',
      outcome({ name: 'a', reason: 'metrics-unavailable', usedRatio: undefined }),
      false,
    ],
    ['stale stats', outcome({ name: 'a', reason: 'stats-stale' }), false],
    ['not bound', outcome({ name: 'a', reason: 'not-bound' }), false],
    ['block mode', outcome({ name: 'a', reason: 'block-mode' }), false],
    ['expanded', expanded('a'), true],
    ['would expand', expanded('a', { action: 'would-expand' }), true],
    [
      'over threshold in cooldown',
      outcome({ name: 'a', reason: 'cooldown', thresholdsReached: ['inodes'] }),
      true,
    ],
    [
      'at max size',
      outcome({ name: 'a', reason: 'max-size-reached', thresholdsReached: ['storage'] }),
      true,
    ],
    [
      'resize in flight',
      outcome({ name: 'a', reason: 'resize-in-progress', usedRatio: undefined }),
      true,
    ],
    ['held by the per-run cap', outcome({ name: 'a', reason: 'max-expansions-per-run' }), true],
    [
      'class does not allow expansion',
      outcome({ name: 'a', reason: 'expansion-not-allowed' }),
      true,
    ],
    ['error', outcome({ name: 'a', action: 'error', reason: 'api-error' }), true],
    ['bad annotation', outcome({ name: 'a', action: 'error', reason: 'invalid-annotation' }), true],
    ['unhealthy', outcome({ name: 'a', reason: 'resize-failed', unhealthy: true }), true],
    ['nearly full below its own threshold', outcome({ name: 'a', usedRatio: 0.9 }), true],
    ['inodes nearly full', outcome({ name: 'a', inodesUsedRatio: 0.95 }), true],
    ['just under nearly full', outcome({ name: 'a', usedRatio: 0.89 }), false],
  ])('%s: a problem? %s', (_name, pvc, expected) => {
    expect(isProblem(pvc)).toBe(expected);
  });

  const fleet = [
    outcome({ name: 'quiet-1' }),
    outcome({ name: 'quiet-2', namespace: 'data' }),
    expanded('grown', { provider: 'aws' }),
    outcome({ name: 'failing', namespace: 'data', action: 'error', reason: 'api-error' }),
  ];
  const pvcNames = (families: ReturnType<typeof buildFamilies>, name: string): string[] =>
    samples(families, name).map((s) => `${s.labels['namespace'] ?? ''}/${s.labels['pvc'] ?? ''}`);

  it('problems: per-PVC gauges only for the PVCs that need a look', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'problems');

    expect(pvcNames(families, 'pvc_chonker_pvc_status')).toEqual(['default/grown', 'data/failing']);
    expect(pvcNames(families, 'pvc_chonker_pvc_used_ratio')).toEqual([
      'default/grown',
      'data/failing',
    ]);
    expect(value(families, 'pvc_chonker_pvcs_managed')).toBe(4);
    expect(
      value(families, 'pvc_chonker_pvcs_by_outcome', { action: 'skip', reason: 'below-threshold' }),
    ).toBe(2);
  });

  it('problems: counters per namespace, without pvc, seeded at 0 for every namespace', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'problems');

    expect(samples(families, 'pvc_chonker_expansions_total')).toEqual([
      { labels: { namespace: 'default', provider: 'generic' }, value: 0 },
      { labels: { namespace: 'data', provider: 'generic' }, value: 0 },
      { labels: { namespace: 'default', provider: 'aws' }, value: 1 },
    ]);
    expect(
      value(families, 'pvc_chonker_threshold_reached_total', {
        namespace: 'data',
        type: 'storage',
      }),
    ).toBe(0);
    expect(
      value(families, 'pvc_chonker_expansion_failures_total', {
        namespace: 'data',
        reason: 'api-error',
      }),
    ).toBe(1);
    const counters = families.filter((f) => f.type === 'counter');
    expect(counters.flatMap((f) => f.samples).filter((s) => 'pvc' in s.labels)).toEqual([]);
  });

  it('none: no series names a PVC; the job and namespace series stay', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'none');

    expect(families.flatMap((f) => f.samples).filter((s) => 'pvc' in s.labels)).toEqual([]);
    expect(families.map((f) => f.name).filter((n) => n.startsWith('pvc_chonker_pvc_'))).toEqual([
      'pvc_chonker_pvc_unhealthy_total',
    ]);
    expect(
      value(families, 'pvc_chonker_expansions_total', { namespace: 'default', provider: 'aws' }),
    ).toBe(1);
    expect(value(families, 'pvc_chonker_pvcs_managed')).toBe(4);
  });

  it('defaults to problems above 2,000 managed PVCs', () => {
    const many = Array.from({ length: 2_001 }, (_, i) => outcome({ name: `quiet-${i}` }));

    const families = buildFamilies(summary([...many, expanded('grown')]), NO_PREVIOUS_VALUES);

    expect(pvcNames(families, 'pvc_chonker_pvc_status')).toEqual(['default/grown']);
    expect(samples(families, 'pvc_chonker_expansions_total')).toEqual([
      { labels: { namespace: 'default', provider: 'generic' }, value: 1 },
    ]);
  });

  it('problems: namespace counters carry forward; a namespace with no managed PVC left goes', () => {
    const previous = previousOf(
      'pvc_chonker_expansions_total{namespace="default",provider="aws"} 7',
      'pvc_chonker_expansions_total{namespace="gone",provider="aws"} 2',
      'pvc_chonker_expansion_failures_total{namespace="data",reason="conflict"} 4',
    );

    const families = buildFamilies(summary(fleet), previous, 'problems');

    expect(
      value(families, 'pvc_chonker_expansions_total', { namespace: 'default', provider: 'aws' }),
    ).toBe(8);
    expect(
      value(families, 'pvc_chonker_expansions_total', { namespace: 'gone', provider: 'aws' }),
    ).toBeUndefined();
    expect(
      value(families, 'pvc_chonker_expansion_failures_total', {
        namespace: 'data',
        reason: 'conflict',
      }),
    ).toBe(4);
  });

  it('switching shape after a completed run: the other shape goes, the new starts from this run', () => {
    const previous = previousOf(
      'pvc_chonker_expansions_total{namespace="default",pvc="grown",provider="aws"} 7',
    );

    const families = buildFamilies(summary(fleet), previous, 'problems');

    expect(
      samples(families, 'pvc_chonker_expansions_total').filter((s) => 'pvc' in s.labels),
    ).toEqual([]);
    expect(
      value(families, 'pvc_chonker_expansions_total', { namespace: 'default', provider: 'aws' }),
    ).toBe(1);
  });

  it('a failed run keeps the series of both shapes as they were', () => {
    const previous = previousOf(
      'pvc_chonker_expansions_total{namespace="default",pvc="grown",provider="aws"} 7',
      'pvc_chonker_expansions_total{namespace="default",provider="aws"} 3',
    );

    const families = buildFamilies(summary([], { status: 'failed' }), previous, 'problems');

    expect(samples(families, 'pvc_chonker_expansions_total')).toEqual([
      { labels: { namespace: 'default', pvc: 'grown', provider: 'aws' }, value: 7 },
      { labels: { namespace: 'default', provider: 'aws' }, value: 3 },
    ]);
  });
});

describe('policy and group labels', () => {
  const governed = (name: string, overrides: Partial<PvcOutcome> = {}): PvcOutcome =>
    outcome({ name, policy: 'db', group: 'es-data', ...overrides });

  it.each<[string, PvcOutcome, Labels]>([
    [
      'policy and group',
      governed('web'),
      { ...web, action: 'skip', reason: 'below-threshold', policy: 'db', group: 'es-data' },
    ],
    [
      'policy only',
      governed('web', { group: undefined }),
      { ...web, action: 'skip', reason: 'below-threshold', policy: 'db' },
    ],
    [
      'group only',
      governed('web', { policy: undefined }),
      { ...web, action: 'skip', reason: 'below-threshold', group: 'es-data' },
    ],
    [
      'neither: no empty labels',
      outcome({ name: 'web' }),
      { ...web, action: 'skip', reason: 'below-threshold' },
    ],
  ])('pvc_status carries %s', (_name, pvc, labels) => {
    const families = buildFamilies(summary([pvc]), NO_PREVIOUS_VALUES, 'all');

    expect(samples(families, 'pvc_chonker_pvc_status')).toEqual([{ labels, value: 1 }]);
  });

  it('numeric gauges and counters keep only the PVC labels', () => {
    const families = buildFamilies(
      summary([expanded('web', { policy: 'db', group: 'es-data' })]),
      NO_PREVIOUS_VALUES,
    );

    expect(value(families, 'pvc_chonker_pvc_used_ratio', web)).toBe(0.91);
    expect(value(families, 'pvc_chonker_pvc_requested_bytes', web)).toBe(12 * 1024 ** 3);
    expect(value(families, 'pvc_chonker_pvc_threshold_reached', { ...web, type: 'storage' })).toBe(
      1,
    );
    expect(value(families, 'pvc_chonker_expansions_total', { ...web, provider: 'generic' })).toBe(
      1,
    );
    // Outside pvc_status, only the per-policy and per-group families name them.
    const named = families
      .filter((f) => f.samples.some((s) => 'policy' in s.labels || 'group' in s.labels))
      .map((f) => f.name);
    expect(named).toEqual([
      'pvc_chonker_policy_pvcs',
      'pvc_chonker_group_members',
      'pvc_chonker_group_requested_bytes',
      'pvc_chonker_pvc_status',
    ]);
  });

  it('a policy change keeps counting in the same counter series', () => {
    // What a run under policy `old` pushed.
    const previous = previousOf(
      'pvc_chonker_expansions_total{namespace="default",pvc="web",provider="generic"} 1',
    );

    const second = buildFamilies(
      summary([expanded('web', { policy: 'new', group: 'g' })]),
      previous,
      'all',
    );

    expect(samples(second, 'pvc_chonker_expansions_total')).toEqual([
      { labels: { ...web, provider: 'generic' }, value: 2 },
    ]);
  });

  it.each<PvcMetrics>(['all', 'problems', 'none'])(
    '%s: one series per policy (by namespace) and per group, from every managed PVC',
    (pvcMetrics) => {
      const run = summary([
        governed('a', { requestBytes: 10n * 1024n ** 3n }),
        governed('b', { requestBytes: 12n * 1024n ** 3n, group: undefined }),
        governed('c', { namespace: 'other', requestBytes: 15n * 1024n ** 3n }),
        governed('d', {
          namespace: 'other',
          policy: 'logs',
          group: 'kafka',
          requestBytes: undefined,
        }),
        outcome({ name: 'plain' }),
      ]);

      const families = buildFamilies(run, NO_PREVIOUS_VALUES, pvcMetrics);

      expect(samples(families, 'pvc_chonker_policy_pvcs')).toEqual([
        { labels: { namespace: 'default', policy: 'db' }, value: 2 },
        { labels: { namespace: 'other', policy: 'db' }, value: 1 },
        { labels: { namespace: 'other', policy: 'logs' }, value: 1 },
      ]);
      expect(samples(families, 'pvc_chonker_group_members')).toEqual([
        { labels: { group: 'es-data' }, value: 2 },
        { labels: { group: 'kafka' }, value: 1 },
      ]);
      // The largest request among the members; a group with no known request has no series.
      expect(samples(families, 'pvc_chonker_group_requested_bytes')).toEqual([
        { labels: { group: 'es-data' }, value: 15 * 1024 ** 3 },
      ]);
    },
  );

  it.each<PvcMetrics>(['all', 'problems', 'none'])(
    '%s: every PVC with a per-PVC gauge has a pvc_status (the alert rules join on it)',
    (pvcMetrics) => {
      const run = summary([
        expanded('a', { policy: 'db' }),
        outcome({ name: 'b', group: 'g', unhealthy: true, reason: 'resize-failed' }),
        outcome({ name: 'c', usedRatio: 0.97 }),
        outcome({ name: 'd' }),
      ]);

      const families = buildFamilies(run, NO_PREVIOUS_VALUES, pvcMetrics);

      const pvcsOf = (f: { samples: { labels: Labels }[] }) =>
        new Set(f.samples.map((s) => `${s.labels['namespace'] ?? ''}/${s.labels['pvc'] ?? ''}`));
      const status = pvcsOf({ samples: samples(families, 'pvc_chonker_pvc_status') });
      const gauges = families.filter(
        (f) => f.name.startsWith('pvc_chonker_pvc_') && !f.name.endsWith('_total'),
      );
      expect(gauges.length > 0).toBe(pvcMetrics !== 'none');
      for (const family of gauges) {
        expect(
          [...pvcsOf(family)].filter((pvc) => !status.has(pvc)),
          family.name,
        ).toEqual([]);
      }
      expect(status.size).toBe({ all: 4, problems: 3, none: 0 }[pvcMetrics]);
    },
  );

  it('a run without policies or groups writes no such family', () => {
    const families = buildFamilies(summary([outcome({ name: 'web' })]), NO_PREVIOUS_VALUES);

    expect(samples(families, 'pvc_chonker_policy_pvcs')).toEqual([]);
    expect(samples(families, 'pvc_chonker_group_members')).toEqual([]);
    expect(samples(families, 'pvc_chonker_group_requested_bytes')).toEqual([]);
  });
});

describe('stats sources', () => {
  const report = {
    sources: ['kubelet', 'kubelet-proxy'] as const,
    pvcs: { kubelet: 7, 'kubelet-proxy': 2 },
    errors: [
      { source: 'kubelet' as const, reason: 'unreachable' as const, count: 1 },
      { source: 'kubelet' as const, reason: 'forbidden' as const, count: 2 },
    ],
  };

  it('counts each failed request by source and reason, every other reason of the sources at 0', () => {
    const families = buildFamilies(
      summary([expanded('web')], { stats: report }),
      NO_PREVIOUS_VALUES,
    );
    const errors = samples(families, 'pvc_chonker_stats_source_errors_total');

    expect(errors).toHaveLength(2 * 8);
    expect(
      value(families, 'pvc_chonker_stats_source_errors_total', {
        source: 'kubelet',
        reason: 'forbidden',
      }),
    ).toBe(2);
    expect(
      value(families, 'pvc_chonker_stats_source_errors_total', {
        source: 'kubelet',
        reason: 'unreachable',
      }),
    ).toBe(1);
    expect(
      value(families, 'pvc_chonker_stats_source_errors_total', {
        source: 'kubelet-proxy',
        reason: 'tls',
      }),
    ).toBe(0);
    expect(samples(families, 'pvc_chonker_stats_source_pvcs')).toEqual([
      { labels: { source: 'kubelet' }, value: 7 },
      { labels: { source: 'kubelet-proxy' }, value: 2 },
    ]);
  });

  it('carries the errors forward from the previous push, even of a source no longer used', () => {
    const previous = previousOf(
      'pvc_chonker_stats_source_errors_total{reason="forbidden",source="kubelet"} 5',
      'pvc_chonker_stats_source_errors_total{reason="timeout",source="prometheus"} 3',
    );

    const families = buildFamilies(summary([expanded('web')], { stats: report }), previous);

    expect(
      value(families, 'pvc_chonker_stats_source_errors_total', {
        source: 'kubelet',
        reason: 'forbidden',
      }),
    ).toBe(7);
    expect(
      value(families, 'pvc_chonker_stats_source_errors_total', {
        source: 'prometheus',
        reason: 'timeout',
      }),
    ).toBe(3);
  });

  it('writes neither family for a summary without stats (tests, a pass that failed before)', () => {
    const families = buildFamilies(summary([expanded('web')]), NO_PREVIOUS_VALUES);

    expect(samples(families, 'pvc_chonker_stats_source_errors_total')).toEqual([]);
    expect(samples(families, 'pvc_chonker_stats_source_pvcs')).toEqual([]);
  });
});
