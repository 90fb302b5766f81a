/** publishMetrics' retry rules with an injected transport and sleep: no network, no waiting. */
import { describe, expect, it } from 'vitest';
import { parseMetricsConfig, type MetricsConfig } from '../../src/metrics/config.js';
import { publishMetrics } from '../../src/metrics/publish.js';
import type { HttpSend } from '../../src/metrics/pushgateway-client.js';
import { expanded, memoryLogger, summary } from './builders.js';

/** A /metrics page with only the Pushgateway's own metrics: no group of ours yet. */
const EMPTY_PAGE =
  '# TYPE pushgateway_build_info gauge\npushgateway_build_info{version="1.5.1"} 1\n';

function config(env: Record<string, string> = {}): MetricsConfig {
  const parsed = parseMetricsConfig({ pushgatewayUrl: 'http://pg.example:9091/prefix' }, env);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

/** A transport that answers from a script of statuses (or thrown errors) and records the calls. */
function scriptedSend(script: (number | Error)[]) {
  const calls: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string | undefined;
  }[] = [];
  const send: HttpSend = (url, call) => {
    calls.push({
      method: call.method,
      url: url.href,
      headers: { ...call.headers },
      // The PUT body comes in chunks; join them as the server would read them.
      body: call.body === undefined ? undefined : [...call.body].join(''),
    });
    const step = script.shift() ?? 200;
    if (step instanceof Error) return Promise.reject(step);
    const body = call.method === 'GET' ? EMPTY_PAGE : '';
    return Promise.resolve(
      new Response(step === 200 && body !== '' ? body : null, { status: step }),
    );
  };
  return { send, calls };
}

describe('publishMetrics retry and auth', () => {
  it('retries a 503 with backoff, then pushes to the group URL under the route prefix', async () => {
    const { send, calls } = scriptedSend([503, 200, 200]);
    const sleeps: number[] = [];

    const result = await publishMetrics(summary([expanded('web')]), config(), {
      log: memoryLogger().log,
      send,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });

    expect(result).toEqual({ pushed: true, error: undefined });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET http://pg.example:9091/prefix/metrics',
      'GET http://pg.example:9091/prefix/metrics',
      'PUT http://pg.example:9091/prefix/metrics/job/pvc-chonker/cluster/default',
    ]);
    expect(sleeps).toEqual([250]);
    expect(calls[2]?.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(calls[2]?.body).toContain(
      'pvc_chonker_expansions_total{namespace="default",pvc="web",provider="generic"} 1',
    );
  });

  it('does not retry a 400 (the Pushgateway rejected the data)', async () => {
    const { send, calls } = scriptedSend([200, 400]);

    const result = await publishMetrics(summary([]), config(), {
      log: memoryLogger().log,
      send,
      sleep: () => Promise.resolve(),
    });

    expect(result).toEqual({
      pushed: false,
      error:
        'PUT http://pg.example:9091/prefix/metrics/job/pvc-chonker/cluster/default failed after 1 attempt(s): HTTP 400',
    });
    expect(calls).toHaveLength(2);
  });

  it('gives up after the configured retries with the backoff doubling', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'ECONNREFUSED' },
    });
    const { send, calls } = scriptedSend([refused, refused, refused, refused]);
    const sleeps: number[] = [];

    const result = await publishMetrics(
      summary([]),
      { ...config(), retries: 3 },
      {
        log: memoryLogger().log,
        send,
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
      },
    );

    expect(result.error).toBe(
      'GET http://pg.example:9091/prefix/metrics failed after 4 attempt(s): ECONNREFUSED',
    );
    expect(calls).toHaveLength(4);
    expect(sleeps).toEqual([250, 500, 1000]);
  });

  it('reads the bearer token file at push time and strips its trailing newline', async () => {
    const { send, calls } = scriptedSend([200, 200]);

    const result = await publishMetrics(
      summary([]),
      config({ PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN_FILE: '/secrets/token' }),
      {
        log: memoryLogger().log,
        send,
        readFile: (path) => Promise.resolve(path === '/secrets/token' ? 'tok-123\n' : ''),
      },
    );

    expect(result.pushed).toBe(true);
    expect(calls.map((c) => c.headers['authorization'])).toEqual([
      'Bearer tok-123',
      'Bearer tok-123',
    ]);
  });

  it('an unreadable credential file: no request, an error naming the URL and the file', async () => {
    const { send, calls } = scriptedSend([]);

    const result = await publishMetrics(
      summary([]),
      config({ PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN_FILE: '/secrets/missing' }),
      {
        log: memoryLogger().log,
        send,
        readFile: () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' })),
      },
    );

    expect(result).toEqual({
      pushed: false,
      error: 'http://pg.example:9091/prefix: cannot read credential file /secrets/missing: ENOENT',
    });
    expect(calls).toHaveLength(0);
  });
});
