/**
 * Loads a simulator seed into the real API server: each object is created as a client would
 * create it, then given the status that the missing controllers (PV binder, scheduler, kubelet)
 * would have written, through the status subresource. Nodes learn their fake kubelet's address.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simKindOf } from '../../sim/resources.js';
import { apiPath } from '../integration/test-cluster.js';
import { loadSeed, type SimSeed } from '../../sim/seed.js';
import type { JsonObject } from '../../sim/json.js';
import { NETNS_ADDRESS, type RealCluster } from './cluster.js';
import { startKubelets, type FakeKubelets } from './kubelets.js';

/** Creation order: what others refer to (or are admitted against) comes first. */
const ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'StorageClass',
  'Node',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Pod',
];

function rank(o: JsonObject): number {
  // Sim kind ids: Longhorn's Node is not core's Node.
  const at = ORDER.indexOf(String(simKindOf(o)));
  return at === -1 ? ORDER.length : at;
}

export function objectPath(o: JsonObject): string {
  const kind = simKindOf(o);
  if (kind === undefined) throw new Error(`real seed: unsupported kind ${String(o['kind'])}`);
  const md = o['metadata'] as { name: string; namespace?: string };
  return apiPath(kind, md.namespace ?? 'default', md.name);
}

/**
 * What a client sends to create the object: no status, and for a Pod the service account the
 * ServiceAccount admission plugin (off here: no token controller) would have filled in, without
 * which a projected serviceAccountToken volume is invalid.
 */
function creationBody(o: JsonObject): JsonObject {
  const copy: JsonObject = { ...o };
  delete copy['status'];
  if (o['kind'] === 'Pod') {
    const spec = (o['spec'] as JsonObject | undefined) ?? {};
    copy['spec'] = { serviceAccountName: 'default', ...spec };
  }
  return copy;
}

/** The status a live object of this kind would carry, from the seed's (if any) and defaults. */
function statusOf(o: JsonObject, kubelets: FakeKubelets): JsonObject | undefined {
  const status = { ...((o['status'] as JsonObject | undefined) ?? {}) };
  const spec = (o['spec'] as JsonObject | undefined) ?? {};
  // By sim kind: Longhorn's Node gets no kubelet.
  const kind: string = simKindOf(o) ?? '';
  switch (kind) {
    case 'Node': {
      const name = (o['metadata'] as { name: string }).name;
      status['addresses'] = [{ type: 'InternalIP', address: NETNS_ADDRESS }];
      status['daemonEndpoints'] = { kubeletEndpoint: { Port: kubelets.port(name) } };
      status['conditions'] ??= [{ type: 'Ready', status: 'True' }];
      return status;
    }
    case 'PersistentVolume':
      status['phase'] ??= 'Bound';
      return status;
    case 'PersistentVolumeClaim': {
      const size = (spec['resources'] as { requests?: { storage?: string } } | undefined)?.requests
        ?.storage;
      status['phase'] ??= 'Bound';
      status['accessModes'] ??= spec['accessModes'] ?? ['ReadWriteOnce'];
      if (size !== undefined) status['capacity'] ??= { storage: size };
      return status;
    }
    case 'Pod':
      if (spec['nodeName'] === undefined) return undefined;
      status['phase'] ??= 'Running';
      return status;
    default:
      return Object.keys(status).length === 0 ? undefined : status;
  }
}

async function must(
  answer: Promise<{ status: number; body: unknown }>,
  what: string,
): Promise<unknown> {
  const { status, body } = await answer;
  if (status >= 300)
    throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 600)}`);
  return body;
}

/** CRDs are served a moment after they are created: wait until they are Established. */
async function waitEstablished(cluster: RealCluster, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { body } = await cluster.request(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    const conditions =
      (body as { status?: { conditions?: { type: string; status: string }[] } }).status
        ?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`CRD ${name} not Established in 20 s`);
}

/** The CRD manifests of a directory (e.g. cronjob/crds). */
export async function crdObjects(dir: string): Promise<JsonObject[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const seeds = await Promise.all(files.map((f) => loadSeed(join(dir, f))));
  return seeds.flatMap((s) => s.objects);
}

/** Creates one object and then its status; answers the stored object. */
export async function createObject(
  cluster: RealCluster,
  o: JsonObject,
  kubelets: FakeKubelets,
): Promise<JsonObject> {
  const path = objectPath(o);
  const collection = path.slice(0, path.lastIndexOf('/'));
  let stored = (await must(
    cluster.request('POST', collection, creationBody(o)),
    `create ${path}`,
  )) as JsonObject;
  if (simKindOf(o) === 'CustomResourceDefinition') {
    await waitEstablished(cluster, (o['metadata'] as { name: string }).name);
    return stored;
  }
  const status = statusOf(o, kubelets);
  if (status !== undefined) {
    stored = (await must(
      cluster.request(
        'PATCH',
        `${path}/status`,
        { status },
        { contentType: 'application/merge-patch+json' },
      ),
      `status of ${path}`,
    )) as JsonObject;
  }
  return stored;
}

/**
 * Starts a kubelet per Node of the seed, then creates every object in dependency order (the
 * `default` namespace already exists) and sets the seed's volume usage.
 */
export async function loadRealSeed(cluster: RealCluster, seed: SimSeed): Promise<FakeKubelets> {
  const nodes = seed.objects
    .filter((o) => simKindOf(o) === 'Node')
    .map((o) => (o['metadata'] as { name: string }).name);
  const kubelets = await startKubelets(cluster, nodes);
  const objects = [...seed.objects]
    .filter(
      (o) => !(o['kind'] === 'Namespace' && (o['metadata'] as { name: string }).name === 'default'),
    )
    .sort((a, b) => rank(a) - rank(b));
  // Kinds in order; objects of one kind in parallel.
  for (let r = 0; r <= ORDER.length; r++) {
    await Promise.all(
      objects.filter((o) => rank(o) === r).map((o) => createObject(cluster, o, kubelets)),
    );
  }
  for (const u of seed.usage) await kubelets.setUsage(u.namespace, u.pvc, u);
  return kubelets;
}
