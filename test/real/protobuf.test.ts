// The sim's protobuf encoder against the real kube-apiserver: objects created on the real server,
// fetched from it as JSON and as protobuf; the sim's encoding of that JSON must be the real
// server's bytes (Go marshals fields by number and map keys sorted: the bytes are determined).
// Then content negotiation: the sim answers each Accept header as the real server does.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { listProtobuf, objectProtobuf, watchFrame } from '../../sim/negotiation.js';
import { bytesRequest, type BytesAnswer } from '../integration/json-request.js';
import { realTierUnavailable, startRealCluster, type RealCluster } from './cluster.js';

const unavailable = realTierUnavailable();
const PB = 'application/vnd.kubernetes.protobuf';
const PB_JSON = `${PB}, application/json`;
const NS = 'proto';
const CRD = fileURLToPath(new URL('../../cronjob/crds/pvcpolicies.yaml', import.meta.url));

const PVC_FULL = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name: 'full',
    labels: { app: 'db', 'pvc-chonker.io/group': 'g1' },
    annotations: { 'pvc-chonker.io/enabled': 'true', 'pvc-chonker.io/threshold': '80%' },
  },
  spec: {
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
    volumeMode: 'Block',
    storageClassName: 'fast',
    volumeAttributesClassName: 'gold',
    volumeName: 'pv-csi',
    selector: {
      matchLabels: { tier: 'db' },
      matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }],
    },
    resources: { requests: { storage: '10Gi' }, limits: { storage: '100Gi' } },
  },
};

const PVC_STATUS = {
  phase: 'Bound',
  accessModes: ['ReadWriteOnce'],
  capacity: { storage: '10Gi' },
  allocatedResources: { storage: '20Gi' },
  allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
  currentVolumeAttributesClassName: 'silver',
  conditions: [
    {
      type: 'Resizing',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: '2026-12-01T10:00:00Z',
      reason: 'Expanding',
      message: 'waiting for the resizer',
    },
    {
      type: 'FileSystemResizePending',
      status: 'False',
      lastTransitionTime: '2026-12-01T10:01:02Z',
    },
  ],
  modifyVolumeStatus: { targetVolumeAttributesClassName: 'gold', status: 'InProgress' },
};

const ZONE_LABELS = {
  'topology.kubernetes.io/zone': 'eu-west-1a',
  'topology.kubernetes.io/region': 'eu-west-1',
};

function pv(name: string, source: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: ZONE_LABELS },
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'fast',
      mountOptions: ['noatime'],
      claimRef: { namespace: NS, name: 'full', uid: '0c9f6bd2-2e0e-4b5b-8d3a-000000000001' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a'] },
              ],
            },
          ],
        },
      },
      ...source,
    },
  };
}

const PVS = [
  pv('pv-csi', {
    csi: {
      driver: 'ebs.csi.aws.com',
      volumeHandle: 'vol-0123456789abcdef0',
      fsType: 'ext4',
      volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': 'x', b: '1' },
    },
  }),
  pv('pv-ebs', { awsElasticBlockStore: { volumeID: 'aws://eu-west-1a/vol-1', fsType: 'xfs' } }),
  pv('pv-gce', { gcePersistentDisk: { pdName: 'disk-1', fsType: 'ext4', partition: 1 } }),
];

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'multi', labels: { app: 'db' }, annotations: { note: 'ü ünïcode' } },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'nobody',
    terminationGracePeriodSeconds: 5,
    tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
    securityContext: { runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3, 4] },
    containers: [
      {
        name: 'app',
        image: 'registry.example/app:1',
        args: ['--port', '8080'],
        ports: [{ name: 'http', containerPort: 8080 }],
        env: [{ name: 'A', value: '1' }],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
        livenessProbe: { tcpSocket: { port: 8080 } },
        volumeMounts: [
          { name: 'data', mountPath: '/data' },
          { name: 'cache', mountPath: '/cache' },
          { name: 'config', mountPath: '/etc/app', readOnly: true },
        ],
      },
    ],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'full' } },
      { name: 'logs', persistentVolumeClaim: { claimName: 'plain', readOnly: true } },
      { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
      {
        name: 'config',
        configMap: { name: 'cfg', items: [{ key: 'a', path: 'a.yaml' }], defaultMode: 420 },
      },
      { name: 'secret', secret: { secretName: 's', optional: true } },
      {
        name: 'token',
        projected: {
          sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }],
        },
      },
    ],
  },
};

