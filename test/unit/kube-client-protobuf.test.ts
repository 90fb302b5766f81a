/**
 * The one client's pages read as protobuf (KubeClient.pages with a PageFormat) over HTTP, against
 * a local server answering what the real API server does (test/fixtures/protobuf/): the Accept
 * sent, each page decoded by its Content-Type, a protobuf Status keeping its status and reason
 * (a 410 still starts the list again), and maxAnswerBytes bounding a bytes answer too.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConnection } from '../../src/kube/api-connection.js';
import { KubeClient, type ListPage } from '../../src/kube/client.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { createConnectionPool } from '../../src/kube/keep-alive.js';
import { PVC_PAGES } from '../../src/kube/protobuf-lists.js';
import { PROTOBUF } from '../../src/kube/protobuf.js';
import { createTransport } from '../../src/kube/transport.js';
import { DEFAULT_RETRY_POLICY, realSleep } from '../../src/retry.js';

const DIR = new URL('../fixtures/protobuf/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, DIR));

/** A length-delimited protobuf field, shorter than 128 bytes. */
function field(number: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(number << 3) | 2, value.length]), value]);
}

/** A protobuf metav1.Status in its envelope, as the API server answers a 410 Expired. */
function expiredStatus(): Buffer {
  const text = (s: string): Buffer => Buffer.from(s);
  const status = Buffer.concat([
    field(1, Buffer.alloc(0)),
    field(2, text('Failure')),
    field(3, text('The provided continue parameter is too old')),
    field(4, text('Expired')),
    Buffer.from([0x30, 0x9a, 0x03]), // code 410
  ]);
  const typeMeta = Buffer.concat([field(1, text('v1')), field(2, text('Status'))]);
  return Buffer.concat([
    Buffer.from([0x6b, 0x38, 0x73, 0x00]),
    field(1, typeMeta),
    field(2, status),
    field(3, Buffer.alloc(0)),
    field(4, Buffer.alloc(0)),
  ]);
}

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
  /** Never answered: the request stays open until the client gives it up. */
  hang?: boolean;
}

/** A request as the server saw it: when it came, and when its connection closed unanswered. */
interface Seen {
  url: string;
  accept: string;
  at: number;
  abandonedAt?: number;
}

let server: http.Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  const closing = server;
  if (closing !== undefined) await new Promise((resolve) => closing.close(resolve));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  server = undefined;
  dir = undefined;
});

