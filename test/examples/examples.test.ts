// examples/: each applied to the simulated cluster with real kubectl, then the built CLI in dry
// run shows the decision the example is about. The sim runs no StatefulSet controller, so the
// test plays it: one PVC per replica from the volumeClaimTemplate (name, labels, annotations),
// bound, mounted by a running pod, with the usage the case needs.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster, type SimSeed } from '../../sim/index.js';
import { isWrite } from '../integration/test-cluster.js';
import {
  HAVE_HELM,
  HAVE_KUBECTL,
  KUBECTL,
  ROOT,
  helmTemplate,
  keyOf,
  parseObjects,
  run,
  validatorFor,
} from '../chart/tools.js';

const CLI = join(ROOT, 'dist/pvc-chonker.mjs');
const GI = 1024 ** 3;

interface Outcome {
  namespace: string;
  name: string;
  action: string;
  reason: string;
  type?: string | null;
  newSize?: string | null;
}

const SEED: SimSeed = {
  objects: [
    // The examples' namespaces exist, as in a cluster where the workloads run.
    ...['databases', 'search', 'kafka', 'apps'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    })),
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'gp3' },
      provisioner: 'ebs.csi.aws.com',
      allowVolumeExpansion: true,
    },
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] },
    },
  ],
  usage: [],
};

interface Replica {
  usedPercent: number;
  inodesUsedPercent?: number;
}

describe('examples/ objects', () => {
  const files = readdirSync(join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('values.yaml'))
    .map((f) => join(ROOT, 'examples', f));

  it('match the Kubernetes schemas (built-in kinds)', async () => {
    const objects = files.flatMap((f) => parseObjects(readFileSync(f, 'utf8')));
    const builtIn = objects.filter((o) => !o.apiVersion.startsWith('pvc-chonker.io/'));

    expect(builtIn.length).toBeGreaterThanOrEqual(9);
    for (const o of builtIn) {
      const validate = await validatorFor(o.apiVersion, o.kind);
      expect(() => {
        validate(o);
      }, keyOf(o)).not.toThrow();
    }
    // The custom resources are checked against their CRDs when kubectl applies them (below).
    expect(
      objects
        .filter((o) => o.apiVersion === 'pvc-chonker.io/v1alpha1')
        .map(keyOf)
        .sort(),
    ).toEqual(['PVCGroup//es-data', 'PVCPolicy/databases/postgres']);
  });
});

