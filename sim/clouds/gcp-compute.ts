/**
 * A local Compute Engine REST API that answers disks.get and regionDisks.get with the JSON Compute
 * sends (`sizeGb` as a string, `type` as a diskTypes URL, errors as `{error: {code, message,
 * errors: [{reason}]}}`), so the real @google-cloud/compute client parses it. Point the client at
 * `url` with --gcp-endpoint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.js';

export interface GcpFakeDisk {
  project: string;
  /** Zonal disks have a zone, regional disks a region (and two replica zones). */
  zone?: string;
  region?: string;
  name: string;
  sizeGb: number;
  /** pd-balanced, hyperdisk-balanced, ... */
  type: string;
  /** Default READY. */
  status?: string;
}

export interface GcpFakeError {
  /** HTTP status: 429 quota, 403 permission, 500/503 outage. */
  status: number;
  message?: string;
  reason?: string;
}

export interface GcpFakeRequest {
  method: string;
  path: string;
}

export interface GcpFake {
  url: string;
  requests: GcpFakeRequest[];
  setDisks: (disks: readonly GcpFakeDisk[]) => void;
  /** The next `times` requests whose path contains `match` ('' for any) fail; Infinity for always. */
  failNext: (match: string, error: GcpFakeError, times?: number) => void;
  close: () => Promise<void>;
}

const API = 'https://www.googleapis.com/compute/v1';
const DISK_PATH = /^\/compute\/v1\/projects\/([^/]+)\/(zones|regions)\/([^/]+)\/disks\/([^/?]+)$/;

const STATUS_NAMES: Readonly<Record<number, string>> = {
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

function diskJson(d: GcpFakeDisk): Record<string, unknown> {
  const scope = d.zone !== undefined ? `zones/${d.zone}` : `regions/${d.region ?? ''}`;
  const base = `${API}/projects/${d.project}/${scope}`;
  const location =
    d.zone !== undefined
      ? { zone: base }
      : {
          region: base,
          replicaZones: [
            `${API}/projects/${d.project}/zones/${d.region ?? ''}-a`,
            `${API}/projects/${d.project}/zones/${d.region ?? ''}-b`,
          ],
        };
  return {
    kind: 'compute#disk',
    id: '4856219834570193746',
    creationTimestamp: '2024-05-01T02:58:00.123-07:00',
    name: d.name,
    sizeGb: String(d.sizeGb),
    ...location,
    status: d.status ?? 'READY',
    selfLink: `${base}/disks/${d.name}`,
    type: `${base}/diskTypes/${d.type}`,
    lastAttachTimestamp: '2024-05-01T03:00:00.456-07:00',
    users: [
      `${API}/projects/${d.project}/zones/${d.zone ?? `${d.region ?? ''}-a`}/instances/gke-pool-1-abcd`,
    ],
    labels: { 'goog-gke-volume': '' },
    labelFingerprint: 'nT7_dAxGbuM=',
    physicalBlockSizeBytes: '4096',
    satisfiesPzi: true,
  };
}

function errorJson(error: GcpFakeError): Record<string, unknown> {
  const message = error.message ?? `fake error ${error.status}`;
  const reason = error.reason ?? (error.status === 429 ? 'rateLimitExceeded' : 'backendError');
  const status = STATUS_NAMES[error.status];
  return {
    error: {
      code: error.status,
      message,
      errors: [{ message, domain: error.status === 429 ? 'usageLimits' : 'global', reason }],
      ...(status === undefined ? {} : { status }),
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

export async function startGcpFake(
  init: { disks?: readonly GcpFakeDisk[] } = {},
): Promise<GcpFake> {
  let disks = [...(init.disks ?? [])];
  const failures: { match: string; error: GcpFakeError; times: number }[] = [];
  const requests: GcpFakeRequest[] = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    requests.push({ method: req.method ?? '', path });
    const failure = failures.find((f) => path.includes(f.match) && f.times > 0);
    if (failure !== undefined) {
      failure.times--;
      send(res, failure.error.status, errorJson(failure.error));
      return;
    }
    const m = DISK_PATH.exec(path);
    const disk =
      m === null || req.method !== 'GET'
        ? undefined
        : disks.find(
            (d) =>
              d.project === m[1] &&
              d.name === m[4] &&
              (m[2] === 'zones' ? d.zone === m[3] : d.region === m[3]),
          );
    if (disk === undefined) {
      const resource = path.replace(/^\/compute\/v1\//, '');
      send(
        res,
        404,
        errorJson({
          status: 404,
          message: `The resource '${resource}' was not found`,
          reason: 'notFound',
        }),
      );
      return;
    }
    send(res, 200, diskJson(disk));
  }

  const server = createServer(handle);
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    setDisks: (d) => {
      disks = [...d];
    },
    failNext: (match, error, times = 1) => {
      failures.push({ match, error, times });
    },
    close,
  };
}
