// The on-premises providers behind the gate, with a scripted Kubernetes reader: what is listed
// (and what is not), how a failed list becomes a provider-error, and the circuit breaker.
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/errors.js';
import { createProviderGate } from '../../src/providers/index.js';
import { parseNodes, parseSettings } from '../../src/providers/longhorn.js';
import type { ExpansionCandidate, ProviderVerdict } from '../../src/providers/types.js';
import {
  candidate,
  gi,
  memoryLogger,
  options,
  pv,
  scriptedKube,
  storageClass,
} from './builders.js';

const now = new Date('2025-06-01T12:00:00Z');

function topolvm(name: string, node: string): ExpansionCandidate {
  return candidate(
    name,
    pv({ csiDriver: 'topolvm.io', nodeAffinity: { 'topology.topolvm.io/node': [node] } }),
    { storageClass: storageClass('topolvm.io') },
  );
}

function longhorn(name: string): ExpansionCandidate {
  return candidate(name, pv({ csiDriver: 'driver.longhorn.io', volumeHandle: `pvc-${name}` }));
}

function node(name: string, freeGi: number): unknown {
  return {
    metadata: {
      name,
      labels: { 'topology.topolvm.io/node': name },
      annotations: { 'capacity.topolvm.io/00default': String(gi(freeGi)) },
    },
  };
}

async function check(
  candidates: ExpansionCandidate[],
  answer: Parameters<typeof scriptedKube>[0],
  breakerThreshold = 3,
): Promise<{ verdicts: ProviderVerdict[]; calls: string[]; logs: Record<string, unknown>[] }> {
  const { log, lines } = memoryLogger();
  const { kube, calls } = scriptedKube(answer);
  const gate = createProviderGate(options({ breakerThreshold }), { log, env: {}, kube });
  const verdicts = await gate.check(candidates, now);
  return {
    verdicts: candidates.map((c) => verdicts.get(`default/${c.pvc.name}`) as ProviderVerdict),
    calls,
    logs: lines(),
  };
}

function forbidden(operation: string): KubeApiError {
  return new KubeApiError(operation, { status: 403, reason: 'Forbidden', detail: 'Forbidden' });
}

describe('TopoLVM behind the gate', () => {
  it('lists only the Nodes of its volumes, by their TopoLVM label, once', async () => {
    const { verdicts, calls } = await check(
      [topolvm('a', 'n1'), topolvm('b', 'n2'), topolvm('c', 'n1')],
      () => [node('n1', 100), node('n2', 100)],
    );

    expect(verdicts.map((v) => v.provider)).toEqual(['topolvm', 'topolvm', 'topolvm']);
    expect(verdicts.every((v) => v.ok)).toBe(true);
    expect(calls).toEqual([
      'list nodes /api/v1/nodes labelSelector=topology.topolvm.io%2Fnode+in+%28n1%2Cn2%29&limit=500',
    ]);
  });

  it('turns a refused list into a provider-error that says what to grant', async () => {
    const { verdicts } = await check([topolvm('a', 'n1')], (operation) => {
      throw forbidden(operation);
    });

    expect(verdicts[0]).toMatchObject({
      ok: false,
      provider: 'topolvm',
      reason: 'provider-error',
      detail: 'list nodes failed: list nodes: HTTP 403 Forbidden (grant list on nodes)',
    });
  });

  it('never crashes on malformed Nodes', async () => {
    const { verdicts } = await check([topolvm('a', 'n1'), topolvm('b', 'n2')], () => [
      null,
      'text',
      { metadata: { name: 7 } },
      { metadata: { name: 'n2' } },
      node('n1', 50),
    ]);

    expect(verdicts[0]).toMatchObject({ ok: true });
    expect(verdicts[1]).toMatchObject({ ok: false, reason: 'provider-error' });
  });
});

const settings = [
  { metadata: { name: 'current-longhorn-version' }, value: 'v1.9.1' },
  { metadata: { name: 'storage-over-provisioning-percentage' }, value: '100' },
];
const nodes = [
  {
    metadata: { name: 'n1' },
    spec: { disks: { d: { storageReserved: 0 } } },
    status: {
      diskStatus: {
        d: {
          diskUUID: 'u1',
          storageMaximum: 1000 * 2 ** 30,
          storageAvailable: 900 * 2 ** 30,
          storageScheduled: 0,
        },
      },
    },
  },
];

function world(name: string): unknown[] {
  if (name.includes('settings')) return settings;
  if (name.includes('nodes')) return nodes;
  if (name.includes('replicas'))
    return [
      { spec: { volumeName: 'pvc-a', nodeID: 'n1', diskID: 'u1' } },
      { spec: { volumeName: 'pvc-b', nodeID: 'n1', diskID: 'u1' } },
    ];
  return [];
}

