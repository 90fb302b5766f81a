/**
 * The streamed exposition is valid text format: promtool accepts it, a real Pushgateway takes
 * it in chunks (several 64 KiB pieces, sent chunked), and the next run reads it back through
 * the Pushgateway's /metrics page.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PvcOutcome } from '../../src/core/outcome.js';
import { parseMetricsConfig } from '../../src/metrics/config.js';
import { expositionChunks, renderExposition, type Tally } from '../../src/metrics/exposition.js';
import { previousFromText } from '../../src/metrics/previous.js';
import { publishMetrics } from '../../src/metrics/publish.js';
import { NO_PREVIOUS_VALUES, planMetrics, type PvcMetrics } from '../../src/metrics/series.js';
import { expanded, memoryLogger, outcome, summary } from './builders.js';
import { parseExposition, value } from './exposition-text.js';
import { startPushgateway, type RunningPushgateway } from '../../bench/prometheus-processes.js';

const PROMTOOL = process.env['PROMTOOL_BIN'] ?? 'promtool';

/** `promtool check metrics` reads the text on stdin; resolves with its output, rejects on failure. */
function promtoolCheck(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], (error, stdout, stderr) => {
      if (error === null) resolve(stdout + stderr);
      else reject(new Error(`promtool check metrics failed: ${error.message}\n${stdout}${stderr}`));
    });
    child.stdin?.end(text);
  });
}

const varied: PvcOutcome[] = [
  expanded('web', { provider: 'aws', maxSizeBytes: 100n * 1024n ** 3n, policy: 'web' }),
  // Label values that need escaping: a quote, a backslash and a newline.
  expanded('odd', {
    namespace: 'data',
    provider: 'we"ird\\prov\nider',
    policy: 'po"li\\cy\n',
    group: 'gr"ou\\p\n',
  }),
  outcome({ name: 'member', namespace: 'data', policy: 'db', group: 'es-data' }),
  outcome({ name: 'db', namespace: 'data', action: 'error', reason: 'api-error' }),
  outcome({ name: 'stuck', reason: 'resize-failed', action: 'error', unhealthy: true }),
  outcome({ name: 'nostats', reason: 'metrics-unavailable', usedRatio: undefined }),
  outcome({ name: 'quiet' }),
];

function fleet(size: number): PvcOutcome[] {
  return Array.from({ length: size }, (_, i) =>
    i % 10 === 0
      ? expanded(`data-${i}`, { namespace: `ns-${i % 7}` })
      : outcome({ name: `data-${i}`, namespace: `ns-${i % 7}` }),
  );
}

describe('exposition text', () => {
  it.each<PvcMetrics>(['all', 'problems', 'none'])(
    '%s: promtool check metrics accepts it, with counters carried forward',
    async (pvcMetrics) => {
      const first = renderExposition(planMetrics(summary(varied), NO_PREVIOUS_VALUES, pvcMetrics));
      const previous = previousFromText(first) ?? NO_PREVIOUS_VALUES;
      const text = renderExposition(planMetrics(summary(varied), previous, pvcMetrics));

      await expect(promtoolCheck(text)).resolves.toBe('');
      expect(parseExposition(text).length).toBeGreaterThan(10);
    },
  );

  it('escapes label values and reads them back unchanged', () => {
    const text = renderExposition(planMetrics(summary(varied), NO_PREVIOUS_VALUES, 'all'));

    const families = parseExposition(text);

    expect(
      value(families, 'pvc_chonker_expansions_total', {
        namespace: 'data',
        pvc: 'odd',
        provider: 'we"ird\\prov\nider',
      }),
    ).toBe(1);
    expect(
      value(families, 'pvc_chonker_pvc_status', {
        namespace: 'data',
        pvc: 'odd',
        action: 'expand',
        reason: 'threshold-reached',
        policy: 'po"li\\cy\n',
        group: 'gr"ou\\p\n',
      }),
    ).toBe(1);
    expect(
      value(families, 'pvc_chonker_policy_pvcs', { namespace: 'data', policy: 'po"li\\cy\n' }),
    ).toBe(1);
    expect(value(families, 'pvc_chonker_group_members', { group: 'gr"ou\\p\n' })).toBe(1);
    expect(text).toContain('policy="po\\"li\\\\cy\\n"');
  });

  it('comes in chunks of about 64 KiB that join to the whole text; the tally counts it', () => {
    const plan = planMetrics(summary(fleet(3_000)), NO_PREVIOUS_VALUES, 'all');
    const tally: Tally = { series: 0, bytes: 0 };

    const chunks = [...expositionChunks(plan, tally)];

    const text = chunks.join('');
    expect(chunks.length).toBeGreaterThan(5);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(64 * 1024 + 1_000);
    expect(text).toBe(renderExposition(plan));
    expect(tally.bytes).toBe(Buffer.byteLength(text));
    expect(tally.series).toBe(
      parseExposition(text).reduce((n, family) => n + family.samples.length, 0),
    );
  });
});

describe('streamed push to a real Pushgateway', () => {
  let pg: RunningPushgateway;

  beforeAll(async () => {
    pg = await startPushgateway();
  });

  afterAll(async () => {
    await pg.stop();
  });

  async function ourSeries(cluster: string): Promise<string[]> {
    const page = await (await fetch(new URL('metrics', pg.url))).text();
    return page
      .split('\n')
      .filter((line) => line.startsWith('pvc_chonker_') && line.includes(`cluster="${cluster}"`));
  }

  it.each<[PvcMetrics, number]>([
    ['all', 3_000],
    ['problems', 3_000],
  ])(
    '%s, %i PVCs: accepted, every series there, read back by the next run',
    async (pvcMetrics, size) => {
      const cluster = `stream-${pvcMetrics}`;
      const config = parseMetricsConfig(
        { pushgatewayUrl: pg.url.href, clusterName: cluster, pvcMetrics },
        {},
      );
      if (!config.ok) throw new Error(config.error);
      const log = memoryLogger();
      const run = summary(fleet(size));

      const first = await publishMetrics(run, config.value, { log: log.log });
      const afterFirst = await ourSeries(cluster);
      const second = await publishMetrics(run, config.value, { log: log.log });
      const afterSecond = await ourSeries(cluster);

      expect(first).toEqual({ pushed: true, error: undefined });
      expect(second).toEqual({ pushed: true, error: undefined });
      const pushed = log.lines().filter((l) => l['msg'] === 'metrics pushed');
      expect(pushed.map((l) => l['series'])).toEqual([afterFirst.length, afterSecond.length]);
      expect(pushed[0]?.['bytes']).toBeGreaterThan(64 * 1024);
      const expansions = (lines: string[]): number =>
        lines
          .filter((l) => l.startsWith('pvc_chonker_expansions_total{'))
          .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
      expect(expansions(afterFirst)).toBe(size / 10);
      expect(expansions(afterSecond)).toBe((2 * size) / 10);
    },
  );
});