const POD_STATUS = {
  phase: 'Running',
  hostIP: '192.0.2.1',
  podIP: '10.0.0.5',
  podIPs: [{ ip: '10.0.0.5' }],
  startTime: '2026-12-01T10:00:00Z',
  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-01T10:00:05Z' }],
  containerStatuses: [
    {
      name: 'app',
      ready: true,
      restartCount: 2,
      image: 'registry.example/app:1',
      imageID: '',
      started: true,
      state: { running: { startedAt: '2026-12-01T10:00:01Z' } },
    },
  ],
};

const NODE = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-a', labels: { ...ZONE_LABELS, 'kubernetes.io/hostname': 'node-a' } },
  spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }], podCIDR: '10.0.0.0/24' },
};

const NODE_STATUS = {
  addresses: [
    { type: 'InternalIP', address: '192.0.2.1' },
    { type: 'Hostname', address: 'node-a' },
  ],
  capacity: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
  allocatable: { cpu: '3900m', memory: '15Gi', pods: '110' },
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      lastHeartbeatTime: '2026-12-01T10:00:00Z',
      lastTransitionTime: '2026-12-01T09:00:00Z',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
    },
  ],
  daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
  nodeInfo: {
    machineID: 'm',
    systemUUID: 's',
    bootID: 'b',
    kernelVersion: '6.1',
    osImage: 'Debian',
    containerRuntimeVersion: 'containerd://2.0',
    kubeletVersion: 'v1.37.2',
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: 'amd64',
  },
  volumesAttached: [{ name: 'kubernetes.io/csi/ebs.csi.aws.com^vol-1', devicePath: '' }],
  volumesInUse: ['kubernetes.io/csi/ebs.csi.aws.com^vol-1'],
};

/** As pvc-chonker writes them: a core/v1 Event with a MicroTime and counts. */
const EVENT = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'full.expanded' },
  involvedObject: {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: NS,
    name: 'full',
    uid: '0c9f6bd2-2e0e-4b5b-8d3a-000000000002',
  },
  reason: 'Expanding',
  message: 'from 10Gi to 20Gi',
  type: 'Normal',
  source: { component: 'pvc-chonker' },
  firstTimestamp: '2026-12-01T10:00:00Z',
  lastTimestamp: '2026-12-01T10:05:00Z',
  count: 3,
  eventTime: null,
  reportingComponent: 'pvc-chonker',
  reportingInstance: 'pvc-chonker-1',
};

const EVENT_MICRO = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'full.micro' },
  involvedObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: NS, name: 'full' },
  reason: 'Resized',
  message: 'done',
  type: 'Normal',
  eventTime: '2026-12-01T10:00:00.123456Z',
  action: 'Resize',
  reportingComponent: 'pvc-chonker',
  reportingInstance: 'pvc-chonker-1',
  series: { count: 2, lastObservedTime: '2026-12-01T10:01:00.654321Z' },
};

