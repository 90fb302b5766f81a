import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StatsErrorReason } from '../../src/core/outcome.js';
import type { PvcRef } from '../../src/core/pvc.js';
import {
  createNodeStatsSource,
  type NodeSummaryReader,
  type Permission,
} from '../../src/stats/node-stats-source.js';
import { StatsSourceError } from '../../src/stats/source-error.js';
import { createStatsTally } from '../../src/stats/tally.js';
import { DeadlineError } from '../../src/deadline.js';

// The real Summary with a pvcRef for default/pvc-test (see kubelet-summary.test.ts).
const SUMMARY: unknown = JSON.parse(
  readFileSync(new URL('../fixtures/kubelet/summary-with-pvcs.json', import.meta.url), 'utf8'),
);
const PVC: PvcRef = { namespace: 'default', name: 'pvc-test' };

/** A reader whose answer per node is a Summary (sent as JSON), a body as it is, or an error. */
function reader(
  source: NodeSummaryReader['source'],
  answers: Record<string, unknown>,
): NodeSummaryReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    source,
    asked,
    read(node) {
      asked.push(node);
      const answer = answers[node];
      if (answer instanceof Error) return Promise.reject(answer);
      const body = typeof answer === 'string' ? answer : JSON.stringify(answer);
      return Promise.resolve(Buffer.from(body, 'utf8'));
    },
    failure: (node, description) => `${source} ${node}: ${description}`,
  };
}

function refusal(reason: StatsErrorReason): StatsSourceError {
  return new StatsSourceError(reason, `refused (${reason})`);
}

/** The node's failure wrapped as the real http client would give it. */
const TIMED_OUT = new Error('The operation was aborted', { cause: new DeadlineError(1000) });
/** The transport's deadline before the connection was made. */
const NO_CONNECTION = new Error('The operation was aborted', {
  cause: new DeadlineError(1000, true),
});

function setup(
  direct: Record<string, unknown>,
  permission: Permission = { allowed: true },
): {
  collect: () => Promise<Map<string, unknown>>;
  proxy: ReturnType<typeof reader>;
  checks: () => number;
  tally: ReturnType<typeof createStatsTally>;
} {
  const nodes = Object.keys(direct);
  const proxy = reader('kubelet-proxy', Object.fromEntries(nodes.map((n) => [n, SUMMARY])));
  let checks = 0;
  const tally = createStatsTally(['kubelet', 'kubelet-proxy']);
  const source = createNodeStatsSource({
    primary: reader('kubelet', direct),
    fallback: {
      reader: proxy,
      permitted: () => {
        checks++;
        return Promise.resolve(permission);
      },
    },
    concurrency: 4,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    tally,
  });
  return {
    collect: () => source.collect(new Map(nodes.map((node) => [node, [PVC]]))),
    proxy,
    checks: () => checks,
    tally,
  };
}

describe('createNodeStatsSource with a fallback', () => {
  it.each<[string, unknown, 'kubelet' | 'kubelet-proxy']>([
    ['an answer', SUMMARY, 'kubelet'],
    ['401', refusal('unauthorized'), 'kubelet-proxy'],
    ['403', refusal('forbidden'), 'kubelet-proxy'],
    ['no connection', refusal('unreachable'), 'kubelet-proxy'],
    ['a connection that did not open in time', NO_CONNECTION, 'kubelet-proxy'],
    ['a certificate that does not verify', refusal('tls'), 'kubelet-proxy'],
    ['a node without an address', refusal('no-address'), 'kubelet-proxy'],
    ['a kubelet that timed out after connecting', TIMED_OUT, 'kubelet'],
    ['an HTTP 503', refusal('http-error'), 'kubelet'],
    ['a body that is not a Summary', refusal('bad-response'), 'kubelet'],
  ])('after %s, the PVC is read from %s', async (_name, answer, source) => {
    const { collect } = setup({ n1: answer });

    const result = await collect();

    expect((result.get('default/pvc-test') as { source: string }).source).toBe(source);
  });

  it('asks for the permission once per pass, however many nodes fail', async () => {
    const { proxy, checks } = setup({ n1: refusal('forbidden') });
    const tally = createStatsTally(['kubelet', 'kubelet-proxy']);
    const failing = reader('kubelet', {
      n1: refusal('forbidden'),
      n2: refusal('unreachable'),
      n3: refusal('forbidden'),
    });
    let asked = 0;
    const source = createNodeStatsSource({
      primary: failing,
      fallback: {
        reader: proxy,
        permitted: () => {
          asked++;
          return Promise.resolve({ allowed: false, why: 'not allowed to get nodes/proxy' });
        },
      },
      concurrency: 3,
      signal: new AbortController().signal,
      log: pino({ level: 'silent' }),
      tally,
    });
    const byNode = new Map(['n1', 'n2', 'n3'].map((n) => [n, [{ namespace: n, name: 'data' }]]));

    const result = await source.collect(byNode);

    expect(asked).toBe(1);
    expect(checks()).toBe(0);
    expect(proxy.asked).toEqual([]);
    expect(result.get('n2/data')).toEqual({
      kind: 'unavailable',
      source: 'kubelet',
      detail:
        'kubelet n2: refused (unreachable); no fallback through the API server: not allowed to get nodes/proxy',
    });
    expect(tally.report().errors).toEqual([
      { source: 'kubelet', reason: 'forbidden', count: 2 },
      { source: 'kubelet', reason: 'unreachable', count: 1 },
    ]);
  });

  it('a kubelet that answers 200 with something else than JSON costs only its own PVCs', async () => {
    const tally = createStatsTally(['kubelet']);
    const source = createNodeStatsSource({
      primary: reader('kubelet', { n1: '<html><body>502 Bad Gateway</body></html>', n2: SUMMARY }),
      fallback: undefined,
      concurrency: 2,
      signal: new AbortController().signal,
      log: pino({ level: 'silent' }),
      tally,
    });

    const result = await source.collect(
      new Map([
        ['n1', [{ namespace: 'db', name: 'data' }]],
        ['n2', [PVC]],
      ]),
    );

    const failed = result.get('db/data');
    expect(failed).toMatchObject({ kind: 'unavailable', source: 'kubelet' });
    expect(failed?.kind === 'unavailable' && failed.detail).toMatch(
      /^kubelet n1: the answer is not a kubelet Summary: .*<html>.* is not valid JSON$/,
    );
    expect(result.get('default/pvc-test')).toMatchObject({ kind: 'found', source: 'kubelet' });
    expect(tally.report().errors).toEqual([
      { source: 'kubelet', reason: 'bad-response', count: 1 },
    ]);
  });

  it('counts the PVCs the fallback read under its own source', async () => {
    const { collect, proxy, tally } = setup({ n1: refusal('forbidden') });
    const first = await collect();

    expect(tally.report().pvcs).toEqual({ 'kubelet-proxy': 1 });
    expect(first.get('default/pvc-test')).toMatchObject({ kind: 'found', source: 'kubelet-proxy' });
    expect(proxy.asked).toEqual(['n1']);
  });
});
