import { describe, expect, it } from 'vitest';
import { parseRunOptions, type RawRunOptions } from '../../src/config.js';

describe('parseRunOptions', () => {
  it('has sensible defaults', () => {
    const parsed = parseRunOptions({}, {});

    expect(parsed.ok && parsed.value).toMatchObject({
      namespaces: [],
      dryRun: false,
      output: 'table',
      pageSize: 500,
      kubeApiContentType: 'protobuf',
      maxExpansionsPerRun: 50,
      shard: undefined,
    });
  });

  it.each<[string, RawRunOptions, string]>([
    ['bad output', { output: 'xml' }, '--output: "xml"'],
    ['bad log level', { logLevel: 'loud' }, '--log-level: "loud"'],
    ['bad threshold', { threshold: 'eighty' }, '--threshold: "eighty"'],
    ['threshold over 100%', { threshold: '150%' }, '--threshold: "150%" is above 100%'],
    ['bad max size', { maxSize: '10Gx' }, '--max-size: "10Gx"'],
    ['bad cooldown', { cooldown: 'soon' }, '--cooldown: "soon"'],
    ['bad page size', { pageSize: '0' }, '--page-size: "0"'],
    ['bad namespace', { namespace: ['Prod!'] }, '--namespace: "Prod!"'],
    ['shard index without count', { shardIndex: '1' }, '--shard-index needs --shard-count'],
    ['shard index out of range', { shardCount: '2', shardIndex: '2' }, '--shard-index: "2"'],
    ['bad timeout', { apiTimeout: '0s' }, '--api-timeout: "0s"'],
    [
      'bad kube api content type',
      { kubeApiContentType: 'yaml' },
      '--kube-api-content-type: "yaml" is not one of protobuf, json',
    ],
    ['bad min-runway', { minRunway: 'soon' }, '--min-runway: "soon"'],
    ['bad expand-before-full', { expandBeforeFull: '2 days' }, '--expand-before-full: "2 days"'],
    ['bad sample interval', { sampleInterval: '6 hours' }, '--sample-interval: "6 hours"'],
    ['a --now that is no time', { now: 'yesterday' }, '--now: "yesterday" is not an RFC 3339 time'],
    ['a --now without a zone', { now: '2026-12-01T00:00:00' }, '--now: "2026-12-01T00:00:00"'],
  ])('%s names the flag and value', (_name, raw, message) => {
    const parsed = parseRunOptions(raw, {});

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });

  it('forecast flags: --now fixes the clock, --sample-interval 0 writes no samples', () => {
    const defaults = parseRunOptions({}, {});
    const given = parseRunOptions(
      { now: '2026-12-01T06:00:00Z', sampleInterval: '0', minRunway: '3d' },
      {},
    );

    expect(defaults.ok && defaults.value).toMatchObject({
      now: undefined,
      sampleIntervalMs: 6 * 3_600_000,
    });
    expect(given.ok && given.value).toMatchObject({
      now: new Date('2026-12-01T06:00:00Z'),
      sampleIntervalMs: undefined,
      flagSettings: { values: { minRunwayMs: 3 * 86_400_000 } },
    });
  });

  it('splits comma-separated namespaces from the environment form', () => {
    const parsed = parseRunOptions({ namespace: ['db,search', 'db'] }, {});

    expect(parsed.ok && parsed.value.namespaces).toEqual(['db', 'search']);
  });

  it('takes the shard index from JOB_COMPLETION_INDEX', () => {
    const parsed = parseRunOptions({ shardCount: '4' }, { JOB_COMPLETION_INDEX: '3' });

    expect(parsed.ok && parsed.value.shard).toEqual({ index: 3, count: 4 });
  });

  it('turns setting flags into the flag layer', () => {
    const parsed = parseRunOptions({ threshold: '90%', cooldown: '1h' }, {});

    expect(parsed.ok && parsed.value.flagSettings.source).toBe('flag');
    expect(parsed.ok && parsed.value.flagSettings.values.cooldownMs).toBe(3_600_000);
  });
});

it('--kube-api-content-type json reads the lists as JSON', () => {
  const parsed = parseRunOptions({ kubeApiContentType: 'json' }, {});

  expect(parsed.ok && parsed.value.kubeApiContentType).toBe('json');
});

describe('PVC_CHONKER_DRY_RUN', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
    ['', false],
  ])('%j means dry run %s', (text, expected) => {
    const parsed = parseRunOptions({}, { PVC_CHONKER_DRY_RUN: text });

    expect(parsed.ok && parsed.value.dryRun).toBe(expected);
  });

  it('rejects anything else, naming the value', () => {
    const parsed = parseRunOptions({}, { PVC_CHONKER_DRY_RUN: 'maybe' });

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toBe('PVC_CHONKER_DRY_RUN: "maybe" is not true or false');
  });

  it('the flag wins over the environment', () => {
    const parsed = parseRunOptions({ dryRun: true }, { PVC_CHONKER_DRY_RUN: 'false' });

    expect(parsed.ok && parsed.value.dryRun).toBe(true);
  });
});