/** Where each built-in kind lives: API prefix, resource, namespaced. */
const RESOURCES: Record<string, [string, string, boolean]> = {
  Namespace: ['/api/v1', 'namespaces', false],
  ServiceAccount: ['/api/v1', 'serviceaccounts', true],
  Service: ['/api/v1', 'services', true],
  ConfigMap: ['/api/v1', 'configmaps', true],
  Secret: ['/api/v1', 'secrets', true],
  PersistentVolumeClaim: ['/api/v1', 'persistentvolumeclaims', true],
  StorageClass: ['/apis/storage.k8s.io/v1', 'storageclasses', false],
  VolumeAttributesClass: ['/apis/storage.k8s.io/v1', 'volumeattributesclasses', false],
  ClusterRole: ['/apis/rbac.authorization.k8s.io/v1', 'clusterroles', false],
  ClusterRoleBinding: ['/apis/rbac.authorization.k8s.io/v1', 'clusterrolebindings', false],
  Role: ['/apis/rbac.authorization.k8s.io/v1', 'roles', true],
  RoleBinding: ['/apis/rbac.authorization.k8s.io/v1', 'rolebindings', true],
  CronJob: ['/apis/batch/v1', 'cronjobs', true],
  Job: ['/apis/batch/v1', 'jobs', true],
  Deployment: ['/apis/apps/v1', 'deployments', true],
  StatefulSet: ['/apis/apps/v1', 'statefulsets', true],
  PodDisruptionBudget: ['/apis/policy/v1', 'poddisruptionbudgets', true],
  MutatingWebhookConfiguration: [
    '/apis/admissionregistration.k8s.io/v1',
    'mutatingwebhookconfigurations',
    false,
  ],
  ValidatingWebhookConfiguration: [
    '/apis/admissionregistration.k8s.io/v1',
    'validatingwebhookconfigurations',
    false,
  ],
};

/** The install's own manifests (namespaces first, the webhook configurations last). */
const MANIFESTS = [
  'cronjob/namespace.yaml',
  'examples/elasticsearch-group/statefulset.yaml',
  'examples/postgres-policy/statefulset.yaml',
  'examples/kafka-inodes/statefulset.yaml',
  'examples/storage-class-default/storageclass.yaml',
  'examples/storage-class-default/pvc.yaml',
  'cronjob/rbac.yaml',
  'cronjob/cronjob.yaml',
  'cronjob/sharded-job.yaml',
  'cronjob/webhook/rbac.yaml',
  'cronjob/webhook/deployment.yaml',
  'cronjob/webhook/service.yaml',
  'cronjob/webhook/webhook-configurations.yaml',
];

/** Kinds the manifests lack, written as the code (and a user) would. */
const MORE_KINDS = [
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'certs', namespace: NS },
    type: 'Opaque',
    data: { 'tls.crt': Buffer.from('certificate').toString('base64') },
    stringData: { note: 'plain' },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: NS },
    data: { 'a.yaml': 'x: 1\n' },
    binaryData: { bin: Buffer.from([0, 1, 2, 255]).toString('base64') },
  },
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'VolumeAttributesClass',
    metadata: { name: 'gold' },
    driverName: 'ebs.csi.aws.com',
    parameters: { iops: '4000', throughput: '250' },
  },
  {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'once', namespace: NS },
    spec: {
      backoffLimit: 2,
      ttlSecondsAfterFinished: 600,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'run', image: 'registry.example/run:1', args: ['run'] }],
        },
      },
    },
  },
];

function objectPath(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  const where = RESOURCES[o.kind];
  if (where === undefined) throw new Error(`no resource for ${o.kind}`);
  const [prefix, resource, namespaced] = where;
  const ns = namespaced ? `/namespaces/${o.metadata.namespace ?? 'default'}` : '';
  return `${prefix}${ns}/${resource}`;
}

function asObject(answer: BytesAnswer): Record<string, unknown> {
  return JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
}

/** The sim's encoding of a JSON answer: an object, a Status or a list. */
function simEncoding(json: Record<string, unknown>): Buffer | undefined {
  const kind = String(json['kind']);
  if (!kind.endsWith('List')) return objectProtobuf(json);
  return listProtobuf(
    String(json['apiVersion']),
    kind.slice(0, -'List'.length),
    json['metadata'],
    json['items'] as object[],
  );
}

