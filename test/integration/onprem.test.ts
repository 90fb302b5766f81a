/**
 * TopoLVM and Longhorn (issue 22), the built CLI against the simulated cluster: Nodes with
 * TopoLVM's annotations, Longhorn's custom resources under the CRDs the test writes. The same
 * scenario runs on the real API server in test/real/onprem.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byName, report, runCli, seed } from './harness.js';
import { startSimOnly } from './test-cluster.js';

type Harness = Awaited<ReturnType<typeof startSimOnly>>;
import { assertInvariants, runJson, snapshotPvcs } from './invariants.js';
import { DETAILS, EXPECTED, ONPREM_CLAIMS, onpremSeed } from './onprem-scenario.js';
import { LONGHORN_CRDS, longhornSetting, namespace, topolvmNode } from '../builders/onprem.js';

interface PvcObject {
  spec: { resources: { requests: { storage: string } } };
}

interface EventObject {
  type: string;
  reason: string;
  message: string;
  involvedObject: { name: string };
}

describe('on-premises storage on the simulated cluster', () => {
  let h: Harness;
  let rows: Record<string, unknown>[];
  let metrics: string;

  beforeAll(async () => {
    h = await startSimOnly(onpremSeed());
    const before = await snapshotPvcs(h);
    const metricsFile = join(h.dir, 'metrics.prom');
    const run = await runJson(h, ['--metrics-file', metricsFile]);
    rows = run.rows;
    metrics = await readFile(metricsFile, 'utf8');
    await assertInvariants(h, before, [run], { resizeDelayMs: 50 });
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('decides each PVC as its node or disk allows', () => {
    const got = Object.fromEntries(
      Object.keys(EXPECTED).map((name) => {
        const row = byName(rows, name);
        return [
          name,
          {
            action: row?.['action'],
            reason: row?.['reason'],
            ...(row?.['action'] === 'expand' ? { newSize: row['newSize'] } : {}),
          },
        ];
      }),
    );

    expect(got).toEqual(EXPECTED);
    for (const [name, parts] of Object.entries(DETAILS)) {
      for (const part of parts) expect(String(byName(rows, name)?.['detail'])).toContain(part);
    }
  });

  it('patches only what fits, to the size that fits', () => {
    const sizes = Object.fromEntries(
      ONPREM_CLAIMS.map((c) => [
        c.name,
        (h.sim.getObject('PersistentVolumeClaim', 'db', c.name) as PvcObject).spec.resources
          .requests.storage,
      ]),
    );

    expect(sizes).toEqual({
      'tl-a': '20Gi',
      'tl-b': '20Gi',
      'tl-c': '14Gi',
      'tl-d': '10Gi',
      'tl-e': '10Gi',
      'lh-a': '20Gi',
      'lh-b': '20Gi',
      'lh-c': '10Gi',
      'lh-d': '14Gi',
      'lh-e': '10Gi',
      plain: '20Gi',
    });
  });

  it('records a Warning that names the node and its free bytes', () => {
    const events = (h.sim.listObjects('Event', 'db') as EventObject[]).filter(
      (e) => e.involvedObject.name === 'tl-d',
    );

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'provider-capacity' });
    expect(events[0]?.message).toContain('node tnode-1');
    expect(events[0]?.message).toContain('26843545600 bytes');
  });

  it('lists only the Nodes of its TopoLVM volumes and the Longhorn kinds, once each', () => {
    const reads = h.sim.requests
      .filter((r) => r.path === '/api/v1/nodes' || r.path.startsWith('/apis/longhorn.io/'))
      .map((r) => `${r.path}?${new URLSearchParams(r.query).toString()}`)
      .sort();

    expect(reads).toEqual(
      [
        '/api/v1/nodes?labelSelector=topology.topolvm.io%2Fnode+in+%28tnode-1%2Ctnode-2%29&limit=500',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/nodes?limit=500',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/replicas?limit=500&labelSelector=longhornvolume+in+%28pvc-lh-a%2Cpvc-lh-b%2Cpvc-lh-c%2Cpvc-lh-d%2Cpvc-lh-e%29',
        '/apis/longhorn.io/v1beta2/namespaces/longhorn-system/settings?limit=500',
        ...['a', 'b', 'c', 'd', 'e'].map(
          (v) =>
            `/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes?limit=500&fieldSelector=metadata.name%3Dpvc-lh-${v}`,
        ),
      ].sort(),
    );
  });

  it('labels expansions with the provider', () => {
    const expanded = metrics
      .split('\n')
      .filter((l) => l.startsWith('pvc_chonker_expansions_total{') && l.endsWith('} 1'))
      .map((l) => /pvc="([^"]+)",provider="([^"]+)"/.exec(l)?.slice(1).join(':'));

    expect(expanded).toEqual([
      'lh-a:longhorn',
      'lh-b:longhorn',
      'lh-d:longhorn',
      'plain:generic',
      'tl-a:topolvm',
      'tl-b:topolvm',
      'tl-c:topolvm',
    ]);
    expect(metrics).toMatch(
      /pvc_chonker_expansion_failures_total\{[^}]*pvc="tl-d"[^}]*reason="provider-capacity"/,
    );
    expect(metrics).toMatch(
      /pvc_chonker_expansion_failures_total\{[^}]*pvc="lh-c"[^}]*reason="offline-expansion-required"/,
    );
  });

  it('explains a refusal with its provider', async () => {
    const result = await runCli(['explain', 'db/lh-c', '--kubeconfig', h.kubeconfig]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Provider {3}longhorn$/m);
    expect(result.stdout).toMatch(/^Decision {3}skip \(offline-expansion-required\) -> 20Gi$/m);
    expect(result.stdout).toContain('Longhorn v1.9.1 expands V2 data engine volumes');
  });
});

describe('on-premises providers cost nothing where they are not used', () => {
  it('reads no Node and no Longhorn resource when no candidate uses their drivers', async () => {
    // TopoLVM and Longhorn volumes below their thresholds, a plain one over it; both installed.
    const calm = ONPREM_CLAIMS.map((c) => (c.name === 'plain' ? c : { ...c, usedPercent: 40 }));
    const h = await startSimOnly(onpremSeed(calm));
    try {
      const result = await h.cli(['--output', 'json']);

      expect(result.code).toBe(0);
      expect(byName(report(result), 'plain')).toMatchObject({ action: 'expand' });
      expect(byName(report(result), 'tl-a')).toMatchObject({
        reason: 'below-threshold',
        provider: 'topolvm',
      });
      const reads = h.sim.requests.filter(
        (r) => r.path === '/api/v1/nodes' || r.path.startsWith('/apis/longhorn.io/'),
      );
      expect(reads).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('does not need Longhorn installed for TopoLVM, nor either for a plain cluster', async () => {
    const h = await startSimOnly(
      seed(
        [{ name: 'plain', usedPercent: 90 }],
        [
          ...LONGHORN_CRDS,
          namespace('longhorn-system'),
          longhornSetting('current-longhorn-version', 'v1.9.1'),
          topolvmNode('node-a', {}),
        ],
      ),
    );
    try {
      const result = await h.cli(['--output', 'json']);

      expect(byName(report(result), 'plain')).toMatchObject({
        action: 'expand',
        provider: 'generic',
      });
      expect(h.sim.requests.filter((r) => r.path.startsWith('/apis/longhorn.io/'))).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
