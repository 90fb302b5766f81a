// The sim's kubelets reached directly: HTTPS with a certificate of the sim's CA, and the kubelet's
// webhook authentication and authorization (a TokenReview and a SubjectAccessReview against the
// API server for every request), the path → subresource mapping of pkg/kubelet/server/auth.go,
// and the figures of the node proxy's Summary, also as kubelet_volume_stats_* for Prometheus.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goFloat, volumeExposition } from '../../sim/kubelet-server.js';
import {
  kubeletSubresource,
  SIM_KUBELET_TOKEN,
  startFakeKubelet,
  startSimCluster,
  type SimCluster,
} from '../../sim/index.js';
import { createSimCa } from '../../sim/tls.js';
import { baseSeed } from './fixtures.js';

const SA = 'system:serviceaccount:pvc-chonker:pvc-chonker';
const TOKENS: Record<string, string> = {
  'stats-token': SA,
  'metrics-token': 'system:serviceaccount:monitoring:prometheus',
  'nothing-token': 'system:serviceaccount:apps:nobody',
};

function binding(name: string, namespace: string, resources: string[]): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ apiGroups: [''], resources, verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ];
}

let sim: SimCluster;

beforeAll(async () => {
  const seed = baseSeed([
    { name: 'data', node: 'n1', size: '10Gi', usedGi: 7 },
    { name: 'logs', ns: 'ops', node: 'n1', size: '20Gi', usedGi: 2 },
  ]);
  seed.objects.push(
    ...binding('pvc-chonker', 'pvc-chonker', ['nodes/stats']),
    ...binding('prometheus', 'monitoring', ['nodes/metrics']),
  );
  sim = await startSimCluster({
    seed,
    tls: true,
    kubelets: true,
    rbac: true,
    authentication: { tokens: Object.fromEntries(Object.entries(TOKENS)) },
  });
});

afterAll(async () => {
  await sim.close();
});

interface Answer {
  status: number;
  type: string;
  body: string;
}

