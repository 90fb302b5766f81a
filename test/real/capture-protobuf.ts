/**
 * Captures test/fixtures/protobuf/ from a real kube-apiserver (test/real/cluster.ts): PVC, PV
 * and Pod lists covering the fields the protobuf decoders read, and error answers (403, 404),
 * each as protobuf (.pb) and as JSON (.json), for test/unit/protobuf-lists.test.ts:
 *
 *   npx esbuild test/real/capture-protobuf.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=dist/capture-protobuf.mjs
 *   bash scripts/in-netns.sh node dist/capture-protobuf.mjs && npx prettier --write test/fixtures/protobuf
 *
 * No 410: an expired continue token could not be had here (after an etcd compaction the API
 * server still served the old token from its watch cache); the unit test builds that Status.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesRequest } from '../integration/json-request.js';
import { startRealCluster, type RealCluster } from './cluster.js';

const OUT = join(process.cwd(), 'test/fixtures/protobuf');
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const NS = 'pb';

function get(cluster: RealCluster, path: string, accept: string, token?: string) {
  return bytesRequest(new URL(path, cluster.url).toString(), {
    accept,
    token: token ?? cluster.adminToken,
    ca: cluster.ca.caPem,
  });
}

/** Writes `name`.pb and `name`.json: the same GET answered in each encoding. */
async function capture(
  cluster: RealCluster,
  name: string,
  path: string,
  expected: number,
  token?: string,
): Promise<void> {
  const pb = await get(cluster, path, PROTOBUF, token);
  const json = await get(cluster, path, 'application/json', token);
  if (pb.status !== expected || json.status !== expected || !pb.contentType.startsWith(PROTOBUF))
    throw new Error(`${name}: ${pb.status} ${pb.contentType}, ${json.status}`);
  await writeFile(join(OUT, `${name}.pb`), pb.body);
  // Pretty-printed, so a review can read what the .pb holds.
  const parsed: unknown = JSON.parse(json.body.toString('utf8'));
  await writeFile(join(OUT, `${name}.json`), `${JSON.stringify(parsed, null, 2)}\n`);
}

