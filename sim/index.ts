// Public entry point of the simulated cluster: an HTTP server speaking the subset of the
// Kubernetes API (and kubelet Summary API via the node proxy) that pvc-chonker uses.
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdmission, type AdmissionCall } from './admission.js';
import { warmListJson } from './api.js';
import { defaultAuthorizer, type AuthenticationOptions } from './auth.js';
import { crdFor, decodeCustom, prepareCustomWrite } from './crds.js';
import { createFaultInjector, type FaultInjector } from './faults.js';
import { createSimServer, type RequestLogEntry, type ServerDeps } from './http-server.js';
import { deepCopy, isObject, namespaceOf, nameOf, type JsonObject } from './json.js';
import { usageFrom, type VolumeUsage } from './kubelet.js';
import { SIM_TOKEN, SIM_USER, writeKubeconfigFile } from './kubeconfig.js';
import { proxyToKubelet, type KubeletDeps } from './kubelet-proxy.js';
import { warmListProtobuf } from './negotiation.js';
import {
  startFakeKubelet,
  type ApiServerAccess,
  type FakeKubelet,
  type KubeletAnswer,
} from './kubelet-server.js';
import { createRbacAuthorizer, MASTERS_GROUP } from './rbac.js';
import { createResizeController } from './resize.js';
import { resourceForKind, simKindOf, type SimKind } from './resources.js';
import { applySeedDefaults, loadSeed, type SimSeed, type SimVolumeUsage } from './seed.js';
import { createStore, objectKey, type ObjectStore } from './store.js';
import { createSimCa, SIM_SERVING_NAMES, type SimCa } from './tls.js';
import { createWatchHub } from './watch.js';

export type { FaultInjector, FaultRule, KubeletFault } from './faults.js';
export type { RequestLogEntry } from './http-server.js';
export type { AdmissionCall } from './admission.js';
export type { AuthenticationOptions } from './auth.js';
export { ANONYMOUS_USER } from './auth.js';
export {
  startFakeKubelet,
  kubeletSubresource,
  type FakeKubelet,
  type FakeKubeletFault,
  type FakeKubeletOptions,
  type KubeletAnswer,
  type KubeletRequest,
} from './kubelet-server.js';
export { SIM_CONTEXT, SIM_TOKEN, SIM_USER } from './kubeconfig.js';
export { SIM_SERVING_NAMES, type KeyPair } from './tls.js';
export type { SimKind } from './resources.js';
export type { SimSeed, SimVolumeUsage, SizeInput } from './seed.js';
export type { FleetOptions } from './fleet.js';
export { loadSeed, parseSeed, expandTimeTokens } from './seed.js';
export { generateFleet } from './fleet.js';
export { RESIZE_OUTCOME_ANNOTATION, type ResizeOutcome } from './resize.js';

export interface SimClusterOptions {
  /** Parsed seed, or a path to a seed YAML file. */
  seed: SimSeed | string;
  /** Default 0 (ephemeral); the host is always 127.0.0.1. */
  port?: number;
  /** Fixed delay added to every API request. */
  latencyMs?: number;
  /** Time from an accepted expansion PATCH to status.capacity growing (default 2000). */
  resizeDelayMs?: number;
  /** Extra time after status.capacity grows before the kubelet's capacityBytes follows (default 0). */
  kubeletLagMs?: number;
  /** A directory of CustomResourceDefinition manifests (e.g. cronjob/crds) installed first. */
  crds?: string;
  /**
   * Where admission webhooks' Services are: `namespace/name` → a loopback `host:port` (the sim
   * cannot resolve a Service). A webhook whose Service is missing here fails to be called.
   */
  webhookServices?: Record<string, string>;
  /**
   * Serve HTTPS with a CA of its own (`SimCluster.tls`), the serving certificate valid for
   * SIM_SERVING_NAMES. Client certificates are requested, not required.
   */
  tls?: boolean;
  /**
   * Authenticate and authorize every API request as kube-apiserver does (401 for bad
   * credentials, `system:anonymous` and its 403s without any). Unset, any request is served.
   * SIM_TOKEN (the kubeconfig's token) is added as SIM_USER unless `tokens` maps it already.
   */
  authentication?: AuthenticationOptions;
  /**
   * Authorize with RBAC over the stored (Cluster)Roles and (Cluster)RoleBindings, with the
   * bootstrap roles built in (rbac.ts); `system:masters` (SIM_USER) may do anything. Needs
   * `authentication`. Unset, any authenticated user may do anything.
   */
  rbac?: boolean;
  /**
   * Start a kubelet reached directly (kubelet-server.ts) for every Node of the seed, on
   * 127.0.0.1, and point the Node's InternalIP and kubeletEndpoint port at it. It serves
   * /stats/summary and /metrics over HTTPS with a certificate of the sim's CA, authenticating
   * and authorizing each request with a TokenReview and a SubjectAccessReview against the sim.
   */
  kubelets?: boolean;
  /**
   * Serialise every seeded object for lists, and every node's kubelet summary, before serving
   * (make bench): the pass's lists and stats then cost the sim a copy of cached bytes, so the
   * sim's CPU does not bound the pass it measures. A summary is built again once its node's pods,
   * their PVCs or any usage change.
   */
  preserialize?: boolean;
}

