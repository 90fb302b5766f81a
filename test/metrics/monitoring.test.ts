/**
 * The operator-facing monitoring files: the alert rules pass `promtool check rules` and their
 * `promtool test rules` unit tests, and every dashboard query parses and names real metrics.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { METRICS } from '../../src/metrics/definitions.js';
import { EXPANSION_FAILURE_REASONS } from '../../src/metrics/series.js';

const run = promisify(execFile);
const PROMTOOL = process.env['PROMTOOL_BIN'] ?? 'promtool';
const DIR = join(import.meta.dirname, '../../cronjob/monitoring');
const RULES = join(DIR, 'pvc-chonker-rules.yaml');
const DASHBOARD = join(DIR, 'pvc-chonker-dashboard.json');
const KNOWN = new Set(Object.values(METRICS).map((m) => m.name));

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: DIR });
    return stdout + stderr;
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(`${PROMTOOL} not found; run scripts/install-system-deps.sh`);
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Metric names (not recording rules, which carry a ':') a PromQL expression mentions. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bpvc_chonker_[a-z_]+\b/g)].map((m) => m[0]);
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

async function rules(): Promise<Rule[]> {
  const doc = parse(await readFile(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string; datasource: { uid: string } }[];
}

async function dashboard(): Promise<{
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Awaited<ReturnType<typeof dashboard>>;
}

describe('alert rules', () => {
  it('pass promtool check rules', async () => {
    expect(await promtool('check', 'rules', RULES)).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests', async () => {
    expect(await promtool('test', 'rules', 'pvc-chonker-rules_test.yaml')).toMatch(/SUCCESS/);
  });

  it('name only metrics pvc-chonker exposes', async () => {
    const names = (await rules()).flatMap((r) => metricNames(r.expr));

    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !KNOWN.has(n))).toEqual([]);
  });

  it('alert on exactly the reasons counted as expansion failures', async () => {
    const rule = (await rules()).find((r) => r.alert === 'PvcChonkerExpansionFailed');
    const regex = /reason=~"([^"]+)"/.exec(rule?.expr ?? '')?.[1] ?? '';

    expect(new Set(regex.split('|'))).toEqual(new Set(EXPANSION_FAILURE_REASONS));
  });
});

describe('Grafana dashboard', () => {
  it('takes its datasource and cluster from variables', async () => {
    const { panels, templating } = await dashboard();

    expect(templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['cluster', 'query'],
    ]);
    for (const panel of panels) {
      expect(panel.datasource.uid, panel.title).toBe('${datasource}');
      for (const t of panel.targets) {
        expect(t.datasource.uid, panel.title).toBe('${datasource}');
        expect(t.expr, panel.title).toContain('cluster=~"$cluster"');
      }
    }
  });

  it('has the fleet overview panels', async () => {
    const titles = (await dashboard()).panels.map((p) => p.title);

    expect(titles).toEqual(
      expect.arrayContaining([
        'Last success age',
        'Expansions',
        'PVCs nearest to full',
        'PVCs at max size',
        'Expansion failures by reason',
        'Run duration',
        'PVCs by policy',
        'PVC groups',
        'PVCs read by stats source',
        'Stats source errors by reason',
        'Soonest full (days, forecast)',
        'Soonest at max size (days, forecast)',
      ]),
    );
  });

  it('queries parse (promtool) and name only metrics pvc-chonker exposes', async () => {
    const exprs = (await dashboard()).panels.flatMap((p) => p.targets.map((t) => t.expr));
    const names = exprs.flatMap(metricNames);
    // Grafana substitutes the variables before the query reaches Prometheus.
    const substituted = exprs.map((e) => e.replaceAll('$cluster', '.*'));
    const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-dash-'));
    const file = join(dir, 'dashboard-queries.yaml');
    await writeFile(
      file,
      stringify({
        groups: [
          {
            name: 'dashboard',
            rules: substituted.map((expr, i) => ({
              record: `dashboard:query_${i.toString()}`,
              expr,
            })),
          },
        ],
      }),
    );

    try {
      expect(await promtool('check', 'rules', file)).toMatch(
        // eslint-disable-next-line security/detect-non-literal-regexp -- built from a number in the test
        new RegExp(`SUCCESS: ${exprs.length.toString()} rules found`),
      );
    } finally {
      await rm(dir, { recursive: true });
    }
    expect(names.filter((n) => !KNOWN.has(n))).toEqual([]);
  });
});
