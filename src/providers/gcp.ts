/**
 * GCP Persistent Disk and Hyperdisk: disks.get / regionDisks.get per disk (Compute has no batch
 * get), a few at a time, then a pure verdict per disk. The client library is imported only when
 * the run has a GCE candidate.
 */
import type { DisksClient } from '@google-cloud/compute/build/src/v1/disks_client.js';
import type { RegionDisksClient } from '@google-cloud/compute/build/src/v1/region_disks_client.js';
import { pvcKey } from '../core/pvc.js';
import { isRecord, parseJson } from '../core/json.js';
import { fitSize, GCE_MAX_GB, GIB } from './limits.js';
import {
  circuitOpenVerdict,
  errorMessage,
  guardedCall,
  type ErrorClassifier,
  type ProviderRuntime,
} from './runtime.js';
import { gceDiskRef, type GceDiskRef } from './select.js';
import { verdictRefused, type ExpansionCandidate, type ProviderVerdict } from './types.js';

/** Disks fetched at once; Compute's read quota is per project per minute, so stay modest. */
const GCP_CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 30_000;

export type ClientOptions = NonNullable<ConstructorParameters<typeof DisksClient>[0]>;

export interface ComputeClients {
  disks: Pick<DisksClient, 'get' | 'close'>;
  regionDisks: Pick<RegionDisksClient, 'get' | 'close'>;
}

/** The two client classes of @google-cloud/compute this needs. */
export interface ComputeSdk {
  DisksClient: typeof DisksClient;
  RegionDisksClient: typeof RegionDisksClient;
}

export interface GcpDeps {
  loadSdk: () => Promise<ComputeSdk>;
  /** An auth client that sends no credentials, for plain-http emulator endpoints. */
  createNoAuthClient: () => Promise<NonNullable<ClientOptions['authClient']>>;
}

/** The parts of a Compute Disk the verdict needs. */
export interface GceDisk {
  /** Last segment of the diskType URL, e.g. pd-balanced. */
  type: string | undefined;
  sizeGb: bigint | undefined;
  /** CREATING | RESTORING | FAILED | READY | DELETING. */
  status: string | undefined;
}

/** gRPC status codes, for errors google-gax decodes itself. */
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

type GcpFailure = 'not-found' | 'permission' | 'throttled' | 'other';

function numberField(value: unknown, field: string): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const n = (value as Record<string, unknown>)[field];
  return typeof n === 'number' ? n : undefined;
}

/**
 * Over REST the client surfaces HTTP errors as GaxiosError (HTTP `status`, raw JSON body as the
 * message); errors decoded by google-gax carry a gRPC `code` instead. Both are classified here.
 */
function classifyHttp(status: number): GcpFailure {
  if (status === 404) return 'not-found';
  if (status === 403 || status === 401) return 'permission';
  return status === 429 || status === 503 ? 'throttled' : 'other';
}

function classifyGrpc(code: number | undefined): GcpFailure {
  if (code === GRPC_NOT_FOUND) return 'not-found';
  if (code === GRPC_PERMISSION_DENIED) return 'permission';
  return code === GRPC_RESOURCE_EXHAUSTED || code === GRPC_UNAVAILABLE ? 'throttled' : 'other';
}

function classifyGcp(error: unknown): GcpFailure {
  const response =
    typeof error === 'object' && error !== null
      ? (error as { response?: unknown }).response
      : undefined;
  const http = numberField(response, 'status') ?? numberField(error, 'status');
  return http === undefined ? classifyGrpc(numberField(error, 'code')) : classifyHttp(http);
}

/** The API's own message when the error carries Compute's JSON error body. */
function gcpMessage(error: unknown): string {
  const message = errorMessage(error);
  const body = parseJson(message);
  const inner = body.ok && isRecord(body.value) ? body.value['error'] : undefined;
  return isRecord(inner) && typeof inner['message'] === 'string' ? inner['message'] : message;
}

export const gcpErrors: ErrorClassifier = {
  isRetryable: (error) => classifyGcp(error) === 'throttled',
  countsAgainstProvider: (error) => classifyGcp(error) !== 'not-found',
};

function describeRef(ref: GceDiskRef): string {
  return ref.kind === 'zonal'
    ? `projects/${ref.project}/zones/${ref.zone}/disks/${ref.disk}`
    : `projects/${ref.project}/regions/${ref.region}/disks/${ref.disk}`;
}

export function gcpFailureVerdict(ref: GceDiskRef, error: unknown): ProviderVerdict {
  const failure = classifyGcp(error);
  const name = describeRef(ref);
  if (failure === 'not-found')
    return verdictRefused('gcp', 'provider-error', `disk ${name} not found`);
  const getter = ref.kind === 'zonal' ? 'compute.disks.get' : 'compute.regionDisks.get';
  const hint = failure === 'permission' ? ` (grant ${getter})` : '';
  return verdictRefused('gcp', 'provider-error', `get ${name} failed: ${gcpMessage(error)}${hint}`);
}

/** Parses a Compute endpoint URL into client options; http:// means an emulator without auth. */
export async function computeClientOptions(
  endpoint: string | undefined,
  deps: Pick<GcpDeps, 'createNoAuthClient'>,
): Promise<ClientOptions> {
  if (endpoint === undefined) return { fallback: true };
  const url = new URL(endpoint);
  const secure = url.protocol === 'https:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const base: ClientOptions = { apiEndpoint: url.hostname, port, fallback: true };
  if (secure) return base;
  return { ...base, protocol: 'http', authClient: await deps.createNoAuthClient() };
}