/**
 * The sim's CA: `caPem` signed the serving certificate and is what the x509 authenticator
 * trusts; it issues client certificates (CN = user, O = groups) and other serving certificates.
 */
export type SimTls = SimCa;

export interface SimCluster {
  /** `http://127.0.0.1:PORT`, or `https://...` with `tls`. */
  url: string;
  /** Present when the sim serves HTTPS. */
  tls?: SimTls;
  /** Every API request, in arrival order (the /_sim/ control endpoints are not logged). */
  requests: RequestLogEntry[];
  /** Every admission webhook call, in order, with its outcome. */
  admissionCalls: AdmissionCall[];
  /** Points the Service `namespace/name` of webhook configurations at a loopback `host:port`. */
  setWebhookService(service: string, address: string): void;
  /**
   * Context "sim", user token SIM_TOKEN; the cluster carries `certificate-authority-data` with
   * `tls`, else `insecure-skip-tls-verify: true`.
   */
  writeKubeconfig(path: string): Promise<void>;
  faults: FaultInjector;
  /** The direct kubelets (`kubelets`), by node name. */
  kubelets: ReadonlyMap<string, FakeKubelet>;
  /** The CA that signed the kubelets' serving certificates (`kubelets`); the sim's CA with `tls`. */
  kubeletCaPem?: string;
  /** What a node's kubelet answers for /stats/summary now (the node proxy's answer), faults included. */
  kubeletSummary(node: string): KubeletAnswer;
  getObject(kind: SimKind, namespace: string | undefined, name: string): unknown;
  listObjects(kind: SimKind, namespace?: string): unknown[];
  /** Create or replace (bumps resourceVersion), e.g. to simulate a concurrent writer. */
  putObject(obj: unknown): void;
  deleteObject(kind: SimKind, namespace: string | undefined, name: string): void;
  setUsage(namespace: string, pvcName: string, usage: Partial<SimVolumeUsage>): void;
  /** Completes every pending resize step now. */
  settle(): Promise<void>;
  /** Makes every continue token issued so far expire (410 Gone), like an etcd compaction. */
  compact(): void;
  close(): Promise<void>;
}

function kindOfObject(o: unknown): SimKind {
  const kind = isObject(o) ? simKindOf(o) : undefined;
  if (kind === undefined)
    throw new Error(
      `putObject: unsupported kind ${String((o as { kind?: unknown } | null)?.kind)}`,
    );
  return kind;
}

/** The CRDs of a directory first, then the seed's objects with its own CRDs before the rest. */
async function withCrds(seed: SimSeed, dir: string): Promise<SimSeed> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the --crds directory the operator of the simulator named
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds = (await Promise.all(files.map((f) => loadSeed(join(dir, f))))).flatMap(
    (s) => s.objects,
  );
  const objects = [...crds, ...seed.objects];
  const first = (o: JsonObject): number => (o['kind'] === 'CustomResourceDefinition' ? 0 : 1);
  return { ...seed, objects: objects.sort((a, b) => first(a) - first(b)) };
}

async function seedOf(options: SimClusterOptions): Promise<SimSeed> {
  const given = typeof options.seed === 'string' ? await loadSeed(options.seed) : options.seed;
  return options.crds === undefined ? given : withCrds(given, options.crds);
}

/** A seed object as stored: seed defaults, and a custom resource's schema defaults and generation. */
function seededObject(store: ObjectStore, kind: SimKind, o: JsonObject): JsonObject {
  const object = applySeedDefaults(deepCopy(o));
  const crd = crdFor(store, resourceForKind(kind));
  if (crd !== undefined) {
    decodeCustom(crd, resourceForKind(kind), object);
    prepareCustomWrite(crd, resourceForKind(kind), undefined, object);
  }
  return object;
}

/** The token the direct kubelets call the API server with; its user is in system:masters. */
export const SIM_KUBELET_TOKEN = 'sim-kubelet-token';
/** Who the direct kubelets are to the API server (their TokenReviews and access reviews). */
export const SIM_KUBELET_USER = 'sim-kubelet';

/**
 * The kubeconfig's token always authenticates, unless the caller gave it to someone else; its
 * user is the cluster admin (system:masters), as kubeadm's admin.conf is. So is the kubelets'.
 */
