// A stats source's call (a kubelet's, Prometheus') on the one client's transport, aimed at
// another server: a server that never completes the TLS handshake is out of reach (no
// connection), one that accepted the request and never answers has timed out; the run's stop
// ends a call at once; an error answer keeps its status and its words. Loopback servers only.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCa } from '../../sim/tls.js';
import { KubeClient } from '../../src/kube/client.js';
import { createConnectionPool } from '../../src/kube/keep-alive.js';
import { createTransport } from '../../src/kube/transport.js';
import { DEFAULT_RETRY_POLICY } from '../../src/retry.js';
import { describeCall, describeFailure, reasonOf } from '../../src/stats/source-error.js';

const servers: (Server | TcpServer)[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) =>
          s.close(() => {
            resolve();
          }),
        ),
    ),
  );
});

async function listen(server: Server | TcpServer): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** One call as a stats source makes it: one attempt, a 300 ms budget, the run's stop. */
async function call(
  port: number,
  stop = new AbortController().signal,
  maxAnswerBytes?: number,
): Promise<unknown> {
  const client = new KubeClient({
    transport: createTransport(
      {
        server: new URL(`https://127.0.0.1:${String(port)}`),
        source: 'a kubelet',
        warnings: [],
        credentials: () => Promise.resolve({ tls: { rejectUnauthorized: false }, headers: {} }),
        ...(maxAnswerBytes === undefined ? {} : { maxAnswerBytes }),
      },
      createConnectionPool(),
    ),
    timeoutMs: 300,
    retry: DEFAULT_RETRY_POLICY,
    sleep: () => Promise.resolve(),
    log: pino({ level: 'silent' }),
    stop: new AbortController().signal,
  });
  try {
    return await client.request(
      'get stats',
      { method: 'GET', path: '/stats/summary' },
      { budget: client.budget(300), stop, attempts: 1 },
    );
  } catch (error) {
    return error;
  }
}

async function answering(status: number, body: string): Promise<number> {
  const ca = await createSimCa();
  const pair = await ca.issueServingCertificate(['127.0.0.1']);
  return listen(
    createHttpsServer({ key: pair.keyPem, cert: pair.certPem }, (_req, res) => {
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(body);
    }),
  );
}

describe('a stats call on the one transport', () => {
  it('a handshake that never ends is no connection: unreachable, not a timeout', async () => {
    // Accepts TCP and says nothing: TLS never completes.
    const port = await listen(createTcpServer(() => undefined));

    const error = await call(port);

    expect(reasonOf(error)).toBe('unreachable');
    expect(describeFailure(error, new AbortController().signal)).toBe(
      'no connection within 300 ms',
    );
  });

  it('a server that accepted the request and never answers has timed out', async () => {
    const ca = await createSimCa();
    const pair = await ca.issueServingCertificate(['127.0.0.1']);
    const port = await listen(
      createHttpsServer({ key: pair.keyPem, cert: pair.certPem }, () => undefined),
    );

    const error = await call(port);

    expect(reasonOf(error)).toBe('timeout');
    expect(describeFailure(error, new AbortController().signal)).toBe('timed out');
  });

  it('a refused connection is unreachable, and the run’s stop ends a call at once', async () => {
    const port = await listen(createTcpServer(() => undefined));
    const closed = await listen(createTcpServer());
    servers.pop()?.close();
    const stop = new AbortController();

    const refused = await call(closed);
    const started = Date.now();
    const pending = call(port, stop.signal);
    stop.abort(new Error('SIGTERM'));
    const stopped = await pending;

    expect(reasonOf(refused)).toBe('unreachable');
    expect(describeCall(refused, new AbortController().signal)).toMatch(/ECONNREFUSED/);
    expect(describeFailure(stopped, stop.signal)).toBe('aborted: the run was stopped');
    expect(Date.now() - started).toBeLessThan(250);
  });

  it.each([
    [
      'a kubelet’s refusal, in its words',
      403,
      'Forbidden (user=x, verb=get, resource=nodes, subresource=stats)\n',
      'forbidden',
      'HTTP 403: Forbidden (user=x, verb=get, resource=nodes, subresource=stats)',
    ],
    [
      'Prometheus’ own error',
      400,
      '{"status":"error","errorType":"bad_data","error":"parse error"}',
      'http-error',
      'HTTP 400: bad_data: parse error',
    ],
    ['a gateway’s text', 401, 'no org id\n', 'unauthorized', 'HTTP 401: no org id'],
    [
      'a 2xx that is not JSON',
      200,
      '<html>',
      'bad-response',
      `ERR_NOT_JSON: GET /stats/summary: the response is not JSON: Unexpected token '<', "<html>" is not valid JSON`,
    ],
  ])('%s', async (_, status, body, reason, description) => {
    const port = await answering(status, body);

    const error = await call(port);

    expect(reasonOf(error)).toBe(reason);
    expect(describeCall(error, new AbortController().signal)).toBe(description);
  });

  it('an answer longer than the server’s limit fails its own call: bad-response, in words', async () => {
    const port = await answering(200, `{"pods":[${'{},'.repeat(2000)}{}]}`);

    const fits = await call(port, new AbortController().signal, 1 << 20);
    const error = await call(port, new AbortController().signal, 4096);

    expect(fits).toMatchObject({ pods: expect.any(Array) as unknown });
    expect(reasonOf(error)).toBe('bad-response');
    expect(describeCall(error, new AbortController().signal)).toBe(
      'ERR_ANSWER_TOO_LARGE: GET /stats/summary: the answer is longer than 4096 bytes',
    );
  });
});
