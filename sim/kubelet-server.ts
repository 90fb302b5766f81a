// A node's kubelet as a process reached directly (test infrastructure, like the sim): HTTPS on
// its own port, with the authentication and authorization of a kubelet in webhook mode (the
// default of kubeadm, EKS, GKE and AKS): anonymous requests are refused (401), a bearer token is
// checked with a TokenReview and the request authorized with a SubjectAccessReview against the
// API server it is given, both sent with the kubelet's own credentials. As the kubelet's
// authorizer (pkg/kubelet/server/auth.go) maps paths: /stats/* → nodes/stats, /metrics* →
// nodes/metrics, /logs/* → nodes/log, anything else → nodes/proxy; verb from the method.
//
// It serves GET /stats/summary (the answer the node's data provider gives: the sim's Summary
// builder, so the direct path and the node proxy see the same figures) and GET /metrics, the
// kubelet's own exposition with the kubelet_volume_stats_* gauges (labels namespace and
// persistentvolumeclaim) of the PVC-backed volumes of that Summary, which a Prometheus scrapes.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { arr, isObject, obj, str, type JsonObject } from './json.js';
import type { KeyPair } from './tls.js';

/** What the node's Summary API answers: JSON, an error text, or nothing at all. */
export interface KubeletAnswer {
  status: number;
  json?: JsonObject;
  text?: string;
  hang?: boolean;
}

export interface ApiServerAccess {
  url: string;
  /** The API server's CA; without it, `insecure` must be set (an http:// URL needs neither). */
  caPem?: string;
  insecure?: boolean;
  /** The kubelet's own credentials, allowed to create tokenreviews and subjectaccessreviews. */
  token: string;
}

export interface FakeKubeletOptions {
  nodeName: string;
  apiServer: ApiServerAccess;
  /** The serving certificate (valid for the address clients connect to). */
  serving: KeyPair;
  /** The node's /stats/summary answer, asked at every request. */
  summary: () => KubeletAnswer | Promise<KubeletAnswer>;
  /** Default 127.0.0.1, and a port of the kernel's choosing. */
  host?: string;
  port?: number;
  /**
   * The kubelet's --client-ca-file: a client certificate it verifies authenticates as its CN in
   * the groups of its O (how the API server's node proxy calls a kubelet); one it does not
   * verify is a 401. Unset, only bearer tokens are read.
   */
  clientCaPem?: string;
  /** Called with each request once it is answered (or left hanging). */
  onRequest?: (request: KubeletRequest) => void;
}

export interface KubeletRequest {
  method: string;
  path: string;
  /** Who the TokenReview said the caller is ('' when it failed). */
  user: string;
  /** The subresource the SubjectAccessReview asked about. */
  subresource: string;
  status: number;
}

export type FakeKubeletFault = { kind: 'hang' } | { kind: 'status'; status: number; text: string };

export interface FakeKubelet {
  nodeName: string;
  host: string;
  port: number;
  url: string;
  requests: KubeletRequest[];
  /** Every request (after authentication and authorization) hangs or answers this; undefined heals. */
  setFault(fault: FakeKubeletFault | undefined): void;
  /**
   * A PVC's volume series carry this sample time (ms since the epoch) in /metrics, as a kubelet
   * behind a federation or remote write may show an old sample; undefined: no explicit time.
   */
  setSampleTime(pvcKey: string, ms: number | undefined): void;
  close(): Promise<void>;
}

