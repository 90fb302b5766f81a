/**
 * The floor's plan (floor.ts) sent through the CLI's own client instead of bare node:http: the
 * KubeClient (one budget per call, retries, the error model) over its transport (credentials,
 * deadlines, the keep-alive pool), JSON answers as the floor reads them. Its CPU over the floor's
 * is what the client adds to each request; the CLI's over this one is the pass's own work.
 * `node dist/bench/client-floor.js PLAN.json`.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { KubeClient } from '../src/kube/client.js';
import { createConnectionPool } from '../src/kube/keep-alive.js';
import { createTransport } from '../src/kube/transport.js';
import { DEFAULT_RETRY_POLICY, realSleep } from '../src/retry.js';
import { runPlan, type FloorRequest } from './floor.js';

export const CLIENT_FLOOR_SCRIPT = fileURLToPath(import.meta.url);

function clientFor(server: URL): KubeClient {
  return new KubeClient({
    transport: createTransport(
      {
        server,
        source: 'bench',
        warnings: [],
        credentials: () => Promise.resolve({ tls: {}, headers: {} }),
      },
      createConnectionPool(),
    ),
    timeoutMs: 15_000,
    retry: DEFAULT_RETRY_POLICY,
    sleep: realSleep,
    log: pino({ level: 'silent' }),
    stop: new AbortController().signal,
  });
}

if (process.argv[1] === CLIENT_FLOOR_SCRIPT) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node dist/bench/client-floor.js PLAN.json');
  let client: KubeClient | undefined;
  await runPlan(file, (base: URL, request: FloorRequest) => {
    client ??= clientFor(base);
    const [path = '', search = ''] = request.path.split('?', 2);
    return client.request('bench', {
      method: request.method as 'GET' | 'POST' | 'PATCH',
      path,
      query: Object.fromEntries(new URLSearchParams(search)),
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.contentType === undefined ? {} : { contentType: request.contentType }),
    });
  });
}