describe.skipIf(unavailable !== undefined)('protobuf: the sim encodes as the real server', () => {
  let real: RealCluster;
  let sim: SimCluster;
  let saToken: string;

  function fetch(
    base: { url: string; token: string; ca?: string },
    path: string,
    accept: string,
    write?: { method: string; body: unknown },
  ): Promise<BytesAnswer> {
    return bytesRequest(`${base.url}${path}`, {
      accept,
      token: base.token,
      ...(base.ca === undefined ? {} : { ca: base.ca }),
      ...(write ?? {}),
    });
  }
  const onReal = (path: string, accept: string, write?: { method: string; body: unknown }) =>
    fetch({ url: real.url, token: real.adminToken, ca: real.ca.caPem }, path, accept, write);

  /** Fetches `path` as JSON and as protobuf; the sim's encoding of the JSON must be the bytes. */
  async function expectSameBytes(path: string, write?: { method: string; body: unknown }) {
    const json = await onReal(path, 'application/json', write);
    const pb = await onReal(path, PB_JSON, write);

    expect(pb.contentType).toBe(PB);
    expect(pb.status).toBe(json.status);
    expect(simEncoding(asObject(json))?.toString('hex')).toBe(pb.body.toString('hex'));
    return { json: asObject(json), status: json.status };
  }

  beforeAll(async () => {
    real = await startRealCluster();
    const created = [
      ['/api/v1/namespaces', { metadata: { name: NS } }],
      [
        '/apis/storage.k8s.io/v1/storageclasses',
        {
          metadata: { name: 'fast', annotations: { 'pvc-chonker.io/max-size': '1Ti' } },
          provisioner: 'ebs.csi.aws.com',
          parameters: { type: 'gp3' },
          allowVolumeExpansion: true,
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'WaitForFirstConsumer',
          mountOptions: ['noatime'],
        },
      ],
      ['/api/v1/persistentvolumes', PVS[0]],
      ['/api/v1/persistentvolumes', PVS[1]],
      ['/api/v1/persistentvolumes', PVS[2]],
      [`/api/v1/namespaces/${NS}/persistentvolumeclaims`, PVC_FULL],
      [
        `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
        {
          metadata: { name: 'plain' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      [`/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: 'nobody' } }],
      [`/api/v1/namespaces/${NS}/pods`, POD],
      ['/api/v1/nodes', NODE],
      [`/api/v1/namespaces/${NS}/events`, EVENT],
      [`/api/v1/namespaces/${NS}/events`, EVENT_MICRO],
      ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions', parse(readFileSync(CRD, 'utf8'))],
    ] as const;
    for (const [path, body] of created) {
      const answer = await real.request('POST', path, body);
      expect(answer.status, `POST ${path}: ${JSON.stringify(answer.body)}`).toBe(201);
    }
    const statuses = [
      [`/api/v1/namespaces/${NS}/persistentvolumeclaims/full`, PVC_STATUS],
      [`/api/v1/namespaces/${NS}/pods/multi`, POD_STATUS],
      ['/api/v1/persistentvolumes/pv-csi', { phase: 'Bound' }],
      ['/api/v1/nodes/node-a', NODE_STATUS],
    ] as const;
    for (const [path, status] of statuses) {
      const answer = await real.request(
        'PATCH',
        `${path}/status`,
        { status },
        {
          contentType: 'application/merge-patch+json',
        },
      );
      expect(answer.status, `PATCH ${path}: ${JSON.stringify(answer.body)}`).toBe(200);
    }
    const token = await real.request(
      'POST',
      `/api/v1/namespaces/${NS}/serviceaccounts/nobody/token`,
      { spec: { audiences: [] } },
    );
    saToken = (token.body as { status: { token: string } }).status.token;
    sim = await startSimCluster({
      seed: {
        objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }],
        usage: [],
      },
      crds: fileURLToPath(new URL('../../cronjob/crds', import.meta.url)),
    });
  }, 90_000);
  afterAll(async () => {
    await sim.close();
    await real.close();
  });

  it.each([
    [
      'a PVC with labels, conditions, allocatedResourceStatuses, Block mode and a VAC',
      `/api/v1/namespaces/${NS}/persistentvolumeclaims/full`,
    ],
    ['a bare PVC', `/api/v1/namespaces/${NS}/persistentvolumeclaims/plain`],
    ['a CSI PV with nodeAffinity and zone labels', '/api/v1/persistentvolumes/pv-csi'],
    ['an awsElasticBlockStore PV', '/api/v1/persistentvolumes/pv-ebs'],
    ['a gcePersistentDisk PV', '/api/v1/persistentvolumes/pv-gce'],
    [
      'a Pod with several volumes and named and numbered ports',
      `/api/v1/namespaces/${NS}/pods/multi`,
    ],
    ['a StorageClass', '/apis/storage.k8s.io/v1/storageclasses/fast'],
    ['a Namespace', `/api/v1/namespaces/${NS}`],
    ['a Node with addresses, capacity, conditions and attached volumes', '/api/v1/nodes/node-a'],
    ['an Event with counts', `/api/v1/namespaces/${NS}/events/full.expanded`],
    ['an Event with a MicroTime and a series', `/api/v1/namespaces/${NS}/events/full.micro`],
  ])('%s', async (_, path) => {
    const { status } = await expectSameBytes(path);

    expect(status).toBe(200);
  });

  it('lists, paged: continue, resourceVersion and remainingItemCount', async () => {
    const first = await onReal('/api/v1/persistentvolumes?limit=2', 'application/json');
    const rv = (asObject(first)['metadata'] as { resourceVersion: string }).resourceVersion;

    const page = await expectSameBytes(
      `/api/v1/persistentvolumes?limit=2&resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );
    const meta = page.json['metadata'] as { continue: string; remainingItemCount: number };
    const rest = await expectSameBytes(
      `/api/v1/persistentvolumes?limit=2&continue=${encodeURIComponent(meta.continue)}`,
    );

    expect(meta.remainingItemCount).toBe(1);
    expect((rest.json['items'] as unknown[]).length).toBe(1);
  });

  it.each([
    ['PVCs in a namespace', `/api/v1/namespaces/${NS}/persistentvolumeclaims`],
    ['PVCs everywhere', '/api/v1/persistentvolumeclaims'],
    ['pods', '/api/v1/pods'],
    ['nodes', '/api/v1/nodes'],
    ['events', `/api/v1/namespaces/${NS}/events`],
    ['StorageClasses', '/apis/storage.k8s.io/v1/storageclasses'],
  ])('the list of %s', async (_, path) => {
    const first = await onReal(path, 'application/json');
    const rv = (asObject(first)['metadata'] as { resourceVersion: string }).resourceVersion;

    const { status } = await expectSameBytes(
      `${path}?resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );

    expect(status).toBe(200);
  });

  it.each([
    ['404 NotFound', `/api/v1/namespaces/${NS}/persistentvolumeclaims/nope`, undefined],
    ['404 of an unknown resource', '/api/v1/nopes', undefined],
    [
      '422 Invalid, with causes',
      `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      { method: 'POST', body: { metadata: { name: 'bad' }, spec: {} } },
    ],
    [
      '409 AlreadyExists',
      `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      { method: 'POST', body: { metadata: { name: 'plain' }, spec: PVC_FULL.spec } },
    ],
    ['400 BadRequest', '/api/v1/persistentvolumeclaims?labelSelector=a%3D%3D%3Db', undefined],
    [
      '404 of a custom resource',
      `/apis/pvc-chonker.io/v1alpha1/namespaces/${NS}/pvcpolicies/x`,
      undefined,
    ],
  ])('an error Status: %s', async (_, path, write) => {
    const { json } = await expectSameBytes(path, write);

    expect(json['kind']).toBe('Status');
  });

  it('403 Forbidden, for a service account without rights', async () => {
    const path = `/api/v1/namespaces/${NS}/persistentvolumeclaims`;
    const json = await fetch(
      { url: real.url, token: saToken, ca: real.ca.caPem },
      path,
      'application/json',
    );
    const pb = await fetch({ url: real.url, token: saToken, ca: real.ca.caPem }, path, PB_JSON);

    expect(pb.status).toBe(403);
    expect(pb.contentType).toBe(PB);
    expect(simEncoding(asObject(json))?.toString('hex')).toBe(pb.body.toString('hex'));
  });

  it('a watch: length-prefixed WatchEvents, each object a protobuf answer', async () => {
    const path = `/api/v1/namespaces/${NS}/persistentvolumeclaims?watch=1&resourceVersion=0&timeoutSeconds=1`;
    const json = await onReal(path, 'application/json');
    const pb = await onReal(path, PB_JSON);

    const events = json.body
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; object: unknown });
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ADDED']);
    expect(pb.contentType).toBe(`${PB};stream=watch`);
    const frames = Buffer.concat(events.map((e) => watchFrame(e.type, e.object)));
    expect(frames.toString('hex')).toBe(pb.body.toString('hex'));
  });

  describe('every other built-in kind the sim serves, from the install and the examples', () => {
    type Manifest = { kind: string; metadata: { name: string; namespace?: string } };
    const created: Manifest[] = [];

    beforeAll(async () => {
      const docs = [
        ...MANIFESTS.flatMap((file) =>
          parseAllDocuments(
            readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8'),
          ).map((d) => d.toJS() as Manifest),
        ),
        ...(MORE_KINDS as Manifest[]),
      ];
      for (const doc of docs) {
        const answer = await real.request('POST', objectPath(doc), doc);
        // Two CronJobs of the install share a name: the first one is enough.
        if (answer.status === 409) continue;
        expect(answer.status, `POST ${doc.kind} ${JSON.stringify(answer.body)}`).toBe(201);
        created.push(doc);
      }
    });

    it('covers every kind of the table but CustomResourceDefinition', () => {
      const kinds = new Set(created.map((d) => d.kind));

      for (const kind of Object.keys(RESOURCES)) expect(kinds, kind).toContain(kind);
    });

    it('each object, byte for byte', async () => {
      for (const doc of created) {
        await expectSameBytes(`${objectPath(doc)}/${doc.metadata.name}`);
      }
      expect(created.length).toBeGreaterThan(15);
    });

    it('each kind’s list, byte for byte', async () => {
      for (const [kind, [prefix, resource]] of Object.entries(RESOURCES)) {
        const path = `${prefix}/${resource}`;
        const first = await onReal(path, 'application/json');
        expect(first.status, kind).toBe(200);
        const rv = (asObject(first)['metadata'] as { resourceVersion: string }).resourceVersion;
        await expectSameBytes(`${path}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
      }
    });

    it('events.k8s.io/v1 Events (the same Events, another schema)', async () => {
      await expectSameBytes(`/apis/events.k8s.io/v1/namespaces/${NS}/events/full.micro`);
      await expectSameBytes(`/apis/events.k8s.io/v1/namespaces/${NS}/events/full.expanded`);
    });
  });

  describe('content negotiation: the sim answers each Accept header as the real server', () => {
    const PVCS = `/api/v1/namespaces/${NS}/persistentvolumeclaims`;
    const POLICIES = `/apis/pvc-chonker.io/v1alpha1/namespaces/${NS}/pvcpolicies`;
    it.each([
      [PVCS, PB],
      [PVCS, PB_JSON],
      [PVCS, `application/json, ${PB}`],
      [PVCS, `application/json;q=0.5, ${PB}`],
      [PVCS, '*/*'],
      [PVCS, 'application/json'],
      [PVCS, `application/json;as=Table;v=v1;g=meta.k8s.io, ${PB_JSON}`],
      [`${PVCS}?watch=1&timeoutSeconds=1`, PB_JSON],
      [`${PVCS}?watch=1&timeoutSeconds=1`, 'application/json'],
      [`${POLICIES}?watch=1&timeoutSeconds=1`, PB_JSON],
      [`${PVCS}/nope`, PB_JSON],
      [POLICIES, PB_JSON],
      [POLICIES, PB],
      [`${POLICIES}/nope`, PB_JSON],
      [`${POLICIES}/nope`, PB],
      ['/api/v1/persistentvolumes', PB_JSON],
      ['/apis/storage.k8s.io/v1/storageclasses', PB_JSON],
    ])('GET %s, Accept: %s', async (path, accept) => {
      // A CRD serves once its storage is up: a 429 "storage is (re)initializing" until then.
      let answer = await onReal(path, accept);
      for (let i = 0; i < 50 && answer.status === 429; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await onReal(path, accept);
      }
      const fromSim = await fetch({ url: sim.url, token: 'sim-token' }, path, accept);

      expect({ status: fromSim.status, contentType: fromSim.contentType }).toEqual({
        status: answer.status,
        contentType: answer.contentType,
      });
      if (fromSim.contentType === PB)
        expect(fromSim.body.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    });
  });
});