function get(node: string, path: string, token?: string): Promise<Answer> {
  const kubelet = sim.kubelets.get(node);
  if (kubelet === undefined) throw new Error(`no kubelet for ${node}`);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${kubelet.url}${path}`,
      {
        ca: sim.kubeletCaPem,
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            type: response.headers['content-type'] ?? '',
            body,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('a kubelet reached directly', () => {
  it('is where its Node says: InternalIP 127.0.0.1 and the kubelet port', () => {
    const node = sim.getObject('Node', undefined, 'n1') as {
      status: { addresses: unknown[]; daemonEndpoints: unknown };
    };

    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(node.status.daemonEndpoints).toEqual({
      kubeletEndpoint: { Port: sim.kubelets.get('n1')?.port },
    });
  });

  it.each([
    ['no token', undefined, 401, 'Unauthorized'],
    ['a token the API server does not know', 'stranger', 401, 'Unauthorized'],
    [
      'a user without nodes/stats',
      'nothing-token',
      403,
      'Forbidden (user=system:serviceaccount:apps:nobody, verb=get, resource=nodes, subresource=stats)',
    ],
    [
      'a user with nodes/metrics only',
      'metrics-token',
      403,
      'Forbidden (user=system:serviceaccount:monitoring:prometheus, verb=get, resource=nodes, subresource=stats)',
    ],
  ])('refuses /stats/summary with %s', async (_name, token, status, text) => {
    const answer = await get('n1', '/stats/summary', token);

    expect(answer).toMatchObject({ status, body: text });
  });

  it('answers /stats/summary with nodes/stats, with the figures of the node proxy', async () => {
    const direct = await get('n1', '/stats/summary', 'stats-token');
    const proxied = sim.kubeletSummary('n1');
    const volumes = (summary: unknown): unknown =>
      (
        summary as {
          pods: { volume?: { pvcRef?: unknown; capacityBytes: number; usedBytes: number }[] }[];
        }
      ).pods
        .flatMap((pod) => pod.volume ?? [])
        .filter((v) => v.pvcRef !== undefined)
        .map((v) => [v.pvcRef, v.capacityBytes, v.usedBytes]);

    expect(direct.status).toBe(200);
    expect(direct.type).toBe('application/json');
    expect(volumes(JSON.parse(direct.body))).toEqual(volumes(proxied.json));
    expect(volumes(proxied.json)).toHaveLength(2);
  });

  it('checks each request with a TokenReview and a SubjectAccessReview against the API server', async () => {
    const before = sim.requests.length;

    await get('n1', '/stats/summary', 'stats-token');

    const calls = sim.requests.slice(before);
    expect(calls.map((r) => [r.method, r.path, r.user, r.status])).toEqual([
      ['POST', '/apis/authentication.k8s.io/v1/tokenreviews', 'sim-kubelet', 201],
      ['POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', 'sim-kubelet', 201],
    ]);
    expect(calls[1]?.body).toMatchObject({
      spec: {
        user: SA,
        groups: [
          'system:serviceaccounts',
          'system:serviceaccounts:pvc-chonker',
          'system:authenticated',
        ],
        resourceAttributes: {
          verb: 'get',
          version: 'v1',
          resource: 'nodes',
          subresource: 'stats',
          name: 'n1',
        },
      },
    });
  });

  it('serves /metrics to nodes/metrics, with the volume gauges Prometheus scrapes', async () => {
    const refused = await get('n1', '/metrics', 'stats-token');
    const answer = await get('n1', '/metrics', 'metrics-token');

    expect(refused.status).toBe(403);
    expect(refused.body).toContain('subresource=metrics');
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(answer.body).toContain('# TYPE kubelet_volume_stats_capacity_bytes gauge\n');
    expect(answer.body).toMatch(
      /^kubelet_volume_stats_capacity_bytes\{namespace="apps",persistentvolumeclaim="data"\} \d\.\d+e\+\d\d$/m,
    );
    expect(answer.body).toMatch(
      /^kubelet_volume_stats_used_bytes\{namespace="ops",persistentvolumeclaim="logs"\} 2\.147483648e\+09$/m,
    );
  });

  it('maps paths to subresources as the kubelet does, the rest to nodes/proxy', async () => {
    expect(
      [
        '/stats',
        '/stats/summary',
        '/statsx',
        '/metrics',
        '/metrics/cadvisor',
        '/logs/',
        '/logs/x',
        '/pods',
        '/exec/a/b/c',
        '/',
      ].map(kubeletSubresource),
    ).toEqual([
      'stats',
      'stats',
      'proxy',
      'metrics',
      'metrics',
      'log',
      'log',
      'proxy',
      'proxy',
      'proxy',
    ]);
    const pods = await get('n1', '/pods', 'stats-token');

    expect(pods.body).toBe(`Forbidden (user=${SA}, verb=get, resource=nodes, subresource=proxy)`);
  });

  it('fails, hangs or heals on request, after authorizing', async () => {
    const kubelet = sim.kubelets.get('n1');
    kubelet?.setFault({ kind: 'status', status: 503, text: 'injected' });

    const failed = await get('n1', '/stats/summary', 'stats-token');
    const refused = await get('n1', '/stats/summary', 'nothing-token');
    kubelet?.setFault(undefined);
    const healed = await get('n1', '/stats/summary', 'stats-token');

    expect([failed.status, refused.status, healed.status]).toEqual([503, 403, 200]);
  });
});

describe('the kubelet’s exposition', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [123_456, '123456'],
    [1_000_000, '1e+06'],
    [10_737_418_240, '1.073741824e+10'],
    [1_623_168_045_056, '1.623168045056e+12'],
    [0.5, '0.5'],
    [0.000_01, '1e-05'],
  ])('writes %d as Go’s strconv %s', (value, text) => {
    expect(goFloat(value)).toBe(text);
  });

  it('writes an explicit sample time when one is set for the volume', () => {
    const summary = {
      pods: [
        {
          volume: [
            {
              name: 'data',
              pvcRef: { namespace: 'db', name: 'a"b' },
              capacityBytes: 100,
              availableBytes: 40,
              usedBytes: 60,
              inodes: 10,
              inodesFree: 9,
              inodesUsed: 1,
            },
          ],
        },
      ],
    };

    const text = volumeExposition(summary, () => 1_700_000_000_000);

    expect(text).toContain(
      'kubelet_volume_stats_available_bytes{namespace="db",persistentvolumeclaim="a\\"b"} 40 1700000000000\n',
    );
  });
});

describe('a kubelet with a client CA (how the node proxy reaches it)', () => {
  it('authenticates a verified client certificate as its CN and groups, refuses another CA’s', async () => {
    const ca = sim.tls;
    if (ca === undefined) throw new Error('the sim serves no TLS');
    const serving = await ca.issueServingCertificate(['127.0.0.1']);
    const seen: string[] = [];
    const kubelet = await startFakeKubelet({
      nodeName: 'n1',
      serving,
      clientCaPem: ca.caPem,
      apiServer: { url: sim.url, caPem: ca.caPem, token: SIM_KUBELET_TOKEN },
      summary: () => sim.kubeletSummary('n1'),
      onRequest: (r) => seen.push(`${r.user} ${String(r.status)}`),
    });
    const withCertificate = async (pair: { certPem: string; keyPem: string }): Promise<number> =>
      new Promise((resolve, reject) => {
        const outgoing = request(
          `${kubelet.url}/stats/summary`,
          { ca: ca.caPem, cert: pair.certPem, key: pair.keyPem },
          (response) => {
            response.resume();
            response.on('end', () => {
              resolve(response.statusCode ?? 0);
            });
          },
        );
        outgoing.on('error', reject);
        outgoing.end();
      });
    try {
      const apiServer = await ca.issueClientCertificate('kube-apiserver-kubelet-client', [
        'system:masters',
      ]);
      const stranger = await (
        await createSimCa()
      ).issueClientCertificate('kube-apiserver-kubelet-client', ['system:masters']);

      const statuses = [await withCertificate(apiServer), await withCertificate(stranger)];

      expect(statuses).toEqual([200, 401]);
      expect(seen).toEqual(['kube-apiserver-kubelet-client 200', ' 401']);
    } finally {
      await kubelet.close();
    }
  });
});
