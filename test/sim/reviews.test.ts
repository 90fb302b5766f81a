// TokenReview, SubjectAccessReview and SelfSubjectAccessReview, and RBAC over stored roles: what
// a kubelet in webhook mode and `kubectl auth can-i` get from a real API server.
import { afterEach, describe, expect, it } from 'vitest';
import { SIM_TOKEN, startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from './fixtures.js';

const SA = 'system:serviceaccount:pvc-chonker:pvc-chonker';
const SA_TOKEN = 'sa-token';
const OTHER_TOKEN = 'other-token';

/** The RBAC objects of a profile: one ClusterRole with `rules`, bound to the ServiceAccount. */
function role(rules: unknown[], extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'pvc-chonker' },
      rules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'pvc-chonker' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pvc-chonker' },
      subjects: [{ kind: 'ServiceAccount', name: 'pvc-chonker', namespace: 'pvc-chonker' }],
    },
    ...extra,
  ];
}

let sim: SimCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(objects: Record<string, unknown>[], rbac = true): Promise<SimCluster> {
  const seed = baseSeed([]);
  seed.objects.push(...objects);
  sim = await startSimCluster({
    seed,
    authentication: {
      tokens: { [SA_TOKEN]: SA, [OTHER_TOKEN]: 'system:serviceaccount:apps:other' },
    },
    rbac,
  });
  return sim;
}