function withSimTokens(given: AuthenticationOptions): AuthenticationOptions {
  return {
    ...given,
    tokens: { [SIM_TOKEN]: SIM_USER, [SIM_KUBELET_TOKEN]: SIM_KUBELET_USER, ...given.tokens },
    groups: { [SIM_USER]: [MASTERS_GROUP], [SIM_KUBELET_USER]: [MASTERS_GROUP], ...given.groups },
  };
}

function authenticationOf(options: SimClusterOptions): AuthenticationOptions | undefined {
  return options.authentication === undefined ? undefined : withSimTokens(options.authentication);
}

interface Security {
  scheme: 'http' | 'https';
  server: Pick<ServerDeps, 'tls' | 'authentication'>;
  tls?: SimCa;
  /** The CA of the kubelets' serving certificates: the sim's own with `tls`. */
  kubeletCa?: SimCa;
}

/** With `tls`, a CA and its serving certificate for 127.0.0.1 and kubernetes.default.svc. */
async function securityOf(options: SimClusterOptions): Promise<Security> {
  const authentication = authenticationOf(options);
  const server = authentication === undefined ? {} : { authentication };
  if (options.tls !== true) {
    const kubeletCa = options.kubelets === true ? { kubeletCa: await createSimCa() } : {};
    return { scheme: 'http', server, ...kubeletCa };
  }
  const ca = await createSimCa();
  const serving = await ca.issueServingCertificate(SIM_SERVING_NAMES);
  return {
    scheme: 'https',
    server: { ...server, tls: { key: serving.keyPem, cert: serving.certPem, ca: ca.caPem } },
    tls: ca,
    ...(options.kubelets === true ? { kubeletCa: ca } : {}),
  };
}

/**
 * Every seeded kind's objects serialised for lists, as JSON and as protobuf, and every node's
 * summary (preserialize).
 */
function preserialize(
  wanted: boolean | undefined,
  { store, seed, kubelet }: { store: ObjectStore; seed: SimSeed; kubelet: KubeletDeps },
): void {
  if (wanted !== true) return;
  kubelet.summaries = new Map();
  const kinds = new Set(seed.objects.map(kindOfObject));
  for (const kind of kinds) {
    const { objects } = store.sorted(kind);
    warmListJson(resourceForKind(kind), objects);
    // A client may ask for either: the CLI on main lists as JSON, a protobuf one as protobuf.
    warmListProtobuf(resourceForKind(kind), objects);
  }
  for (const node of store.list('Node')) proxyToKubelet(kubelet, nameOf(node), 'stats/summary');
}

/** Who may do what (RBAC or the permissive default), and what the review resources answer. */
function authorizationOf(
  options: SimClusterOptions,
  store: ObjectStore,
  security: Security,
): Pick<ServerDeps, 'authorizer' | 'reviews'> {
  const authorizer = options.rbac === true ? createRbacAuthorizer(store) : defaultAuthorizer;
  const authentication = security.server.authentication ?? withSimTokens({});
  return { authorizer, reviews: { authentication, authorize: authorizer } };
}

/** The kubelets' CA, when there are kubelets. */
function kubeletCaOf(security: Security): { kubeletCaPem?: string } {
  return security.kubeletCa === undefined ? {} : { kubeletCaPem: security.kubeletCa.caPem };
}

/**
 * One direct kubelet per Node, and the Node's status pointing at it (an InternalIP of
 * 127.0.0.1, the kubelet's port), as a node's kubelet reports its own address and port.
 */
async function startKubelets(
  store: ObjectStore,
  security: Security,
  url: string,
  summary: (node: string) => KubeletAnswer,
): Promise<Map<string, FakeKubelet>> {
  const kubelets = new Map<string, FakeKubelet>();
  const ca = security.kubeletCa;
  if (ca === undefined) return kubelets;
  const access: ApiServerAccess = { url, token: SIM_KUBELET_TOKEN };
  if (security.tls !== undefined) access.caPem = security.tls.caPem;
  const serving = await ca.issueServingCertificate(['127.0.0.1', 'localhost']);
  for (const node of store.list('Node')) {
    const name = nameOf(node);
    const kubelet = await startFakeKubelet({
      nodeName: name,
      apiServer: access,
      serving,
      summary: () => summary(name),
    });
    kubelets.set(name, kubelet);
    const status = { ...((node['status'] as JsonObject | undefined) ?? {}) };
    status['addresses'] = [
      { type: 'InternalIP', address: kubelet.host },
      { type: 'Hostname', address: name },
    ];
    status['daemonEndpoints'] = { kubeletEndpoint: { Port: kubelet.port } };
    store.put('Node', { ...deepCopy(node), status });
  }
  return kubelets;
}