async function create(cluster: RealCluster, path: string, body: unknown): Promise<unknown> {
  const answer = await cluster.request('POST', path, body);
  if (answer.status >= 300) throw new Error(`POST ${path}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function setStatus(cluster: RealCluster, name: string, status: unknown): Promise<void> {
  const path = `/api/v1/namespaces/${NS}/persistentvolumeclaims/${name}/status`;
  const answer = await cluster.request(
    'PATCH',
    path,
    { status },
    {
      contentType: 'application/merge-patch+json',
    },
  );
  if (answer.status >= 300) throw new Error(`PATCH ${path}: ${JSON.stringify(answer.body)}`);
}

function pvc(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    metadata: { name, ...metadata },
    spec: { accessModes: ['ReadWriteOnce'], ...spec },
  };
}

async function seedClaims(cluster: RealCluster): Promise<void> {
  const path = `/api/v1/namespaces/${NS}/persistentvolumeclaims`;
  await create(
    cluster,
    path,
    pvc(
      'full',
      {
        storageClassName: 'fast',
        volumeName: 'pv-csi',
        resources: { requests: { storage: '10Gi' }, limits: { storage: '20Gi' } },
      },
      {
        labels: { app: 'db', 'pvc-chonker.io/group': 'g1' },
        annotations: {
          'pvc-chonker.io/enabled': 'true',
          'pvc-chonker.io/settings': '{"threshold":"80%"}',
          note: 'naïve ✓ 日本語 😀',
        },
      },
    ),
  );
  await setStatus(cluster, 'full', {
    phase: 'Bound',
    accessModes: ['ReadWriteOnce'],
    capacity: { storage: '10Gi' },
    allocatedResources: { storage: '20Gi' },
    allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
    conditions: [
      { type: 'Resizing', status: 'True' },
      { type: 'FileSystemResizePending', status: 'False' },
    ],
  });
  await create(
    cluster,
    path,
    pvc('block', {
      volumeMode: 'Block',
      storageClassName: '',
      resources: { requests: { storage: '1500Mi' } },
    }),
  );
  await create(
    cluster,
    path,
    pvc(
      'vac',
      { volumeAttributesClassName: 'gold', resources: { requests: { storage: '5G' } } },
      { annotations: { 'pvc-chonker.io/max-size': '1Ti' } },
    ),
  );
  await setStatus(cluster, 'vac', {
    phase: 'Bound',
    capacity: { storage: '5G' },
    conditions: [{ type: 'ControllerResizeError', status: 'True', message: 'quota' }],
  });
  await create(cluster, path, pvc('plain', { resources: { requests: { storage: '1Gi' } } }));
}

const RWO = ['ReadWriteOnce'];

function pv(name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return {
    metadata: { name, ...(labels && { labels }) },
    spec: { capacity: { storage: '10Gi' }, accessModes: RWO, ...spec },
  };
}

function term(...matchExpressions: { key: string; operator: string; values?: string[] }[]) {
  return { matchExpressions };
}

async function seedVolumes(cluster: RealCluster): Promise<void> {
  const path = '/api/v1/persistentvolumes';
  const zone = 'topology.kubernetes.io/zone';
  const volumes = [
    pv(
      'pv-csi',
      { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc', fsType: 'ext4' } },
      {
        [zone]: 'eu-west-1a',
      },
    ),
    pv('pv-ebs', {
      awsElasticBlockStore: { volumeID: 'aws://eu-west-1b/vol-0def', fsType: 'ext4' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [term({ key: zone, operator: 'In', values: ['eu-west-1b'] })],
        },
      },
    }),
    pv(
      'pv-gce',
      { gcePersistentDisk: { pdName: 'disk-1', partition: 1 } },
      {
        'failure-domain.beta.kubernetes.io/zone': 'us-central1-a',
      },
    ),
    pv('pv-local', {
      local: { path: '/mnt/disk' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            term(
              { key: 'topology.topolvm.io/node', operator: 'In', values: ['node-1', 'node-2'] },
              { key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['node-9'] },
              { key: 'example.com/ssd', operator: 'Exists' },
            ),
            term({ key: 'topology.topolvm.io/node', operator: 'In', values: ['node-3'] }),
          ],
        },
      },
    }),
    pv('pv-topology', {
      csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/d' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            term({ key: 'topology.gke.io/zone', operator: 'In', values: ['europe-west1-b'] }),
          ],
        },
      },
    }),
    pv('pv-hostpath', { hostPath: { path: '/tmp/x' } }),
  ];
  for (const volume of volumes) await create(cluster, path, volume);
}

async function seedPods(cluster: RealCluster): Promise<void> {
  const path = `/api/v1/namespaces/${NS}/pods`;
  const containers = [{ name: 'app', image: 'example.com/app:1' }];
  const claim = (name: string, claimName: string, readOnly = false) => ({
    name,
    persistentVolumeClaim: { claimName, readOnly },
  });
  await create(cluster, path, {
    metadata: { name: 'several', labels: { app: 'db' } },
    spec: {
      nodeName: 'node-1',
      containers,
      volumes: [
        claim('data', 'full'),
        { name: 'scratch', emptyDir: {} },
        claim('raw', 'block', true),
        { name: 'cfg', configMap: { name: 'cfg' } },
      ],
    },
  });
  await create(cluster, path, {
    metadata: { name: 'unscheduled' },
    spec: { containers, volumes: [claim('data', 'vac')] },
  });
  await create(cluster, path, {
    metadata: { name: 'none' },
    spec: { nodeName: 'node-2', containers },
  });
}

async function captureErrors(cluster: RealCluster): Promise<void> {
  await capture(
    cluster,
    'status-404',
    `/api/v1/namespaces/${NS}/persistentvolumeclaims/missing`,
    404,
  );
  await create(cluster, `/api/v1/namespaces/${NS}/serviceaccounts`, {
    metadata: { name: 'nobody' },
  });
  const issued = (await create(cluster, `/api/v1/namespaces/${NS}/serviceaccounts/nobody/token`, {
    spec: {},
  })) as { status: { token: string } };
  await capture(
    cluster,
    'status-403',
    '/api/v1/persistentvolumeclaims?limit=2',
    403,
    issued.status.token,
  );
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const cluster = await startRealCluster();
  try {
    await create(cluster, '/api/v1/namespaces', { metadata: { name: NS } });
    await seedClaims(cluster);
    await seedVolumes(cluster);
    await seedPods(cluster);
    await capture(cluster, 'pvcs', '/api/v1/persistentvolumeclaims', 200);
    await capture(cluster, 'pvcs-page', '/api/v1/persistentvolumeclaims?limit=2', 200);
    await capture(cluster, 'pvs', '/api/v1/persistentvolumes', 200);
    await capture(cluster, 'pods', `/api/v1/namespaces/${NS}/pods`, 200);
    await captureErrors(cluster);
  } finally {
    await cluster.close();
  }
}

await main();
