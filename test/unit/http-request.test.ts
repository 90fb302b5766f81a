// The stats sources' HTTP client under its deadline: a server that never completes the TLS
// handshake is out of reach (no connection), one that accepted the request and never answers
// has timed out; the run's stop ends a call at once. Loopback servers only.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCa } from '../../sim/tls.js';
import { httpRequest } from '../../src/stats/http-request.js';
import { describeFailure, reasonOf } from '../../src/stats/source-error.js';

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

async function call(port: number, stop = new AbortController().signal): Promise<unknown> {
  try {
    return await httpRequest(
      {
        method: 'GET',
        url: new URL(`https://127.0.0.1:${String(port)}/stats/summary`),
        headers: {},
        tls: { rejectUnauthorized: false },
      },
      { timeoutMs: 300, stop },
    );
  } catch (error) {
    return error;
  }
}

describe('httpRequest', () => {
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
    expect(describeFailure(refused, new AbortController().signal)).toMatch(/ECONNREFUSED/);
    expect(describeFailure(stopped, stop.signal)).toBe('aborted: the run was stopped');
    expect(Date.now() - started).toBeLessThan(250);
  });

  it('an answer of any status comes back whole, with its headers', async () => {
    const ca = await createSimCa();
    const pair = await ca.issueServingCertificate(['127.0.0.1']);
    const port = await listen(
      createHttpsServer({ key: pair.keyPem, cert: pair.certPem }, (_req, res) => {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('Forbidden (user=x, verb=get, resource=nodes, subresource=stats)');
      }),
    );

    const answer = await call(port);

    expect(answer).toMatchObject({
      status: 403,
      body: 'Forbidden (user=x, verb=get, resource=nodes, subresource=stats)',
      headers: { 'content-type': 'text/plain' },
    });
  });
});