function sizeOf(
  value: number | string | { toString(): string } | null | undefined,
): bigint | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    return BigInt(value.toString());
  } catch {
    return undefined;
  }
}

async function getDisk(clients: ComputeClients, ref: GceDiskRef): Promise<GceDisk> {
  // Retries are ours (withRetry), so gax must not retry on its own.
  const callOptions = { retry: null, timeout: REQUEST_TIMEOUT_MS };
  const [disk] =
    ref.kind === 'zonal'
      ? await clients.disks.get(
          { project: ref.project, zone: ref.zone, disk: ref.disk },
          callOptions,
        )
      : await clients.regionDisks.get(
          { project: ref.project, region: ref.region, disk: ref.disk },
          callOptions,
        );
  return {
    type: disk.type?.split('/').pop() ?? undefined,
    sizeGb: sizeOf(disk.sizeGb),
    status: disk.status ?? undefined,
  };
}

/** The pure verdict for one disk once Compute has answered. */
export function gceVerdict(
  candidate: ExpansionCandidate,
  name: string,
  disk: GceDisk,
): ProviderVerdict {
  if (disk.status !== 'READY') {
    return verdictRefused(
      'gcp',
      'provider-refused',
      `disk ${name} is ${disk.status ?? 'in an unknown state'}, not READY`,
    );
  }
  const warnings: string[] = [];
  const maxGb = disk.type === undefined ? undefined : GCE_MAX_GB[disk.type];
  if (maxGb === undefined)
    warnings.push(`unknown disk type ${disk.type ?? '(none)'}: no maximum size checked`);
  const verdict = fitSize(
    {
      provider: 'gcp',
      fromBytes: candidate.fromBytes,
      toBytes: candidate.toBytes,
      cloudBytes: disk.sizeGb === undefined ? undefined : disk.sizeGb * GIB,
      warnings,
    },
    // Compute's "GB" is 2^30 bytes, so its whole-GB step is one GiB.
    {
      label: disk.type ?? 'GCE',
      maxBytes: maxGb === undefined ? undefined : maxGb * GIB,
      stepBytes: GIB,
    },
  );
  return verdict.ok && disk.type !== undefined ? { ...verdict, volumeType: disk.type } : verdict;
}

interface GcpItem {
  key: string;
  candidate: ExpansionCandidate;
  ref: GceDiskRef;
}

async function checkOne(
  item: GcpItem,
  clients: ComputeClients,
  rt: ProviderRuntime,
): Promise<ProviderVerdict> {
  const result = await guardedCall(rt, 'disks.get', () => getDisk(clients, item.ref), gcpErrors);
  switch (result.kind) {
    case 'circuit-open':
      return circuitOpenVerdict(rt);
    case 'failed':
      return gcpFailureVerdict(item.ref, result.error);
    case 'ok':
      return gceVerdict(item.candidate, describeRef(item.ref), result.value);
  }
}

export async function checkGcp(
  candidates: readonly ExpansionCandidate[],
  rt: ProviderRuntime,
  deps: GcpDeps,
): Promise<Map<string, ProviderVerdict>> {
  const verdicts = new Map<string, ProviderVerdict>();
  const items: GcpItem[] = [];
  for (const candidate of candidates) {
    const key = pvcKey(candidate.pvc);
    const ref = gceDiskRef(candidate.pv, rt.env);
    if (ref === undefined) {
      verdicts.set(
        key,
        verdictRefused(
          'gcp',
          'provider-error',
          'no Compute Engine disk in the PersistentVolume (for in-tree PDs set GOOGLE_CLOUD_PROJECT)',
        ),
      );
    } else {
      items.push({ key, candidate, ref });
    }
  }
  if (items.length === 0) return verdicts;
  const sdk = await deps.loadSdk();
  const options = await computeClientOptions(rt.options.gcpEndpoint, deps);
  // The clients mutate their options object, so each gets its own copy.
  const clients: ComputeClients = {
    disks: new sdk.DisksClient({ ...options }),
    regionDisks: new sdk.RegionDisksClient({ ...options }),
  };
  try {
    const queue = [...items];
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        verdicts.set(item.key, await checkOne(item, clients, rt));
      }
    };
    await Promise.all(Array.from({ length: Math.min(GCP_CONCURRENCY, items.length) }, worker));
  } finally {
    await Promise.all([clients.disks.close(), clients.regionDisks.close()]);
  }
  return verdicts;
}

/** Imports only the two Compute clients this needs (the package index loads ~150 clients). */
export async function loadComputeSdk(): Promise<ComputeSdk> {
  const [disks, regionDisks] = await Promise.all([
    import('@google-cloud/compute/build/src/v1/disks_client.js'),
    import('@google-cloud/compute/build/src/v1/region_disks_client.js'),
  ]);
  return { DisksClient: disks.DisksClient, RegionDisksClient: regionDisks.RegionDisksClient };
}

export async function createPassThroughAuth(): Promise<NonNullable<ClientOptions['authClient']>> {
  const gax = await import('google-gax');
  return new gax.googleAuthLibrary.PassThroughClient();
}
