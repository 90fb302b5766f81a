/**
 * A 401 answered to cached credentials is tried once more with fresh ones (a token rotated since
 * they were read), and only when the fresh ones differ: a server that refuses the token itself (a
 * kubelet without webhook authentication, a Prometheus behind another proxy) is asked once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestCredentials } from '../../src/kube/api-connection.js';
import { createConnectionPool } from '../../src/kube/keep-alive.js';
import { createTransport, HttpStatusError } from '../../src/kube/transport.js';

let server: http.Server | undefined;
afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing !== undefined)
    await new Promise((resolve) => {
      closing.close(resolve);
    });
});

/** A server that accepts only `Bearer good`, and the Authorization of each request it got. */
async function serve(): Promise<{ url: URL; seen: (string | undefined)[] }> {
  const seen: (string | undefined)[] = [];
  server = http.createServer((request, response) => {
    seen.push(request.headers.authorization);
    const ok = request.headers.authorization === 'Bearer good';
    response.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(ok ? { kind: 'Ok' } : { kind: 'Status', code: 401 }));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${String(port)}`), seen };
}

describe('transport: a 401 to cached credentials', () => {
  it.each([
    ['the token was rotated: asked again with the new one', ['old', 'good'], 200, ['old', 'good']],
    ['the token is refused as it is: asked once', ['bad', 'bad'], 401, ['bad']],
  ] as const)('%s', async (_case, tokens, status, sent) => {
    const { url, seen } = await serve();
    let read = 0;
    const transport = createTransport(
      {
        server: url,
        source: 'test',
        warnings: [],
        credentials: (): Promise<RequestCredentials> =>
          Promise.resolve({
            tls: {},
            headers: {
              Authorization: `Bearer ${tokens[Math.min(read++, tokens.length - 1)] ?? ''}`,
            },
          }),
      },
      createConnectionPool(),
    );

    const answer = await transport
      .send(
        { method: 'GET', path: '/api' },
        { deadlineMs: 5_000, stop: new AbortController().signal },
      )
      .then(
        () => 200,
        (error: unknown) => (error instanceof HttpStatusError ? error.status : -1),
      );

    expect(answer).toBe(status);
    expect(seen).toEqual(sent.map((token) => `Bearer ${token}`));
  });
});
