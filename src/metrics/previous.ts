/**
 * Reads back what the last push left: the Pushgateway's /metrics page (every group, as
 * Prometheus scrapes it) or the text of a previous --metrics-file. The text is read line by
 * line as it arrives; only the lines of pvc-chonker's counters and last success in our group
 * are looked at, and every other line is skipped without being copied. Untrusted input is
 * checked field by field, and anything unexpected is ignored rather than trusted.
 */
import { kept } from '../core/kept.js';
import { counterShapes, METRICS, type MetricDefinition } from './definitions.js';
import type { CounterValues, PreviousValues } from './series.js';
import { canonicalOrder } from './text-format.js';

/** The grouping key of our Pushgateway group; undefined when reading our own metrics file. */
export interface Group {
  job: string;
  cluster: string;
}

const PREFIX = 'pvc_chonker_';
const LAST_SUCCESS = METRICS.lastSuccessTimestampSeconds.name;

/** Counter definitions by name, with the label names each may carry (joined by ','). */
const WANTED = new Map<string, { definition: MetricDefinition; shapes: Set<string> }>(
  Object.values(METRICS)
    .filter((definition) => definition.type === 'counter')
    .map((definition) => [
      definition.name,
      { definition, shapes: new Set(counterShapes(definition).map((names) => names.join(','))) },
    ]),
);

// eslint-disable-next-line security/detect-unsafe-regex -- one line of our own families from the configured Pushgateway; anchored, no nested repetition (at worst quadratic in the line)
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+\S+)?[ \t]*$/;
const LABEL_PAIR = /[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*,?/gy;

/** Label pairs in the order they came, still escaped; undefined when the text is malformed. */
function parsePairs(text: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  LABEL_PAIR.lastIndex = 0;
  let consumed = 0;
  for (let match = LABEL_PAIR.exec(text); match !== null; match = LABEL_PAIR.exec(text)) {
    pairs.push([match[1] ?? '', match[2] ?? '']);
    consumed = LABEL_PAIR.lastIndex;
  }
  return text.slice(consumed).trim() === '' ? pairs : undefined;
}

/**
 * Accumulates the previous values from lines of text. In Pushgateway mode a sample is ours
 * when its job and cluster labels are ours and it has no instance (the Pushgateway shows
 * `instance=""` for a group without one); its remaining labels must then be one of the
 * metric's own label sets, which also tells apart a group with more grouping labels.
 */
class PreviousReader {
  readonly #group: Group | undefined;
  readonly #counters = new Map<string, Map<string, number>>();
  #lastSuccess: number | undefined;
  #found = false;

  constructor(group: Group | undefined) {
    this.#group = group;
  }

  /** One line (without its newline). */
  line(text: string): void {
    const match = SAMPLE.exec(text);
    if (match === null) return;
    const [, name = '', labelText = '', valueText = ''] = match;
    const wanted = WANTED.get(name);
    if (wanted === undefined && name !== LAST_SUCCESS) return;
    const pairs = parsePairs(labelText);
    // SAMPLE only matches a non-empty value, so Number() cannot turn '' into 0 here.
    const value = Number(valueText);
    if (pairs === undefined || Number.isNaN(value)) return;
    const own = this.#ownLabels(pairs);
    if (own === undefined) return;
    this.#found = true;
    if (wanted === undefined) {
      if (own.length === 0) this.#lastSuccess = value;
      return;
    }
    this.#counter(name, wanted.shapes, own, value);
  }

  /** The sample's labels without the grouping ones, or undefined when it is not our group's. */
  #ownLabels(pairs: [string, string][]): [string, string][] | undefined {
    const group = this.#group;
    if (group === undefined) return pairs.filter(([, value]) => value !== '');
    let job: string | undefined;
    let cluster: string | undefined;
    const own: [string, string][] = [];
    for (const [name, value] of pairs) {
      if (name === 'job') job = value;
      else if (name === 'cluster') cluster = value;
      else if (name === 'instance') {
        if (value !== '') return undefined;
      } else if (value !== '') own.push([name, value]);
    }
    // Job and cluster were validated to need no escaping, so escaped text compares as is.
    return job === group.job && cluster === group.cluster ? own : undefined;
  }

  #counter(name: string, shapes: Set<string>, own: [string, string][], value: number): void {
    // Counters never go down; a negative or infinite value is not carried forward.
    if (!Number.isFinite(value) || value < 0) return;
    const byName = new Map(own);
    const names = canonicalOrder([...byName.keys()]);
    if (byName.size !== own.length || !shapes.has(names.join(','))) return;
    const labelText = names.map((n) => `${n}="${byName.get(n) ?? ''}"`).join(',');
    kept(this.#counters, name, () => new Map<string, number>()).set(labelText, value);
  }

  /** undefined: no sample of our group at all (an empty or restarted Pushgateway). */
  result(): PreviousValues | undefined {
    if (!this.#found) return undefined;
    const counters: CounterValues = this.#counters;
    return { counters, lastSuccessSeconds: this.#lastSuccess };
  }
}

/**
 * Reads text that arrives in chunks, line by line. Only lines that start with pvc_chonker_
 * are cut out of the chunk; the Pushgateway's own metrics and other exporters' are skipped.
 */
export class PreviousTextReader {
  readonly #reader: PreviousReader;
  #rest = '';

  constructor(group: Group | undefined) {
    this.#reader = new PreviousReader(group);
  }

  write(chunk: string): void {
    const text = this.#rest === '' ? chunk : this.#rest + chunk;
    let start = 0;
    for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
      if (text.startsWith(PREFIX, start)) this.#reader.line(text.slice(start, end));
      start = end + 1;
    }
    this.#rest = text.slice(start);
  }

  end(): PreviousValues | undefined {
    if (this.#rest.startsWith(PREFIX)) this.#reader.line(this.#rest);
    this.#rest = '';
    return this.#reader.result();
  }
}

/** Reads counters and last success from a whole text (a previous metrics file, a test). */
export function previousFromText(text: string, group?: Group): PreviousValues | undefined {
  const reader = new PreviousTextReader(group);
  reader.write(text);
  return reader.end();
}

/** Reads a streamed body (the Pushgateway's /metrics page) as it arrives. */
export async function previousFromStream(
  body: AsyncIterable<Uint8Array>,
  group: Group,
): Promise<PreviousValues | undefined> {
  const reader = new PreviousTextReader(group);
  const decoder = new TextDecoder();
  for await (const chunk of body) reader.write(decoder.decode(chunk, { stream: true }));
  reader.write(decoder.decode());
  return reader.end();
}