describe.skipIf(!HAVE_KUBECTL)('examples/', () => {
  let sim: SimCluster;
  let kubeconfig: string;
  let cacheDir: string;

  beforeEach(async () => {
    sim = await startSimCluster({ seed: structuredClone(SEED), kubelets: true });
    const dir = await mkdtemp(join(tmpdir(), 'examples-'));
    kubeconfig = join(dir, 'kubeconfig');
    cacheDir = join(dir, 'cache');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterEach(async () => {
    await sim.close();
  });

  /** `kubectl apply -f path`, which must succeed. */
  async function applyPath(path: string): Promise<string> {
    const r = await run(KUBECTL, [
      '--kubeconfig',
      kubeconfig,
      '--cache-dir',
      cacheDir,
      'apply',
      // The sim serves no OpenAPI document for kubectl's client-side validation.
      '--validate=false',
      '-f',
      path,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  const apply = (dir: string): Promise<string> => applyPath(join(ROOT, 'examples', dir));
  const installCrds = (): Promise<string> => applyPath(join(ROOT, 'cronjob/crds'));

  /** What the StatefulSet controller and the CSI driver would create for each replica. */
  function playStatefulSet(namespace: string, name: string, replicas: Replica[]): void {
    const sts = sim.getObject('StatefulSet', namespace, name) as {
      spec: {
        volumeClaimTemplates: {
          metadata: Record<string, unknown>;
          spec: Record<string, unknown>;
        }[];
      };
    };
    const [template] = sts.spec.volumeClaimTemplates;
    if (template === undefined) throw new Error(`${name} has no volumeClaimTemplates`);
    const size = (template.spec['resources'] as { requests: { storage: string } }).requests.storage;
    replicas.forEach((replica, i) => {
      const pvc = `${String(template.metadata['name'])}-${name}-${i.toString()}`;
      const pv = `pv-${namespace}-${pvc}`;
      sim.putObject({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pv },
        spec: {
          capacity: { storage: size },
          accessModes: ['ReadWriteOnce'],
          storageClassName: template.spec['storageClassName'],
          csi: { driver: 'example.csi.local', volumeHandle: pv },
          claimRef: { namespace, name: pvc },
        },
        status: { phase: 'Bound' },
      });
      sim.putObject({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { ...structuredClone(template.metadata), name: pvc, namespace },
        spec: { ...structuredClone(template.spec), volumeName: pv },
        status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: size } },
      });
      sim.putObject({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-${i.toString()}`, namespace },
        spec: {
          nodeName: 'n1',
          containers: [{ name: 'main', image: 'example' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvc } }],
        },
        status: { phase: 'Running' },
      });
      const gi = Number(/^(\d+)Gi$/.exec(size)?.[1] ?? '0');
      sim.setUsage(namespace, pvc, {
        usedBytes: Math.round((gi * GI * replica.usedPercent) / 100),
        ...(replica.inodesUsedPercent === undefined
          ? {}
          : { inodes: 1_000_000, inodesUsed: replica.inodesUsedPercent * 10_000 }),
      });
    });
  }

  function dryRun(env: Record<string, string> = {}, ...args: string[]): Promise<Outcome[]> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [CLI, 'run', '--kubeconfig', kubeconfig, '--dry-run', '--output', 'json', ...args],
        { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${err.message}\n${stderr}`));
          else resolve(JSON.parse(stdout) as Outcome[]);
        },
      );
    });
  }

  function writes(): string[] {
    return sim.requests.filter(isWrite).map((r) => `${r.method} ${r.path}`);
  }

  it('kafka-inodes: the broker short of inodes would grow, by its inode threshold', async () => {
    const out = await apply('kafka-inodes');
    playStatefulSet('kafka', 'kafka', [
      { usedPercent: 41, inodesUsedPercent: 75 },
      { usedPercent: 50, inodesUsedPercent: 10 },
      { usedPercent: 90, inodesUsedPercent: 20 },
    ]);
    sim.requests.length = 0;

    const report = await dryRun({}, '--namespace', 'kafka');

    expect(out).toMatch(/statefulset.apps\/kafka created/);
    expect(report.map((o) => [o.name, o.action, o.reason, o.type ?? null])).toEqual([
      ['data-kafka-0', 'would-expand', 'threshold-reached', 'inodes'],
      ['data-kafka-1', 'skip', 'below-threshold', null],
      ['data-kafka-2', 'would-expand', 'threshold-reached', 'storage'],
    ]);
    // increase 20% of 200Gi = 40Gi, from the template's annotations.
    expect(report[0]?.newSize).toBe('240Gi');
    expect(writes()).toEqual([]);
  });

  it.skipIf(!HAVE_HELM)(
    'dry-run-rollout: the chart with these values runs in dry run and writes nothing',
    async () => {
      const objects = await helmTemplate('-f', join(ROOT, 'examples/dry-run-rollout/values.yaml'));
      const cron = objects.find((o) => o.kind === 'CronJob') as unknown as {
        spec: {
          jobTemplate: {
            spec: {
              template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
            };
          };
        };
      };
      const env = Object.fromEntries(
        (cron.spec.jobTemplate.spec.template.spec.containers[0]?.env ?? [])
          .filter((e) => e.value !== undefined && e.name !== 'PVC_CHONKER_PUSHGATEWAY_URL')
          .map((e) => [e.name, e.value ?? '']),
      );
      await apply('kafka-inodes');
      playStatefulSet('kafka', 'kafka', [{ usedPercent: 95 }]);
      sim.requests.length = 0;

      // The environment of the rendered CronJob, less the in-cluster Pushgateway address.
      const report = await new Promise<Outcome[]>((resolve, reject) => {
        execFile(
          process.execPath,
          [CLI, 'run', '--kubeconfig', kubeconfig, '--output', 'json'],
          { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 },
          (err, stdout, stderr) => {
            if (err) reject(new Error(`${err.message}\n${stderr}`));
            else resolve(JSON.parse(stdout) as Outcome[]);
          },
        );
      });

      expect(env).toMatchObject({
        PVC_CHONKER_DRY_RUN: 'true',
        PVC_CHONKER_NAMESPACE: 'databases,search,kafka',
      });
      expect(report.map((o) => [o.name, o.action])).toEqual([['data-kafka-0', 'would-expand']]);
      expect(writes()).toEqual([]);
    },
  );

  it('storage-class-default: the class and its PVC apply', async () => {
    const out = await apply('storage-class-default');

    expect(out).toMatch(/storageclass.storage.k8s.io\/gp3-managed created/);
    expect(out).toMatch(/persistentvolumeclaim\/uploads created/);
    const sc = sim.getObject('StorageClass', undefined, 'gp3-managed') as {
      metadata: { annotations: Record<string, string> };
    };
    expect(sc.metadata.annotations['pvc-chonker.io/enabled']).toBe('true');
  });

  it('storage-class-default: a PVC of the class is managed by it', async () => {
    await apply('storage-class-default');
    sim.deleteObject('PersistentVolumeClaim', 'apps', 'uploads');
    sim.putObject({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'uploads', namespace: 'apps' },
      spec: {
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { storageClassName: 'gp3-managed', resources: { requests: { storage: '50Gi' } } },
          },
        ],
      },
    });
    playStatefulSet('apps', 'uploads', [{ usedPercent: 86 }]);

    const report = await dryRun({}, '--namespace', 'apps');

    // threshold 85% and increase 20% from the class: 50Gi -> 60Gi.
    expect(report.map((o) => [o.name, o.action, o.newSize])).toEqual([
      ['data-uploads-0', 'would-expand', '60Gi'],
    ]);
  });

  it('postgres-policy: the policy manages the unannotated PVCs', async () => {
    await installCrds();
    const out = await apply('postgres-policy');
    playStatefulSet('databases', 'postgres', [{ usedPercent: 81 }, { usedPercent: 40 }]);

    const report = await dryRun({}, '--namespace', 'databases');

    expect(out).toMatch(/pvcpolicy.pvc-chonker.io\/postgres created/);
    // threshold 80%, increase 25% of 100Gi from the policy's template.
    expect(report.map((o) => [o.name, o.action, o.reason, o.newSize ?? null])).toEqual([
      ['data-postgres-0', 'would-expand', 'threshold-reached', '125Gi'],
      ['data-postgres-1', 'skip', 'below-threshold', null],
    ]);
  });

  it('elasticsearch-group: one full member grows the whole group', async () => {
    await installCrds();
    const out = await apply('elasticsearch-group');
    playStatefulSet('search', 'es-data', [
      { usedPercent: 76 },
      { usedPercent: 30 },
      { usedPercent: 50 },
    ]);

    const report = await dryRun({}, '--namespace', 'search');

    expect(out).toMatch(/pvcgroup.pvc-chonker.io\/es-data created/);
    // 500Gi + 20% = 600Gi for every member, in the same pass.
    expect(report.map((o) => [o.name, o.action, o.newSize])).toEqual([
      ['data-es-data-0', 'would-expand', '600Gi'],
      ['data-es-data-1', 'would-expand', '600Gi'],
      ['data-es-data-2', 'would-expand', '600Gi'],
    ]);
  });
});