describe('Longhorn behind the gate', () => {
  it('reads settings and nodes once, replicas by label, and each volume by name', async () => {
    const { verdicts, calls } = await check([longhorn('a'), longhorn('b')], (operation, query) =>
      operation.includes('volumes')
        ? [
            {
              metadata: { name: query['fieldSelector']?.split('=')[1] },
              spec: { dataEngine: 'v1' },
              status: { state: 'attached' },
            },
          ]
        : world(operation),
    );

    expect(verdicts).toMatchObject([
      { ok: true, provider: 'longhorn', toBytes: gi(120) },
      { ok: true, provider: 'longhorn', toBytes: gi(120) },
    ]);
    const base = 'limit=500';
    expect(calls).toEqual([
      `list settings.longhorn.io /apis/longhorn.io/v1beta2/namespaces/longhorn-system/settings ${base}`,
      `list nodes.longhorn.io /apis/longhorn.io/v1beta2/namespaces/longhorn-system/nodes ${base}`,
      `list replicas.longhorn.io /apis/longhorn.io/v1beta2/namespaces/longhorn-system/replicas ${base}&labelSelector=longhornvolume+in+%28pvc-a%2Cpvc-b%29`,
      `list volumes.longhorn.io /apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes ${base}&fieldSelector=metadata.name%3Dpvc-a`,
      `list volumes.longhorn.io /apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes ${base}&fieldSelector=metadata.name%3Dpvc-b`,
    ]);
  });

  it('says the CRDs may be missing on a 404', async () => {
    const { verdicts, calls } = await check([longhorn('a')], (operation) => {
      throw new KubeApiError(operation, {
        status: 404,
        reason: 'NotFound',
        detail: 'the server could not find the requested resource',
      });
    });

    expect(verdicts[0]).toMatchObject({
      ok: false,
      provider: 'longhorn',
      reason: 'provider-error',
    });
    expect(verdicts[0]).toHaveProperty(
      'detail',
      expect.stringContaining("(are Longhorn's longhorn.io/v1beta2 CRDs installed?)"),
    );
    expect(calls).toHaveLength(1);
  });

  it('stops asking once its breaker opens', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const { verdicts, calls, logs } = await check(
      names.map(longhorn),
      (operation) => {
        if (operation.includes('volumes'))
          throw new KubeApiError(operation, { status: 500, detail: 'etcd timeout' });
        return world(operation);
      },
      2,
    );

    expect(verdicts.every((v) => !v.ok)).toBe(true);
    expect(verdicts[0]).toMatchObject({ reason: 'provider-error' });
    // Settings, nodes and replicas succeeded; the volume reads failed and opened the breaker,
    // so the fifth volume was never asked for.
    expect(calls.filter((c) => c.includes('volumes.longhorn.io')).length).toBeLessThan(
      names.length,
    );
    expect(logs.some((l) => l.msg === 'provider circuit opened' && l.provider === 'longhorn')).toBe(
      true,
    );
  });

  it('a Longhorn failure leaves the other providers alone', async () => {
    const { verdicts } = await check([longhorn('a'), topolvm('t', 'n1')], (operation) => {
      if (operation.includes('longhorn')) throw forbidden(operation);
      return [node('n1', 100)];
    });

    expect(verdicts[0]).toMatchObject({ reason: 'provider-error' });
    expect(verdicts[0]).toHaveProperty(
      'detail',
      expect.stringContaining('(grant list on settings.longhorn.io)'),
    );
    expect(verdicts[1]).toMatchObject({ ok: true, provider: 'topolvm' });
  });
});

describe('Longhorn objects', () => {
  it('fills in Longhorn defaults for missing settings', () => {
    expect(parseSettings([])).toEqual({
      ok: true,
      value: { overProvisioningPercent: 100n, minimalAvailablePercent: 25n, version: undefined },
    });
  });

  it('refuses a setting that is not a whole number', () => {
    expect(
      parseSettings([{ metadata: { name: 'storage-minimal-available-percentage' }, value: '25%' }]),
    ).toEqual({
      ok: false,
      error: "setting storage-minimal-available-percentage is '25%', not a whole number",
    });
  });

  it('reads disks by node and UUID, and marks a malformed one', () => {
    const parsed = parseNodes([
      ...nodes,
      {
        metadata: { name: 'n2' },
        status: { diskStatus: { x: { diskUUID: 'u2', storageMaximum: '1Ti' } } },
      },
      { metadata: { name: 'n3' } },
    ]);

    expect([...parsed.nodes]).toEqual(['n1', 'n2', 'n3']);
    expect(parsed.disks.get('n1/u1')).toMatchObject({
      ok: true,
      value: { name: 'd', maximumBytes: gi(1000) },
    });
    expect(parsed.disks.get('n2/u2')).toMatchObject({ ok: false });
  });
});
