import { afterEach, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster, type SimClusterOptions } from '../../sim/index.js';
import { apiFailure, baseSeed, clientsFor, raw } from './fixtures.js';

let sim: SimCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Omit<SimClusterOptions, 'seed'> = {}): Promise<SimCluster> {
  sim = await startSimCluster({
    seed: baseSeed([{ name: 'data', node: 'n1', usedGi: 1 }]),
    ...options,
  });
  return sim;
}

describe('fault injection and the request log', () => {
  it('fails matching requests with a Status for `times` requests, then expires the rule', async () => {
    const s = await start();
    const c = await clientsFor(s);
    s.faults.add({
      method: 'GET',
      path: '^/api/v1/persistentvolumeclaims$',
      status: 503,
      times: 1,
    });

    const failure = await apiFailure(() => c.core.listPersistentVolumeClaimForAllNamespaces());
    const ok = await c.core.listPersistentVolumeClaimForAllNamespaces();

    expect(failure.code).toBe(503);
    expect(failure.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'ServiceUnavailable',
      code: 503,
    });
    expect(ok.items).toHaveLength(1);
    expect(s.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/api/v1/persistentvolumeclaims', 503],
      ['GET', '/api/v1/persistentvolumeclaims', 200],
    ]);
    expect(s.faults.rules).toHaveLength(0);
  });

  it('sends Retry-After with 429 and matches only the given method', async () => {
    const s = await start();
    s.faults.add({
      method: 'PATCH',
      path: /persistentvolumeclaims\/data$/,
      status: 429,
      retryAfterSeconds: 3,
    });

    const get = await raw(s, '/api/v1/namespaces/apps/persistentvolumeclaims/data');
    const patch = await raw(s, '/api/v1/namespaces/apps/persistentvolumeclaims/data', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: '{}',
    });

    expect(get.status).toBe(200);
    expect(patch.status).toBe(429);
    expect(patch.headers.get('retry-after')).toBe('3');
    expect(patch.json).toMatchObject({
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 3 },
    });
    expect(s.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      status: 429,
      body: {},
      contentType: 'application/merge-patch+json',
    });
  });

  it('hangs and resets requests, logging them with status 0', async () => {
    const s = await start();
    s.faults.add({ path: '/nodes$', hang: true, times: 1 });
    s.faults.add({ path: '/namespaces$', reset: true, times: 1 });

    const [hung, reset] = await Promise.allSettled([
      fetch(`${s.url}/api/v1/nodes`, { signal: AbortSignal.timeout(150) }),
      fetch(`${s.url}/api/v1/namespaces`),
    ]);

    expect(hung.status).toBe('rejected');
    expect(reset.status).toBe('rejected');
    expect(s.requests.map((r) => r.status)).toEqual([0, 0]);
    expect((await raw(s, '/api/v1/nodes')).status).toBe(200);
  });

  it('serves a request and then never answers it: the write applies, the log says so', async () => {
    const s = await start();
    s.faults.add({
      method: 'PATCH',
      path: '/persistentvolumeclaims/data$',
      hangAfterServing: true,
    });

    const patch = fetch(`${s.url}/api/v1/namespaces/apps/persistentvolumeclaims/data`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { seen: 'yes' } } }),
      signal: AbortSignal.timeout(300),
    });

    await expect(patch).rejects.toThrow();
    const stored = s.getObject('PersistentVolumeClaim', 'apps', 'data') as {
      metadata: { labels?: Record<string, string> };
    };
    expect(stored.metadata.labels?.['seen']).toBe('yes');
    expect(s.requests.map((r) => [r.method, r.status, r.unanswered])).toEqual([
      ['PATCH', 200, true],
    ]);
  });

  it('close() returns promptly while a request is hanging', async () => {
    const s = await start();
    s.faults.add({ hang: true });
    const hung = fetch(`${s.url}/api/v1/nodes`).catch(() => 'closed');
    await new Promise((resolve) => setTimeout(resolve, 20));

    const started = Date.now();
    await s.close();
    sim = undefined;

    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hung).toBe('closed');
  });

  it('delays requests with delayMs and the latencyMs option', async () => {
    const s = await start({ latencyMs: 5 });
    s.faults.add({ path: '/nodes$', delayMs: 80, times: 1 });

    await raw(s, '/api/v1/nodes');
    await raw(s, '/api/v1/namespaces');

    expect(s.requests[0]?.durationMs).toBeGreaterThanOrEqual(80);
    expect(s.requests[1]?.durationMs).toBeGreaterThanOrEqual(4);
    expect(s.requests[1]?.startedAt).toBeGreaterThanOrEqual(s.requests[0]?.startedAt ?? 0);
  });

  it('lets another process steer the sim through /_sim/ endpoints', async () => {
    const s = await start({ resizeDelayMs: 60_000 });
    const post = (path: string, body: unknown): ReturnType<typeof raw> =>
      raw(s, path, { method: 'POST', body: JSON.stringify(body) });

    await post('/_sim/faults', {
      method: 'GET',
      path: '^/api/v1/nodes$',
      status: 500,
      message: 'etcdserver: request timed out',
    });
    const failed = await raw(s, '/api/v1/nodes');
    await raw(s, '/_sim/faults', { method: 'DELETE' });
    await post('/_sim/faults', { node: 'n1', status: 503 });
    const kubelet = await raw(s, '/api/v1/nodes/n1/proxy/stats/summary');
    await raw(s, '/_sim/faults', { method: 'DELETE' });
    await raw(s, '/api/v1/namespaces/apps/persistentvolumeclaims/data', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { resources: { requests: { storage: '11Gi' } } } }),
    });
    await post('/_sim/settle', {});
    const log = await raw(s, '/_sim/requests');

    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({
      reason: 'InternalError',
      message: 'etcdserver: request timed out',
    });
    expect(kubelet.status).toBe(503);
    expect(
      (
        s.getObject('PersistentVolumeClaim', 'apps', 'data') as {
          status: { capacity: { storage: string } };
        }
      ).status.capacity.storage,
    ).toBe('11Gi');
    expect(
      (log.json as { path: string; status: number }[]).map((e) => `${e.status} ${e.path}`),
    ).toEqual([
      '500 /api/v1/nodes',
      '503 /api/v1/nodes/n1/proxy/stats/summary',
      '200 /api/v1/namespaces/apps/persistentvolumeclaims/data',
    ]);
  });
});