/** A server answering each request with the next answer; the client to it; the Accepts seen. */
async function start(
  answers: Answer[],
  maxAnswerBytes?: number,
): Promise<{ client: KubeClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = http.createServer((request, response) => {
    const entry: Seen = {
      url: request.url ?? '',
      accept: request.headers.accept ?? '',
      at: Date.now(),
    };
    seen.push(entry);
    const answer = answers.shift() ?? {
      status: 500,
      contentType: 'text/plain',
      body: Buffer.from('no more'),
    };
    if (answer.hang === true) {
      response.on('close', () => {
        entry.abandonedAt = Date.now();
      });
      return;
    }
    response.writeHead(answer.status, { 'Content-Type': answer.contentType });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  dir = await mkdtemp(join(tmpdir(), 'kube-client-protobuf-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "http://127.0.0.1:' + String(port) + '"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const connection = loadApiConnection({ kubeconfig }, { env: {} });
  if (!connection.ok) throw new Error(connection.error);
  const client = new KubeClient({
    transport: createTransport(
      maxAnswerBytes === undefined ? connection.value : { ...connection.value, maxAnswerBytes },
      createConnectionPool(),
    ),
    timeoutMs: 5_000,
    retry: { ...DEFAULT_RETRY_POLICY, attempts: 1 },
    sleep: realSleep,
    log: pino({ level: 'silent' }),
    stop: new AbortController().signal,
  });
  return { client, seen };
}

async function pages(client: KubeClient): Promise<ListPage<V1PersistentVolumeClaim>[]> {
  const found: ListPage<V1PersistentVolumeClaim>[] = [];
  const path = '/api/v1/persistentvolumeclaims';
  for await (const page of client.pages('list pvcs', path, { limit: '2' }, { format: PVC_PAGES }))
    found.push(page);
  return found;
}

async function failure(call: Promise<unknown>): Promise<KubeApiError> {
  const error: unknown = await call.catch((e: unknown) => e);
  if (!(error instanceof KubeApiError)) throw new Error(`not a KubeApiError: ${String(error)}`);
  return error;
}

const names = (page: ListPage<V1PersistentVolumeClaim> | undefined): (string | undefined)[] =>
  page?.items.map((pvc) => pvc.metadata?.name) ?? [];

describe('KubeClient pages as protobuf', () => {
  it('asks for protobuf, restarts after a protobuf 410, and reads a JSON answer as JSON', async () => {
    const { client, seen } = await start([
      { status: 200, contentType: PROTOBUF, body: read('pvcs-page.pb') },
      { status: 410, contentType: PROTOBUF, body: expiredStatus() },
      { status: 200, contentType: 'application/json', body: read('pvcs.json') },
    ]);

    const found = await pages(client);

    expect(found.map((page) => [names(page), page.restarted])).toStrictEqual([
      [['block', 'full'], false],
      [['block', 'full', 'plain', 'vac'], true],
    ]);
    expect(seen.map((request) => request.accept)).toStrictEqual(
      Array<string>(3).fill(`${PROTOBUF}, application/json`),
    );
    expect(seen[1]?.url).toContain('continue=');
  });

  it('asks for the next page while the page before it is decoded and read', async () => {
    const { client, seen } = await start([
      { status: 200, contentType: PROTOBUF, body: read('pvcs-page.pb') },
      { status: 200, contentType: PROTOBUF, body: read('pvcs.pb') },
    ]);
    const path = '/api/v1/persistentvolumeclaims';
    /** When the caller was done with each page. */
    const doneWith: number[] = [];
    const found: (string | undefined)[][] = [];

    for await (const page of client.pages(
      'list pvcs',
      path,
      { limit: '2' },
      { format: PVC_PAGES },
    )) {
      found.push(names(page));
      // The caller's own work on the page.
      await new Promise((resolve) => setTimeout(resolve, 200));
      doneWith.push(Date.now());
    }

    expect(found).toStrictEqual([
      ['block', 'full'],
      ['block', 'full', 'plain', 'vac'],
    ]);
    expect(seen).toHaveLength(2);
    expect(seen[1]?.url).toContain('continue=');
    // The second page was asked for while its caller was still at work on the first.
    expect(seen[1]!.at).toBeLessThan(doneWith[0]!);
  });

  it('a caller that stops reading leaves no page asked for ahead open', async () => {
    const { client, seen } = await start([
      { status: 200, contentType: PROTOBUF, body: read('pvcs-page.pb') },
      { status: 200, contentType: PROTOBUF, body: Buffer.alloc(0), hang: true },
    ]);
    const path = '/api/v1/persistentvolumeclaims';
    const started = Date.now();

    for await (const page of client.pages(
      'list pvcs',
      path,
      { limit: '2' },
      { format: PVC_PAGES },
    )) {
      expect(names(page)).toStrictEqual(['block', 'full']);
      // Long enough for the page asked for ahead to reach the server.
      await new Promise((resolve) => setTimeout(resolve, 200));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(seen).toHaveLength(2);
    expect(seen[1]?.abandonedAt).toBeDefined();
    expect(seen[1]!.abandonedAt! - started).toBeLessThan(2_000);
  });

  it('a page that fails to decode leaves no page asked for ahead open', async () => {
    const text = (t: string): Buffer => Buffer.from(t);
    // A list whose metadata (and continue token) is whole and whose one item is cut short.
    const list = Buffer.concat([
      field(1, field(3, text('next-page'))),
      field(2, Buffer.from([0x0a, 0x7f])),
    ]);
    const typeMeta = Buffer.concat([
      field(1, text('v1')),
      field(2, text('PersistentVolumeClaimList')),
    ]);
    const body = Buffer.concat([
      Buffer.from([0x6b, 0x38, 0x73, 0x00]),
      field(1, typeMeta),
      field(2, list),
    ]);
    const { client, seen } = await start([
      { status: 200, contentType: PROTOBUF, body },
      { status: 200, contentType: PROTOBUF, body: Buffer.alloc(0), hang: true },
    ]);

    const error = await failure(pages(client));
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(error.message).toContain('PersistentVolumeClaimList: malformed protobuf');
    // The page asked for ahead (its token was read first) was given up with the page before it:
    // before it was sent, or once it was.
    expect(seen.length === 1 || seen[1]?.abandonedAt !== undefined).toBe(true);
  });

  it.each([
    ['status-404', 404, 'NotFound'],
    ['status-403', 403, 'Forbidden'],
  ])('%s: a protobuf Status keeps its status, reason and message', async (name, status, reason) => {
    const { client } = await start([{ status, contentType: PROTOBUF, body: read(`${name}.pb`) }]);
    const json = JSON.parse(read(`${name}.json`).toString('utf8')) as { message: string };

    const error = await failure(pages(client));

    expect([error.status, error.reason, error.detail]).toStrictEqual([
      status,
      reason,
      json.message,
    ]);
  });

  it('a malformed protobuf page is a KubeApiError', async () => {
    const body = read('pvcs.pb').subarray(0, 100);
    const { client } = await start([{ status: 200, contentType: PROTOBUF, body }]);

    const error = await failure(pages(client));

    expect(error.message).toContain('PersistentVolumeClaimList: malformed protobuf');
  });

  it('bounds a protobuf answer by maxAnswerBytes', async () => {
    const body = read('pvcs.pb');
    const { client } = await start([{ status: 200, contentType: PROTOBUF, body }], 1_000);

    const error = await failure(pages(client));

    expect(error.detail).toContain('longer than 1000 bytes');
  });
});
