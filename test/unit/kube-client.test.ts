/**
 * The one Kubernetes client (src/kube/client.ts) against the simulated API server, over HTTP:
 * one error with the status and the Status reason, one budget per call, paging with `continue`
 * (and its restart after a 410), and a streamed watch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConnection } from '../../src/kube/api-connection.js';
import { KubeClient } from '../../src/kube/client.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { createConnectionPool } from '../../src/kube/keep-alive.js';
import { createTransport } from '../../src/kube/transport.js';
import { DEFAULT_RETRY_POLICY, realSleep } from '../../src/retry.js';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from '../sim/fixtures.js';

let sim: SimCluster | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  sim = undefined;
  dir = undefined;
});

async function start(
  names: readonly string[],
  timeoutMs = 5_000,
  maxAnswerBytes?: number,
): Promise<KubeClient> {
  sim = await startSimCluster({ seed: baseSeed(names.map((name) => ({ name, node: 'n1' }))) });
  dir = await mkdtemp(join(tmpdir(), 'kube-client-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
  const connection = loadApiConnection({ kubeconfig }, { env: {} });
  if (!connection.ok) throw new Error(connection.error);
  return new KubeClient({
    transport: createTransport(
      maxAnswerBytes === undefined ? connection.value : { ...connection.value, maxAnswerBytes },
      createConnectionPool(),
    ),
    timeoutMs,
    retry: DEFAULT_RETRY_POLICY,
    sleep: realSleep,
    log: pino({ level: 'silent' }),
    stop: new AbortController().signal,
  });
}

async function failure(call: Promise<unknown>): Promise<KubeApiError> {
  const error: unknown = await call.catch((e: unknown) => e);
  if (!(error instanceof KubeApiError)) throw new Error(`not a KubeApiError: ${String(error)}`);
  return error;
}

const PVCS = '/api/v1/namespaces/apps/persistentvolumeclaims';

describe('KubeClient', () => {
  it.each([
    ['a missing object', 'GET', `${PVCS}/nope`, 404, 'NotFound'],
    ['a create that exists', 'POST', PVCS, 409, 'AlreadyExists'],
  ] as const)(
    '%s: one KubeApiError with the status and the Status reason',
    async (_case, method, path, status, reason) => {
      const client = await start(['data']);
      const body = { metadata: { name: 'data' }, spec: {} };

      const error = await failure(client.request('try', { method, path, body }));

      expect({ status: error.status, reason: error.reason, unanswered: error.unanswered }).toEqual({
        status,
        reason,
        unanswered: false,
      });
      expect(error.message.startsWith(`try: HTTP ${status} `)).toBe(true);
    },
  );

  it('spends one budget on a hung call, its retries included', async () => {
    const client = await start(['data']);
    sim!.faults.add({ method: 'GET', path: `${PVCS}$`, hang: true });

    const error = await failure(
      client.request('list', { method: 'GET', path: PVCS }, { budget: client.budget(300) }),
    );

    expect(error.detail).toBe('timed out after 300 ms');
    expect(error.unanswered).toBe(true);
    expect(sim!.requests.filter((r) => r.path === PVCS)).toHaveLength(1);
  });

  it('pages with continue, and says so when an expired token starts the list again', async () => {
    const client = await start(['a', 'b', 'c'], 5_000);
    const seen: { names: string[]; restarted: boolean }[] = [];

    for await (const page of client.pages<{ metadata: { name: string } }>('list', PVCS, {
      limit: '1',
    })) {
      seen.push({ names: page.items.map((i) => i.metadata.name), restarted: page.restarted });
      if (seen.length === 2) sim!.compact();
    }

    expect(seen).toEqual([
      { names: ['a'], restarted: false },
      { names: ['b'], restarted: false },
      { names: ['a'], restarted: true },
      { names: ['b'], restarted: false },
      { names: ['c'], restarted: false },
    ]);
    expect(sim!.requests.map((r) => r.status)).toContain(410);
  });

  it('streams a watch event by event, and ends with the stop', async () => {
    const client = await start([]);
    const stop = new AbortController();
    const events: string[] = [];

    const watching = client.watch(
      'watch',
      PVCS,
      {},
      {
        deadlineMs: 10_000,
        stop: stop.signal,
        onEvent: (event) => {
          const { type, object } = event as {
            type: string;
            object: { metadata: { name: string } };
          };
          events.push(`${type} ${object.metadata.name}`);
          if (events.length === 1) stop.abort(new Error('enough'));
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim!.putObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'new', namespace: 'apps' },
      spec: { resources: { requests: { storage: '1Gi' } } },
    });

    const error = await failure(watching);
    expect(events).toEqual(['ADDED new']);
    expect(error.detail).toBe('abandoned: enough');
  });

  it('bounds one event of a watch, not the watch: small events pass, a huge one ends it', async () => {
    const client = await start([], 5_000, 4096);
    const events: string[] = [];
    const watching = client.watch(
      'watch',
      PVCS,
      {},
      {
        deadlineMs: 10_000,
        stop: new AbortController().signal,
        onEvent: (event) => {
          events.push((event as { object: { metadata: { name: string } } }).object.metadata.name);
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const claim = (name: string, note: string): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'apps', annotations: { note } },
      spec: { resources: { requests: { storage: '1Gi' } } },
    });
    // Together more than 4 KiB, each well under it.
    for (let i = 0; i < 8; i += 1) sim!.putObject(claim(`small-${String(i)}`, 'x'.repeat(600)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    sim!.putObject(claim('huge', 'x'.repeat(8192)));

    const error = await failure(watching);
    expect(events).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `small-${String(i)}`));
    expect(error.message).toContain('the answer is longer than 4096 bytes');
  });
});