export async function startSimCluster(options: SimClusterOptions): Promise<SimCluster> {
  const seed = await seedOf(options);
  const security = await securityOf(options);
  const now = (): Date => new Date();
  const store = createStore(now);
  const resize = createResizeController(store, {
    resizeDelayMs: options.resizeDelayMs ?? 2000,
    kubeletLagMs: options.kubeletLagMs ?? 0,
    now,
  });
  const faults = createFaultInjector();
  const watch = createWatchHub(store);
  const usage = new Map<string, VolumeUsage>();
  const requests: RequestLogEntry[] = [];
  const admissionCalls: AdmissionCall[] = [];
  const webhookServices = { ...options.webhookServices };
  const admission = createAdmission({
    store,
    services: webhookServices,
    calls: admissionCalls,
  });
  let url = '';

  // Namespaces referenced by seeded objects exist even when the seed omits them.
  for (const o of seed.objects) {
    const ns = namespaceOf(o);
    if (
      ns !== undefined &&
      resourceForKind(kindOfObject(o)).namespaced &&
      !store.get('Namespace', undefined, ns)
    ) {
      store.put(
        'Namespace',
        applySeedDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
      );
    }
  }
  for (const o of seed.objects) {
    const kind = kindOfObject(o);
    const stored = store.put(kind, seededObject(store, kind, o));
    if (kind === 'PersistentVolumeClaim') resize.onPvcWritten(undefined, stored);
  }

  let usageVersion = 0;
  const kubelet: KubeletDeps = {
    store,
    faults,
    usageOf: (ns, pvc) => usage.get(objectKey(ns, pvc)),
    kubeletCapacityBytes: (pvc) => resize.kubeletCapacityBytes(pvc),
    now,
    usageVersion: () => usageVersion,
  };
  function setUsage(namespace: string, pvcName: string, input: Partial<SimVolumeUsage>): void {
    const key = objectKey(namespace, pvcName);
    usageVersion++;
    usage.set(
      key,
      usageFrom(input, usage.get(key), store.get('PersistentVolumeClaim', namespace, pvcName)),
    );
  }
  for (const u of seed.usage) setUsage(u.namespace, u.pvc, u);
  preserialize(options.preserialize, { store, seed, kubelet });

  const kubeletSummary = (node: string): KubeletAnswer => {
    try {
      return proxyToKubelet(kubelet, node, 'stats/summary');
    } catch {
      return { status: 404, text: `node ${node} not found` };
    }
  };
  const sim = createSimServer({
    api: { store, resize, admission, now },
    kubelet,
    ...authorizationOf(options, store, security),
    faults,
    requests,
    latencyMs: options.latencyMs ?? 0,
    control: {
      settle() {
        resize.settle();
      },
      setUsage(body) {
        setUsage(String(body['namespace']), String(body['pvc']), body);
      },
    },
    watch,
    serverAddress: () => url.replace(/^https?:\/\//, ''),
    now,
    ...security.server,
  });

  await new Promise<void>((resolve, reject) => {
    sim.server.once('error', reject);
    sim.server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = sim.server.address() as AddressInfo;
  url = `${security.scheme}://127.0.0.1:${address.port}`;
  const kubelets = await startKubelets(store, security, url, kubeletSummary);

  return {
    url,
    ...(security.tls && { tls: security.tls }),
    requests,
    admissionCalls,
    setWebhookService(service, address) {
      webhookServices[service] = address;
    },
    faults,
    kubelets,
    ...kubeletCaOf(security),
    kubeletSummary,
    writeKubeconfig: (path) => writeKubeconfigFile(path, url, security.tls?.caPem),
    getObject(kind, namespace, name) {
      const found = store.get(kind, resourceForKind(kind).namespaced ? namespace : undefined, name);
      return found ? deepCopy(found) : undefined;
    },
    listObjects(kind, namespace) {
      return store.list(kind, namespace).map((o) => deepCopy(o));
    },
    putObject(obj) {
      const kind = kindOfObject(obj);
      const o = deepCopy(obj as JsonObject);
      const before = store.get(kind, namespaceOf(o), nameOf(o));
      const stored = store.put(kind, o);
      if (kind === 'PersistentVolumeClaim')
        resize.onPvcWritten(before ? deepCopy(before) : undefined, stored);
    },
    deleteObject(kind, namespace, name) {
      store.delete(kind, resourceForKind(kind).namespaced ? namespace : undefined, name);
    },
    setUsage,
    settle() {
      resize.settle();
      return Promise.resolve();
    },
    compact() {
      store.compact();
    },
    async close() {
      await Promise.all([...kubelets.values()].map((kubelet) => kubelet.close()));
      resize.close();
      watch.close();
      sim.destroyConnections();
      sim.server.closeAllConnections();
      await new Promise<void>((resolve) => {
        sim.server.close(() => {
          resolve();
        });
      });
    },
  };
}