async function call(
  cluster: SimCluster,
  path: string,
  options: { token?: string; method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${cluster.url}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      Authorization: `Bearer ${options.token ?? SIM_TOKEN}`,
      'Content-Type': 'application/json',
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function review(kind: string, spec: unknown): unknown {
  const group = kind === 'TokenReview' ? 'authentication.k8s.io' : 'authorization.k8s.io';
  return { apiVersion: `${group}/v1`, kind, spec };
}

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
const SELF_REVIEWS = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

const NODE_STATS = { verb: 'get', resource: 'nodes', subresource: 'stats', name: 'node-a' };

describe('TokenReview', () => {
  it('authenticates a known token as its user, with a service account’s groups', async () => {
    const cluster = await start([]);

    const answer = await call(cluster, TOKEN_REVIEWS, {
      body: review('TokenReview', { token: SA_TOKEN }),
    });

    expect(answer).toEqual({
      status: 201,
      body: {
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: { token: SA_TOKEN },
        status: {
          authenticated: true,
          user: {
            username: SA,
            groups: [
              'system:serviceaccounts',
              'system:serviceaccounts:pvc-chonker',
              'system:authenticated',
            ],
          },
          audiences: ['https://kubernetes.default.svc.cluster.local'],
        },
      },
    });
  });

  it('says nobody for a token nobody knows, and refuses an empty one and a GET', async () => {
    const cluster = await start([]);

    const stranger = await call(cluster, TOKEN_REVIEWS, {
      body: review('TokenReview', { token: 'x' }),
    });
    const empty = await call(cluster, TOKEN_REVIEWS, { body: review('TokenReview', {}) });
    const get = await call(cluster, TOKEN_REVIEWS);

    expect(stranger.status).toBe(201);
    expect(stranger.body['status']).toEqual({ user: {}, error: 'invalid bearer token' });
    expect(empty.status).toBe(400);
    expect(empty.body['message']).toBe('token is required for TokenReview in authentication');
    expect(get.status).toBe(405);
  });

  it('is itself authorized: a service account without tokenreviews create is refused', async () => {
    const cluster = await start(role([]));

    const answer = await call(cluster, TOKEN_REVIEWS, {
      token: SA_TOKEN,
      body: review('TokenReview', { token: SA_TOKEN }),
    });

    expect(answer.status).toBe(403);
    expect(answer.body['message']).toBe(
      `tokenreviews.authentication.k8s.io is forbidden: User "${SA}" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`,
    );
  });
});

describe('SubjectAccessReview with RBAC', () => {
  const STATS_RULE = { apiGroups: [''], resources: ['nodes/stats'], verbs: ['get'] };

  it('allows what a bound ClusterRole grants, with RBAC’s reason, and nothing else', async () => {
    const cluster = await start(role([STATS_RULE]));
    const ask = (attributes: object) =>
      call(cluster, ACCESS_REVIEWS, {
        body: review('SubjectAccessReview', {
          user: SA,
          groups: ['system:serviceaccounts', 'system:authenticated'],
          resourceAttributes: attributes,
        }),
      });

    const stats = await ask(NODE_STATS);
    const proxy = await ask({ ...NODE_STATS, subresource: 'proxy' });

    expect(stats.status).toBe(201);
    expect(stats.body['status']).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "pvc-chonker" of ClusterRole "pvc-chonker" to ServiceAccount "pvc-chonker/pvc-chonker"',
    });
    expect(proxy.body['status']).toEqual({ allowed: false });
    expect(proxy.body['spec']).toMatchObject({
      user: SA,
      resourceAttributes: { subresource: 'proxy' },
    });
  });

  it.each([
    [
      'no user and no group',
      { resourceAttributes: NODE_STATS },
      'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified',
    ],
    [
      'no attributes',
      { user: SA },
      'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    ],
  ])('refuses %s with the validation’s 422', async (_name, spec, message) => {
    const cluster = await start([]);

    const answer = await call(cluster, ACCESS_REVIEWS, {
      body: review('SubjectAccessReview', spec),
    });

    expect(answer.status).toBe(422);
    expect(answer.body['message']).toBe(message);
  });
});

describe('RBAC', () => {
  it.each([
    [
      'an exact resource and verb',
      { apiGroups: [''], resources: ['nodes/stats'], verbs: ['get'] },
      true,
    ],
    ['the wrong verb', { apiGroups: [''], resources: ['nodes/stats'], verbs: ['list'] }, false],
    ['the parent resource only', { apiGroups: [''], resources: ['nodes'], verbs: ['get'] }, false],
    ['*/stats', { apiGroups: [''], resources: ['*/stats'], verbs: ['get'] }, true],
    ['* of every group', { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, true],
    ['another group', { apiGroups: ['apps'], resources: ['nodes/stats'], verbs: ['get'] }, false],
    [
      'its name',
      { apiGroups: [''], resources: ['nodes/stats'], resourceNames: ['node-a'], verbs: ['get'] },
      true,
    ],
    [
      'another name',
      { apiGroups: [''], resources: ['nodes/stats'], resourceNames: ['node-b'], verbs: ['get'] },
      false,
    ],
  ])('a rule with %s → allowed %s', async (_name, rule, allowed) => {
    const cluster = await start(role([rule]));

    const answer = await call(cluster, SELF_REVIEWS, {
      token: SA_TOKEN,
      body: review('SelfSubjectAccessReview', { resourceAttributes: NODE_STATS }),
    });

    expect(answer.status).toBe(201);
    expect((answer.body['status'] as { allowed: boolean }).allowed).toBe(allowed);
  });

  it('enforces on every request: the bound rules, a RoleBinding in its namespace only, the bootstrap roles', async () => {
    const roleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'read-pvcs', namespace: 'apps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pvc-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'pvc-chonker', namespace: 'pvc-chonker' }],
    };
    const reader = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'pvc-reader' },
      rules: [{ apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list'] }],
    };
    const cluster = await start(
      role([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }], [reader, roleBinding]),
    );
    const status = async (path: string, token = SA_TOKEN) =>
      (await call(cluster, path, { token })).status;

    expect(await status('/api/v1/nodes/n1')).toBe(200);
    expect(await status('/api/v1/nodes')).toBe(403);
    expect(await status('/api/v1/nodes/n1/proxy/stats/summary')).toBe(403);
    expect(await status('/api/v1/namespaces/apps/persistentvolumeclaims')).toBe(200);
    expect(await status('/api/v1/persistentvolumeclaims')).toBe(403);
    expect(await status('/api/v1/nodes/n1', OTHER_TOKEN)).toBe(403);
    // system:discovery and system:public-info-viewer, bound to every authenticated user.
    expect(await status('/api', OTHER_TOKEN)).toBe(200);
    expect(await status('/version', OTHER_TOKEN)).toBe(200);
    // The cluster admin (system:masters) needs no binding.
    expect(await status('/api/v1/nodes', SIM_TOKEN)).toBe(200);
  });

  it('answers a SelfSubjectAccessReview for any authenticated user (system:basic-user)', async () => {
    const cluster = await start([]);

    const answer = await call(cluster, SELF_REVIEWS, {
      token: OTHER_TOKEN,
      body: review('SelfSubjectAccessReview', {
        resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy' },
      }),
    });

    expect(answer.status).toBe(201);
    expect(answer.body['status']).toEqual({ allowed: false });
  });

  it('is off unless asked for: then every authenticated user may do anything', async () => {
    const cluster = await start([], false);

    const answer = await call(cluster, SELF_REVIEWS, {
      token: OTHER_TOKEN,
      body: review('SelfSubjectAccessReview', {
        resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy' },
      }),
    });

    expect(answer.body['status']).toEqual({ allowed: true });
    expect((await call(cluster, '/api/v1/nodes', { token: OTHER_TOKEN })).status).toBe(200);
  });
});
