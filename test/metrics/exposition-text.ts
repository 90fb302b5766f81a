/**
 * A strict reader of the exposition text pvc-chonker writes, for tests: every sample belongs to
 * the family declared by the HELP and TYPE lines just before it, no series appears twice, and
 * label values are unescaped. It throws on anything else, so a test that reads text through it
 * also checks that the text is well-formed.
 */
import { renderExposition } from '../../src/metrics/exposition.js';
import { planMetrics, type PreviousValues, type PvcMetrics } from '../../src/metrics/series.js';
import type { RunSummary } from '../../src/core/outcome.js';

export type Labels = Readonly<Record<string, string>>;

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: { labels: Labels; value: number }[];
}

// eslint-disable-next-line security/detect-unsafe-regex -- test parser over text the tests themselves produce
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Labels {
  const labels: Record<string, string> = {};
  PAIR.lastIndex = 0;
  while (PAIR.lastIndex < text.length) {
    const match = PAIR.exec(text);
    if (match === null) throw new Error(`bad labels: ${line}`);
    const [, name = '', value = ''] = match;
    if (name in labels) throw new Error(`label ${name} twice: ${line}`);
    labels[name] = unescape(value);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  if (text === '' || (Number.isNaN(value) && text !== 'NaN')) throw new Error(`bad value: ${line}`);
  return value;
}

export function parseExposition(text: string): Family[] {
  const families: Family[] = [];
  const seen = new Set<string>();
  let help: { name: string; text: string } | undefined;
  if (!text.endsWith('\n')) throw new Error('text does not end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const helpMatch = /^# HELP (\S+) (.*)$/.exec(line);
    const typeMatch = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (helpMatch !== null) {
      help = { name: helpMatch[1] ?? '', text: helpMatch[2] ?? '' };
    } else if (typeMatch !== null) {
      const name = typeMatch[1] ?? '';
      if (help?.name !== name) throw new Error(`TYPE without HELP: ${line}`);
      if (families.some((f) => f.name === name)) throw new Error(`family twice: ${name}`);
      families.push({ name, type: typeMatch[2] ?? '', help: help.text, samples: [] });
    } else {
      const match = SAMPLE.exec(line);
      const family = families.at(-1);
      if (match === null || family === undefined || match[1] !== family.name)
        throw new Error(`sample outside its family: ${line}`);
      const labels = parseLabels(match[2] ?? '', line);
      const key = `${family.name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`series twice: ${line}`);
      seen.add(key);
      family.samples.push({ labels, value: parseValue(match[3] ?? '', line) });
    }
  }
  return families;
}

/** The families one run exposes, as read back from its text. */
export function buildFamilies(
  summary: RunSummary,
  previous: PreviousValues,
  pvcMetrics?: PvcMetrics,
): Family[] {
  return parseExposition(renderExposition(planMetrics(summary, previous, pvcMetrics)));
}

export function samples(families: Family[], name: string): { labels: Labels; value: number }[] {
  return families.find((f) => f.name === name)?.samples ?? [];
}

/** The value of the series with exactly these labels; undefined when there is none. */
export function value(families: Family[], name: string, labels: Labels = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples(families, name).find(
    (s) => JSON.stringify(Object.entries(s.labels).sort()) === want,
  )?.value;
}
