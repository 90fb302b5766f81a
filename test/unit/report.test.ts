import { describe, expect, it } from 'vitest';
import type { PvcOutcome, RunSummary } from '../../src/core/outcome.js';
import { formatReport, outcomeJson, reportChunks } from '../../src/report.js';

function outcome(name: string, detail = 'used 91.2% >= 80%'): PvcOutcome {
  return {
    namespace: 'team-a',
    name,
    action: 'expand',
    reason: 'threshold-reached',
    detail,
    thresholdsReached: name.endsWith('0') ? [] : ['storage', 'inodes'],
    currentBytes: 10n * 1024n ** 3n,
    requestBytes: 10n * 1024n ** 3n,
    newBytes: 11n * 1024n ** 3n,
    maxSizeBytes: undefined,
    usedRatio: 0.912,
    inodesUsedRatio: undefined,
    provider: 'generic',
    unhealthy: false,
    policy: undefined,
    otherPolicies: name.endsWith('1') ? ['team-a/other'] : [],
    group: undefined,
  };
}

function summary(pvcs: PvcOutcome[]): RunSummary {
  const at = new Date('2026-12-02T00:00:00Z');
  return {
    runId: 'r',
    startedAt: at,
    finishedAt: at,
    dryRun: false,
    status: 'success',
    error: undefined,
    pvcsSeen: pvcs.length,
    unmanaged: { 'not-enabled': 0, disabled: 0, 'other-shard': 0 },
    pvcs,
  };
}

describe('the JSON report, made row by row', () => {
  it.each([
    ['no PVC', 0],
    ['one PVC', 1],
    ['more PVCs than fit one chunk', 400],
  ])('is exactly JSON.stringify(rows, null, 2) for %s', (_, count) => {
    const pvcs = Array.from({ length: count }, (_, i) =>
      outcome(`data-${i}`, i === 3 ? 'line one\nline two "quoted"' : 'used 91.2% >= 80%'),
    );

    const text = formatReport(summary(pvcs), 'json');

    expect(text).toBe(`${JSON.stringify(pvcs.map(outcomeJson), null, 2)}\n`);
  });

  it('comes in several pieces when it is long, so the writer can wait for the pipe', () => {
    const pvcs = Array.from({ length: 400 }, (_, i) => outcome(`data-${i}`));

    const chunks = [...reportChunks(summary(pvcs), 'json')];

    expect(chunks.length).toBeGreaterThan(1);
  });
});

describe('a row names where its usage was read', () => {
  it.each([
    ['kubelet', 'kubelet'],
    ['prometheus', 'prometheus'],
    [undefined, null],
  ] as const)('source %s → %s', (source, shown) => {
    const row = outcomeJson({ ...outcome('data'), source });

    expect(row['source']).toBe(shown);
  });
});

describe('the report of a pass that could not complete', () => {
  const failed = (pvcs: PvcOutcome[]): RunSummary => ({
    ...summary(pvcs),
    status: 'failed',
    error: 'list persistentvolumes: connect ECONNREFUSED 127.0.0.1:6443',
  });

  it.each([
    ['nothing decided', 0],
    ['two records decided before it failed', 2],
  ])('JSON, %s: the records, then one for the failure', (_, count) => {
    const pvcs = Array.from({ length: count }, (_, i) => outcome(`data-${i}`));

    const rows = JSON.parse(formatReport(failed(pvcs), 'json')) as Record<string, unknown>[];

    expect(rows.slice(0, count)).toEqual(pvcs.map(outcomeJson));
    expect(rows.slice(count)).toEqual([
      {
        ...Object.fromEntries(Object.keys(outcomeJson(outcome('x'))).map((key) => [key, null])),
        action: 'error',
        reason: 'api-error',
        detail:
          'the pass could not complete: list persistentvolumes: connect ECONNREFUSED 127.0.0.1:6443',
        thresholdsReached: [],
        unhealthy: false,
        otherPolicies: [],
        recommendations: [],
      },
    ]);
  });

  it('table: the failure under the footer', () => {
    const text = formatReport(failed([]), 'table');

    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'the pass could not complete: list persistentvolumes: connect ECONNREFUSED 127.0.0.1:6443',
    );
  });
});