/** The subresource the kubelet authorizes a path as (isSubpath on /stats/, /metrics, /logs/). */
export function kubeletSubresource(path: string): string {
  const under = (prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
  if (under('/stats')) return 'stats';
  if (under('/metrics')) return 'metrics';
  if (under('/logs')) return 'log';
  return 'proxy';
}

const VERBS: Record<string, string> = {
  GET: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** A POST to the API server with the kubelet's credentials; the parsed JSON answer. */
async function callApi(
  access: ApiServerAccess,
  path: string,
  body: JsonObject,
): Promise<JsonObject> {
  const request = access.url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const outgoing = request(
      new URL(path, access.url),
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${access.token}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        ...(access.caPem === undefined ? {} : { ca: access.caPem }),
        rejectUnauthorized: access.insecure !== true,
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((response.statusCode ?? 0) !== 201)
            reject(new Error(`${path}: HTTP ${response.statusCode ?? 0} ${text.slice(0, 200)}`));
          else resolve(obj(JSON.parse(text)));
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${path}: timed out`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  extra?: JsonObject;
}

/** The kubelet's webhook token authenticator: the TokenReview's user, or undefined. */
async function authenticate(access: ApiServerAccess, token: string): Promise<Caller | undefined> {
  const review = await callApi(access, '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token },
  });
  const status = obj(review['status']);
  if (status['authenticated'] !== true) return undefined;
  const user = obj(status['user']);
  const groups = arr(user['groups']).filter((g): g is string => typeof g === 'string');
  const caller: Caller = { username: str(user['username']) ?? '', groups };
  const uid = str(user['uid']);
  if (uid !== undefined) caller.uid = uid;
  if (isObject(user['extra'])) caller.extra = user['extra'];
  return caller;
}

/** The kubelet's webhook authorizer: a SubjectAccessReview of the node subresource. */
async function authorize(
  access: ApiServerAccess,
  caller: Caller,
  attributes: { verb: string; subresource: string; node: string },
): Promise<boolean> {
  const review = await callApi(access, '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: caller.username,
      groups: caller.groups,
      ...(caller.uid === undefined ? {} : { uid: caller.uid }),
      ...(caller.extra === undefined ? {} : { extra: caller.extra }),
      resourceAttributes: {
        verb: attributes.verb,
        version: 'v1',
        resource: 'nodes',
        subresource: attributes.subresource,
        name: attributes.node,
      },
    },
  });
  return obj(review['status'])['allowed'] === true;
}

const VOLUME_SERIES: readonly [name: string, field: string, help: string][] = [
  [
    'kubelet_volume_stats_available_bytes',
    'availableBytes',
    'Number of available bytes in the volume',
  ],
  ['kubelet_volume_stats_capacity_bytes', 'capacityBytes', 'Capacity in bytes of the volume'],
  ['kubelet_volume_stats_inodes', 'inodes', 'Maximum number of inodes in the volume'],
  ['kubelet_volume_stats_inodes_free', 'inodesFree', 'Number of free inodes in the volume'],
  ['kubelet_volume_stats_inodes_used', 'inodesUsed', 'Number of used inodes in the volume'],
  ['kubelet_volume_stats_used_bytes', 'usedBytes', 'Number of used bytes in the volume'],
];

/**
 * A float as client_golang's text format writes it (strconv.AppendFloat(f, 'g', -1, 64)): the
 * shortest digits, in exponent form when the exponent is below -4 or at least 6 (Go's rule for
 * the shortest 'g'), with a two-digit exponent: 10 GiB is 1.073741824e+10.
 */
export function goFloat(value: number): string {
  if (value === 0) return '0';
  const [mantissa = '0', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 6) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The volume gauges of the Summary's PVC-backed volumes, as the kubelet's /metrics writes them. */
export function volumeExposition(
  summary: JsonObject,
  sampleTime: (key: string) => number | undefined,
): string {
  const volumes: { namespace: string; name: string; stats: JsonObject }[] = [];
  for (const pod of arr(summary['pods']).map(obj))
    for (const volume of arr(pod['volume']).map(obj)) {
      const ref = obj(volume['pvcRef']);
      const namespace = str(ref['namespace']);
      const name = str(ref['name']);
      if (namespace !== undefined && name !== undefined)
        volumes.push({ namespace, name, stats: volume });
    }
  const lines: string[] = [];
  for (const [metric, field, help] of VOLUME_SERIES) {
    lines.push(`# HELP ${metric} [ALPHA] ${help}`, `# TYPE ${metric} gauge`);
    for (const { namespace, name, stats } of volumes) {
      const value = stats[field];
      if (typeof value !== 'number') continue;
      const at = sampleTime(`${namespace}/${name}`);
      const labels = `namespace="${escapeLabel(namespace)}",persistentvolumeclaim="${escapeLabel(name)}"`;
      lines.push(
        `${metric}{${labels}} ${goFloat(value)}${at === undefined ? '' : ` ${Math.round(at)}`}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The kubelet's x509 authenticator: a verified client certificate is its CN, in the groups of
 * its O and system:authenticated; one that does not verify is an error (a 401).
 */
function certificateCaller(req: IncomingMessage, enabled: boolean): Caller | 'error' | undefined {
  if (!enabled) return undefined;
  const socket = req.socket as TLSSocket;
  const cert = socket.getPeerCertificate();
  if (Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) return 'error';
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const list = (value: string | string[] | undefined): string[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  const [username = ''] = list(subject['CN']);
  return { username, groups: [...list(subject['O']), 'system:authenticated'] };
}

export async function startFakeKubelet(options: FakeKubeletOptions): Promise<FakeKubelet> {
  const requests: KubeletRequest[] = [];
  const sockets = new Set<Socket>();
  const sampleTimes = new Map<string, number>();
  let fault: FakeKubeletFault | undefined;
  const node = options.nodeName;

  /** The x509 authenticator, then the webhook token authenticator; 'error' is a 401. */
  async function identify(req: IncomingMessage): Promise<Caller | 'error' | undefined> {
    const x509 = certificateCaller(req, options.clientCaPem !== undefined);
    if (x509 !== undefined) return x509;
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer (\S+)$/i.exec(header.trim())?.[1];
    if (bearer === undefined) return undefined;
    try {
      return await authenticate(options.apiServer, bearer);
    } catch {
      return 'error';
    }
  }

  /** Authentication then authorization, as the kubelet's auth filter: the refusal, if any. */
  async function admit(
    req: IncomingMessage,
    entry: KubeletRequest,
  ): Promise<[number, string] | undefined> {
    const who = await identify(req);
    // Anonymous requests are refused: --anonymous-auth=false, as every managed cluster sets it.
    if (who === undefined || who === 'error') return [401, 'Unauthorized'];
    entry.user = who.username;
    const verb = VERBS[entry.method] ?? '';
    const where = `user=${who.username}, verb=${verb}, resource=nodes, subresource=${entry.subresource}`;
    try {
      if (
        !(await authorize(options.apiServer, who, {
          verb,
          subresource: entry.subresource,
          node,
        }))
      )
        return [403, `Forbidden (${where})`];
    } catch {
      return [500, `Authorization error (${where})`];
    }
    return undefined;
  }

  async function serve(path: string, res: ServerResponse, entry: KubeletRequest): Promise<void> {
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') {
      entry.status = fault.status;
      reply(res, fault.status, fault.text);
      return;
    }
    if (path !== '/stats/summary' && path !== '/metrics') {
      entry.status = 404;
      reply(res, 404, '404 page not found\n');
      return;
    }
    const answer = await options.summary();
    if (answer.hang === true) return;
    if (answer.json === undefined) {
      entry.status = answer.status;
      reply(res, answer.status, answer.text ?? '');
      return;
    }
    entry.status = 200;
    if (path === '/stats/summary') reply(res, 200, JSON.stringify(answer.json), 'application/json');
    else
      reply(
        res,
        200,
        volumeExposition(answer.json, (key) => sampleTimes.get(key)),
        'text/plain; version=0.0.4; charset=utf-8',
      );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://kubelet').pathname;
    const entry: KubeletRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      user: '',
      subresource: kubeletSubresource(path),
      status: 0,
    };
    requests.push(entry);
    try {
      const refused = await admit(req, entry);
      if (refused !== undefined) {
        entry.status = refused[0];
        reply(res, refused[0], refused[1]);
        return;
      }
      await serve(path, res, entry);
    } finally {
      options.onRequest?.(entry);
    }
  }

  // With a client CA the handshake asks for a certificate but does not require one: the
  // authenticator, not TLS, decides what a missing or unverified certificate means.
  const tls =
    options.clientCaPem === undefined
      ? {}
      : { ca: options.clientCaPem, requestCert: true, rejectUnauthorized: false };
  const server: Server = createServer(
    { key: options.serving.keyPem, cert: options.serving.certPem, ...tls },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          reply(res, 500, error instanceof Error ? error.message : String(error));
      });
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    nodeName: node,
    host,
    port,
    url: `https://${host}:${port}`,
    requests,
    setFault(next) {
      fault = next;
    },
    setSampleTime(key, ms) {
      if (ms === undefined) sampleTimes.delete(key);
      else sampleTimes.set(key, ms);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
