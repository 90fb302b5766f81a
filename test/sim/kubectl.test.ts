// Drives the sim with a real kubectl 1.33 (fetched by scripts/fetch-kubectl.sh into .cache/tools).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { baseSeed } from './fixtures.js';

const KUBECTL = fileURLToPath(new URL('../../.cache/tools/kubectl', import.meta.url));
const HAVE_KUBECTL = existsSync(KUBECTL);
if (!HAVE_KUBECTL) {
  process.stderr.write(
    `kubectl.test.ts skipped: ${KUBECTL} is missing; run scripts/fetch-kubectl.sh\n`,
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!HAVE_KUBECTL)('real kubectl 1.33 against the sim', () => {
  let sim: SimCluster;
  let kubeconfig: string;
  let cacheDir: string;

  function kubectl(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'db', name: 'data-pg-0', size: '20Gi', node: 'n1', usedGi: 18 },
        { ns: 'db', name: 'data-old-0', sc: 'frozen' },
        { ns: 'web', name: 'uploads', size: '1536Mi', bound: false },
      ]),
      resizeDelayMs: 60_000,
    });
    const dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    cacheDir = join(dir, 'cache');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('prints the PVC table for get pvc -A', async () => {
    const run = await kubectl('get', 'pvc', '-A');

    expect(run.code, run.stderr).toBe(0);
    const [header = '', ...rows] = run.stdout.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ]);
    const cells = rows.map((r) => r.split(/\s+/));
    expect(cells.map((r) => r.slice(0, 3))).toEqual([
      ['db', 'data-old-0', 'Bound'],
      ['db', 'data-pg-0', 'Bound'],
      ['web', 'uploads', 'Pending'],
    ]);
    expect(cells[1]?.[4]).toBe('20Gi');
    expect(cells[1]?.[5]).toBe('RWO');
    // A Pending claim has no volume, so the printer leaves VOLUME, CAPACITY and ACCESS MODES empty.
    expect(rows[2]).toMatch(/^web\s+uploads\s+Pending\s+fast\s+<unset>\s+\d+s$/);
  });

  it('prints the object for get pvc NAME -o yaml', async () => {
    const run = await kubectl('get', 'pvc', 'data-pg-0', '-n', 'db', '-o', 'yaml');

    expect(run.code, run.stderr).toBe(0);
    const pvc = parse(run.stdout) as {
      kind: string;
      metadata: Record<string, unknown>;
      spec: { resources: { requests: { storage: string } }; storageClassName: string };
      status: { phase: string; capacity: { storage: string } };
    };
    expect(pvc.kind).toBe('PersistentVolumeClaim');
    expect(pvc.metadata).toMatchObject({
      name: 'data-pg-0',
      namespace: 'db',
      annotations: { 'pvc-chonker.io/enabled': 'true' },
    });
    expect(pvc.metadata['resourceVersion']).toMatch(/^\d+$/);
    expect(pvc.spec.resources.requests.storage).toBe('20Gi');
    expect(pvc.spec.storageClassName).toBe('fast');
    expect(pvc.status).toMatchObject({ phase: 'Bound', capacity: { storage: '20Gi' } });
  });

  it('expands with kubectl patch --type merge and shows the resize lifecycle', async () => {
    const patched = await kubectl(
      'patch',
      'pvc',
      'data-pg-0',
      '-n',
      'db',
      '--type',
      'merge',
      '-p',
      '{"spec":{"resources":{"requests":{"storage":"25Gi"}}}}',
    );
    const before = await kubectl(
      'get',
      'pvc',
      'data-pg-0',
      '-n',
      'db',
      '-o',
      'jsonpath={.status.capacity.storage}',
    );
    await sim.settle();
    const after = await kubectl(
      'get',
      'pvc',
      'data-pg-0',
      '-n',
      'db',
      '-o',
      'jsonpath={.status.capacity.storage} {.status.allocatedResources.storage}',
    );
    const pv = await kubectl(
      'get',
      'pv',
      'pv-db-data-pg-0',
      '-o',
      'jsonpath={.spec.capacity.storage}',
    );

    expect(patched.code, patched.stderr).toBe(0);
    expect(patched.stdout.trim()).toBe('persistentvolumeclaim/data-pg-0 patched');
    expect(before.stdout).toBe('20Gi');
    expect(after.stdout).toBe('25Gi 25Gi');
    expect(pv.stdout).toBe('25Gi');
    expect(
      sim.requests.some(
        (r) => r.method === 'PATCH' && r.contentType === 'application/merge-patch+json',
      ),
    ).toBe(true);
  });

  it('shows the server errors kubectl users would see', async () => {
    const forbidden = await kubectl(
      'patch',
      'pvc',
      'data-old-0',
      '-n',
      'db',
      '--type',
      'merge',
      '-p',
      '{"spec":{"resources":{"requests":{"storage":"50Gi"}}}}',
    );
    const shrink = await kubectl(
      'patch',
      'pvc',
      'data-pg-0',
      '-n',
      'db',
      '--type',
      'merge',
      '-p',
      '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}',
    );
    const missing = await kubectl('get', 'pvc', 'nope', '-n', 'db');

    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr.trim()).toBe(
      'Error from server (Forbidden): persistentvolumeclaims "data-old-0" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
    expect(shrink.stderr.trim()).toBe(
      'The PersistentVolumeClaim "data-pg-0" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
    );
    expect(missing.stderr.trim()).toBe(
      'Error from server (NotFound): persistentvolumeclaims "nope" not found',
    );
  });

  it('patches an Event into a series that describe shows as a repetition, and shows the series rules', async () => {
    const uid = (
      await kubectl('get', 'pvc', 'data-pg-0', '-n', 'db', '-o', 'jsonpath={.metadata.uid}')
    ).stdout;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'data-pg-0.stuck', namespace: 'db' },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: 'db',
        name: 'data-pg-0',
        uid,
      },
      type: 'Warning',
      reason: 'max-size-reached',
      action: 'skip',
      message: 'already at max-size',
      eventTime: new Date(Date.now() - 600_000).toISOString().replace('Z', '000Z'),
      reportingComponent: 'pvc-chonker.io/pvc-chonker',
      reportingInstance: 'pod-1',
      source: { component: 'pvc-chonker.io/pvc-chonker' },
      firstTimestamp: new Date(Date.now() - 600_000).toISOString(),
      lastTimestamp: new Date(Date.now() - 600_000).toISOString(),
      count: 1,
    };
    const dir = await mkdtemp(join(tmpdir(), 'sim-kubectl-event-'));
    await writeFile(join(dir, 'event.json'), JSON.stringify(event));
    const now = new Date().toISOString().replace('Z', '000Z');

    const create = await kubectl('create', '--validate=false', '-f', join(dir, 'event.json'));
    const repeat = await kubectl(
      'patch',
      'event',
      'data-pg-0.stuck',
      '-n',
      'db',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ count: 3, series: { count: 3, lastObservedTime: now } }),
    );
    const describe = await kubectl('describe', 'pvc', 'data-pg-0', '-n', 'db');
    const tooFew = await kubectl(
      'patch',
      'events.v1.events.k8s.io',
      'data-pg-0.stuck',
      '-n',
      'db',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ series: { count: 1, lastObservedTime: now } }),
    );

    expect(create.code, create.stderr).toBe(0);
    expect(repeat.code, repeat.stderr).toBe(0);
    expect(describe.stdout).toMatch(
      /Warning {2}max-size-reached {2}\d+s \(x3 over 10m\) {2}pvc-chonker\.io\/pvc-chonker {2}already at max-size/,
    );
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr.trim()).toBe(
      'The Event "data-pg-0.stuck" is invalid: series.count: Invalid value: "": should be at least 2',
    );
  });

  it('reads the kubelet summary with get --raw', async () => {
    const run = await kubectl('get', '--raw', '/api/v1/nodes/n1/proxy/stats/summary');

    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      node: { nodeName: string };
      pods: { volume?: { pvcRef?: { name: string }; usedBytes: number }[] }[];
    };
    expect(summary.node.nodeName).toBe('n1');
    const volume = summary.pods
      .flatMap((p) => p.volume ?? [])
      .find((v) => v.pvcRef?.name === 'data-pg-0');
    expect(volume?.usedBytes).toBe(18 * 1024 ** 3);
  });
});
