import pino from 'pino';
import type { PvcOutcome, RunSummary } from '../../src/core/outcome.js';

const GiB = 1024n ** 3n;

/** A managed PVC's outcome: below threshold, 10Gi, unless overridden. */
export function outcome(overrides: Partial<PvcOutcome> & Pick<PvcOutcome, 'name'>): PvcOutcome {
  return {
    namespace: 'default',
    action: 'skip',
    reason: 'below-threshold',
    detail: '',
    thresholdsReached: [],
    currentBytes: 10n * GiB,
    requestBytes: 10n * GiB,
    newBytes: undefined,
    maxSizeBytes: undefined,
    usedRatio: 0.5,
    inodesUsedRatio: 0.1,
    provider: 'generic',
    unhealthy: false,
    policy: undefined,
    otherPolicies: [],
    group: undefined,
    ...overrides,
  };
}

/** An expansion: threshold reached, 10Gi → 12Gi. */
export function expanded(name: string, overrides: Partial<PvcOutcome> = {}): PvcOutcome {
  return outcome({
    name,
    action: 'expand',
    reason: 'threshold-reached',
    thresholdsReached: ['storage'],
    requestBytes: 12n * GiB,
    newBytes: 12n * GiB,
    usedRatio: 0.91,
    ...overrides,
  });
}

/** A completed run that finished at `finishedAt`, 2.5 s long, with these outcomes. */
export function summary(pvcs: PvcOutcome[], overrides: Partial<RunSummary> = {}): RunSummary {
  const finishedAt = overrides.finishedAt ?? new Date('2026-01-01T10:00:00.000Z');
  return {
    runId: 'run-1',
    startedAt: new Date(finishedAt.getTime() - 2_500),
    finishedAt,
    dryRun: false,
    status: 'success',
    error: undefined,
    pvcsSeen: pvcs.length + 1,
    unmanaged: { 'not-enabled': 1, disabled: 0, 'other-shard': 0 },
    pvcs,
    ...overrides,
  };
}

/** A logger that keeps its JSON lines, so tests can assert on messages and redaction. */
export function memoryLogger(): {
  log: pino.Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const log = pino({ level: 'debug' }, { write: (chunk: string) => chunks.push(chunk) });
  return {
    log,
    lines: () => chunks.map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}
