// node:http front end: request log, fault rules, latency, routing to discovery, resources,
// the kubelet proxy and the /_sim/ control endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createObject,
  deleteObject,
  getStored,
  listItemReadView,
  listJson,
  listObjects,
  patchObject,
  type ListResult,
  replaceObject,
  toView,
  type ApiContext,
  type ResourceTarget,
  type WriteRequest,
} from './api.js';
import { warningHeader } from './admission.js';
import {
  checkRequest,
  defaultAuthorizer,
  requestAttributes,
  type AuthenticationOptions,
  type UserInfo,
} from './auth.js';
import { crdFor, customTable, isServed } from './crds.js';
import { discoveryDocument } from './discovery.js';
import type { FaultInjector, FaultRule } from './faults.js';
import { isObject, meta, type JsonObject } from './json.js';
import { proxyToKubelet, type KubeletDeps } from './kubelet-proxy.js';
import { openApiV3Document } from './openapi.js';
import { apiVersionOf, findResource, wireKind } from './resources.js';
import {
  CONTENT_TYPES,
  JSON_ONLY,
  JSON_OR_PROTOBUF,
  listProtobuf,
  negotiate,
  objectProtobuf,
  servesProtobuf,
  WATCH_CONTENT_TYPES,
  type MediaFormat,
} from './negotiation.js';
import { MASTERS_GROUP, type Authorizer } from './rbac.js';
import { handleReview, reviewRoute, type ReviewContext } from './reviews.js';
import { SIM_USER } from './kubeconfig.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiError,
  apiError,
  badRequest,
  reasonForCode,
  statusBody,
  type StatusReason,
} from './status.js';
import { toTable, wantsTable } from './table.js';
import type { WatchHub } from './watch.js';

export interface RequestLogEntry {
  method: string;
  /** Decoded pathname. */
  path: string;
  query: Record<string, string>;
  /**
   * Final HTTP status; 0 when the request was hung or its socket reset before it was served
   * (a request served and then hung keeps the status it was served with).
   */
  status: number;
  /** Served but never answered (the fault `hangAfterServing`). */
  unanswered?: boolean;
  /** Parsed JSON body of writes. */
  body?: unknown;
  contentType?: string;
  /** The Content-Type of the answer (negotiated from Accept: JSON or protobuf), once sent. */
  responseContentType?: string;
  /** Who the request authenticated as (only when the sim checks authentication). */
  user?: string;
  startedAt: number;
  durationMs: number;
}

export interface ControlHooks {
  settle(): void;
  setUsage(body: JsonObject): void;
}

export interface ServerDeps {
  api: ApiContext;
  kubelet: KubeletDeps;
  faults: FaultInjector;
  requests: RequestLogEntry[];
  latencyMs: number;
  control: ControlHooks;
  watch: WatchHub;
  serverAddress(): string;
  now(): Date;
  /** Serve HTTPS with this key pair; client certificates are requested and verified against `ca`. */
  tls?: { key: string; cert: string; ca: string };
  /** Authenticate and authorize API requests as kube-apiserver does; unset, anything goes. */
  authentication?: AuthenticationOptions;
  /** Who may do what once authenticated: RBAC (rbac.ts), else the permissive default. */
  authorizer?: Authorizer;
  /** TokenReviews, SubjectAccessReviews and SelfSubjectAccessReviews (reviews.ts). */
  reviews: ReviewContext;
}

interface Outcome {
  status: number;
  json?: unknown;
  /** Already serialised (a list page, from each object's cached JSON or protobuf). */
  body?: Buffer;
  /** The Content-Type of `body` (JSON unless said), or of the stream. */
  contentType?: string;
  text?: string;
  headers?: Record<string, string | string[]>;
  hang?: boolean;
  reset?: boolean;
  /** Served, then hung: the status is what it was served with. */
  served?: boolean;
  /** A streamed answer (watch): writes its own head and body. */
  stream?: (res: ServerResponse) => void;
}

interface Incoming {
  method: string;
  path: string;
  /** Who sent it (the cluster admin when the sim checks no credentials). */
  user: UserInfo;
  query: Record<string, string>;
  accept: string | undefined;
  /** What the answer is encoded as, if the resource has a protobuf form (see negotiation.ts). */
  format: MediaFormat;
  contentType: string;
  body: unknown;
  write: WriteRequest;
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw badRequest(
      `couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function errorOutcome(err: unknown): Outcome {
  if (err instanceof ApiError) return { status: err.code, json: err.status, headers: err.headers };
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    json: statusBody(500, 'InternalError', `Internal error occurred: ${message}`),
  };
}

function faultOutcome(rule: FaultRule, status: number): Outcome {
  const defaults = reasonForCode(status);
  const reason = (rule.reason ?? defaults.reason) as StatusReason;
  const details =
    rule.retryAfterSeconds === undefined
      ? undefined
      : { retryAfterSeconds: rule.retryAfterSeconds };
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers['Retry-After'] = String(rule.retryAfterSeconds);
  return {
    status,
    json: statusBody(status, reason, rule.message ?? defaults.message, details),
    headers,
  };
}

/** Splits /api/v1/... and /apis/{group}/{version}/... into a resource target. */
function splitGroupVersion(
  path: string,
): { group: string; version: string; rest: string[] } | undefined {
  const segs = path.split('/').filter((s) => s !== '');
  if (segs[0] === 'api' && segs[1] === 'v1')
    return { group: '', version: 'v1', rest: segs.slice(2) };
  if (segs[0] === 'apis' && segs.length >= 3)
    return { group: segs[1] ?? '', version: segs[2] ?? '', rest: segs.slice(3) };
  return undefined;
}

export function parseResourcePath(path: string): (ResourceTarget & { tail: string[] }) | undefined {
  const gv = splitGroupVersion(path);
  if (!gv) return undefined;
  const { group, version } = gv;
  let rest = gv.rest;
  let namespace: string | undefined;
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    findResource(group, version, rest[2] ?? '')?.namespaced === true
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = findResource(group, version, rest[0] ?? '');
  if (!info) return undefined;
  return { info, namespace, name: rest[1], subresource: rest[2], tail: rest.slice(3) };
}

/** An Accept header some answer can satisfy: JSON of any kind (Table, discovery) or protobuf. */
function acceptable(accept: string | undefined): boolean {
  return (
    accept === undefined ||
    /json|\*\/\*/.test(accept) ||
    negotiate(accept, JSON_OR_PROTOBUF) !== undefined
  );
}

const NOT_ACCEPTABLE =
  'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf';

/**
 * A custom resource has no protobuf form: kube-apiserver answers it as JSON when the client also
 * accepts JSON, and refuses a protobuf-only Accept (the refusal itself is a protobuf Status).
 */
function checkJsonAcceptable(req: Incoming, target: ResourceTarget): void {
  if (req.format !== 'protobuf' || target.info.crd === undefined || wantsTable(req.accept)) return;
  if (negotiate(req.accept, JSON_ONLY) === undefined)
    throw apiError(406, 'NotAcceptable', NOT_ACCEPTABLE);
}

/** A list page in the negotiated format: protobuf for a built-in kind the table covers. */
function listOutcome(req: Incoming, target: ResourceTarget, result: ListResult): Outcome {
  const { info } = target;
  if (req.format === 'protobuf' && servesProtobuf(info))
    return {
      status: 200,
      // The items as served (events.k8s.io's are a view of the stored core Events).
      body: listProtobuf(
        apiVersionOf(info),
        wireKind(info),
        result.listMeta,
        result.items.map((o) => listItemReadView(info, o)),
      ),
      contentType: CONTENT_TYPES.protobuf,
    };
  return { status: 200, body: listJson(info, result) };
}

async function handleCollection(
  deps: ServerDeps,
  req: Incoming,
  target: ResourceTarget,
): Promise<Outcome> {
  if (!target.info.namespaced && target.namespace !== undefined)
    throw apiError(404, 'NotFound', 'the server could not find the requested resource');
  if (req.method === 'GET') {
    if (req.query['watch'] === 'true' || req.query['watch'] === '1') {
      parseLabelSelector(req.query['labelSelector']);
      parseFieldSelector(target.info.kind, req.query['fieldSelector']);
      const { info } = target;
      const format = req.format === 'protobuf' && servesProtobuf(info) ? 'protobuf' : 'json';
      const request = {
        info,
        namespace: target.namespace,
        query: req.query,
        view: (o: JsonObject) => toView(info, o),
        format,
      } as const;
      return {
        status: 200,
        contentType: WATCH_CONTENT_TYPES[format],
        stream: (res) => {
          deps.watch.serve(request, res);
        },
      };
    }
    const result = listObjects(deps.api, target, req.query);
    if (wantsTable(req.accept))
      return {
        status: 200,
        json: tableOf(
          deps,
          target,
          result.items.map((o) => listItemReadView(target.info, o)),
          result.listMeta,
        ),
      };
    return listOutcome(req, target, result);
  }
  if (req.method === 'POST') {
    if (target.info.namespaced && target.namespace === undefined)
      throw apiError(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    return { status: 201, json: await createObject(deps.api, target, req.body, req.write) };
  }
  throw apiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

function handleGet(deps: ServerDeps, req: Incoming, target: ResourceTarget): Outcome {
  if (target.subresource !== undefined && target.subresource !== 'status') {
    throw apiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const stored = getStored(deps.api, target);
  const view = toView(target.info, stored);
  if (!wantsTable(req.accept)) return { status: 200, json: view };
  const listMeta = { resourceVersion: meta(stored)['resourceVersion'] };
  return { status: 200, json: tableOf(deps, target, [view], listMeta) };
}

/** The printers of built-in kinds, or a custom resource's additionalPrinterColumns. */
function tableOf(
  deps: ServerDeps,
  target: ResourceTarget,
  items: JsonObject[],
  listMeta: JsonObject,
): JsonObject {
  const crd = crdFor(deps.api.store, target.info);
  return crd === undefined
    ? toTable(target.info.kind, items, listMeta, deps.now())
    : customTable({ crd, info: target.info }, items, listMeta, deps.now());
}

async function handleItem(
  deps: ServerDeps,
  req: Incoming,
  target: ResourceTarget & { tail: string[] },
): Promise<Outcome> {
  if (target.info.kind === 'Node' && target.subresource === 'proxy') {
    const result = proxyToKubelet(deps.kubelet, target.name ?? '', target.tail.join('/'));
    if (result.hang === true) return { status: 0, hang: true };
    if (result.body !== undefined) return { status: result.status, body: result.body };
    return result.text !== undefined
      ? { status: result.status, text: result.text }
      : { status: result.status, json: result.json };
  }
  switch (req.method) {
    case 'GET':
      return handleGet(deps, req, target);
    case 'PUT':
      return { status: 200, json: await replaceObject(deps.api, target, req.body, req.write) };
    case 'PATCH': {
      const patch = { contentType: req.contentType, body: req.body };
      return { status: 200, json: await patchObject(deps.api, target, patch, req.write) };
    }
    case 'DELETE':
      return { status: 200, json: deleteObject(deps.api, target) };
    default:
      throw apiError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
  }
}

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** Without authentication every request is served, as if the cluster's admin sent it. */
const UNCHECKED_USER: UserInfo = {
  name: SIM_USER,
  groups: [MASTERS_GROUP, 'system:authenticated'],
};

function dispatch(deps: ServerDeps, req: Incoming): Outcome | Promise<Outcome> {
  if (!acceptable(req.accept)) throw apiError(406, 'NotAcceptable', NOT_ACCEPTABLE);
  if (req.method === 'GET') {
    if (HEALTH_PATHS.has(req.path)) return { status: 200, text: 'ok' };
    const doc = discoveryDocument(
      req.path.replace(/\/$/, ''),
      deps.serverAddress(),
      deps.api.store,
    );
    if (doc) return { status: 200, json: doc };
    const openapi = openApiV3Document(req.path.replace(/\/$/, ''), deps.api.store);
    if (openapi) return { status: 200, json: openapi };
  }
  const review = reviewRoute(req.path);
  if (review !== undefined)
    return handleReview(
      review,
      { method: req.method, body: req.body, requester: req.user },
      deps.reviews,
    );
  const target = parseResourcePath(req.path);
  if (!target || !isServed(deps.api.store, target.info))
    return {
      status: 404,
      json: statusBody(404, 'NotFound', 'the server could not find the requested resource', {}),
    };
  checkJsonAcceptable(req, target);
  const fieldValidation = req.query['fieldValidation'];
  if (fieldValidation !== undefined) target.fieldValidation = fieldValidation;
  if (target.name === undefined) return handleCollection(deps, req, target);
  return handleItem(deps, req, target);
}

function controlOutcome(deps: ServerDeps, method: string, path: string, body: unknown): Outcome {
  const key = `${method} ${path}`;
  switch (key) {
    case 'GET /_sim/requests':
      return { status: 200, json: deps.requests };
    case 'DELETE /_sim/requests':
      deps.requests.length = 0;
      return { status: 200, json: {} };
    case 'POST /_sim/faults':
      addFaultFromJson(deps.faults, body);
      return { status: 201, json: { rules: deps.faults.rules.length } };
    case 'DELETE /_sim/faults':
      deps.faults.clear();
      return { status: 200, json: {} };
    case 'POST /_sim/settle':
      deps.control.settle();
      return { status: 200, json: {} };
    case 'POST /_sim/usage':
      if (!isObject(body)) throw badRequest('usage body must be an object');
      deps.control.setUsage(body);
      return { status: 200, json: {} };
    case 'GET /_sim/healthz':
      return { status: 200, text: 'ok' };
    default:
      return { status: 404, json: statusBody(404, 'NotFound', `no sim control endpoint ${key}`) };
  }
}

/** A JSON rule is a FaultRule with `path` as a regex source, or {node, status} / {node, hang}. */
function addFaultFromJson(faults: FaultInjector, body: unknown): void {
  if (!isObject(body)) throw badRequest('fault rule must be a JSON object');
  if (typeof body['node'] === 'string') {
    if (body['hang'] === true) faults.hangNode(body['node']);
    else faults.failNode(body['node'], typeof body['status'] === 'number' ? body['status'] : 503);
    return;
  }
  faults.add(body);
}

/** JSON, or protobuf where the client prefers it (a Table is always JSON). */
function formatOf(req: IncomingMessage): MediaFormat {
  const accept = req.headers.accept;
  if (wantsTable(accept)) return 'json';
  return negotiate(accept, JSON_OR_PROTOBUF) ?? 'json';
}

/**
 * A JSON answer re-encoded as protobuf when that was negotiated and the object is a built-in
 * kind the table covers, or a Status (errors are protobuf for custom resources too).
 */
function inFormat(outcome: Outcome, format: MediaFormat): Outcome {
  if (format !== 'protobuf' || outcome.json === undefined) return outcome;
  const body = objectProtobuf(outcome.json);
  if (body === undefined) return outcome;
  const encoded: Outcome = { ...outcome, body, contentType: CONTENT_TYPES.protobuf };
  delete encoded.json;
  return encoded;
}

/** Writes the answer; returns its Content-Type (none for an empty body). */
function send(res: ServerResponse, outcome: Outcome): string | undefined {
  const headers: Record<string, string | string[]> = { ...outcome.headers };
  if (outcome.body !== undefined) {
    const contentType = outcome.contentType ?? CONTENT_TYPES.json;
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = String(outcome.body.length);
    res.writeHead(outcome.status, headers);
    res.end(outcome.body);
    return contentType;
  }
  let payload = '';
  if (outcome.text !== undefined) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    payload = outcome.text;
  } else if (outcome.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(outcome.json);
  }
  // Encoded once: a string would be measured for Content-Length, then encoded again to write.
  const bytes = Buffer.from(payload);
  headers['Content-Length'] = String(bytes.length);
  res.writeHead(outcome.status, headers);
  res.end(bytes);
  return headers['Content-Type'] as string | undefined;
}

export interface SimServer {
  server: Server;
  /** Destroys hung requests and every open socket. */
  destroyConnections(): void;
}

export function createSimServer(deps: ServerDeps): SimServer {
  const sockets = new Set<Socket>();

  async function applyFault(
    req: IncomingMessage,
    rule: FaultRule | undefined,
  ): Promise<Outcome | undefined> {
    if (!rule) return undefined;
    if (rule.delayMs !== undefined) await sleep(rule.delayMs);
    if (rule.hang === true) return { status: 0, hang: true };
    if (rule.reset === true) {
      req.socket.destroy();
      return { status: 0, reset: true };
    }
    return rule.status === undefined ? undefined : faultOutcome(rule, rule.status);
  }

  /** The authentication and authorization filters: who asks, or the 401 or 403 they answer. */
  function authorize(
    req: IncomingMessage,
    entry: RequestLogEntry,
  ): { user: UserInfo; refused?: undefined } | { refused: Outcome } {
    if (deps.authentication === undefined) return { user: UNCHECKED_USER };
    const attributes = requestAttributes(entry.method, entry.path, entry.query);
    const authorizer = deps.authorizer ?? defaultAuthorizer;
    const auth = checkRequest(req, deps.authentication, attributes, authorizer);
    if (auth.user !== undefined) entry.user = auth.user.name;
    if (auth.denied !== undefined)
      return { refused: { status: auth.denied.code, json: auth.denied.status } };
    return { user: auth.user ?? UNCHECKED_USER };
  }

  async function handleApi(
    req: IncomingMessage,
    entry: RequestLogEntry,
    raw: string,
  ): Promise<Outcome> {
    // Warnings reach the client on success and on refusal alike, as Warning headers.
    const write: WriteRequest = { dryRun: entry.query['dryRun'] === 'All', warnings: [] };
    const outcome = inFormat(await answer(req, entry, raw, write), formatOf(req));
    if (write.warnings.length === 0) return outcome;
    const unique = [...new Set(write.warnings)];
    return { ...outcome, headers: { ...outcome.headers, Warning: unique.map(warningHeader) } };
  }

  async function answer(
    req: IncomingMessage,
    entry: RequestLogEntry,
    raw: string,
    write: WriteRequest,
  ): Promise<Outcome> {
    const auth = authorize(req, entry);
    if (auth.refused !== undefined) return auth.refused;
    const rule = deps.faults.match(entry.method, entry.path);
    const outcome = await serve(req, entry, { raw, write, rule, user: auth.user });
    // Served, the answer is then lost: the client cannot tell whether its write applied.
    return rule?.hangAfterServing === true ? { ...outcome, hang: true, served: true } : outcome;
  }

  async function serve(
    req: IncomingMessage,
    entry: RequestLogEntry,
    {
      raw,
      write,
      rule,
      user,
    }: { raw: string; write: WriteRequest; rule: FaultRule | undefined; user: UserInfo },
  ): Promise<Outcome> {
    try {
      const isWrite =
        entry.method !== 'GET' && entry.method !== 'DELETE' && entry.method !== 'HEAD';
      const body = isWrite ? parseJsonBody(raw) : undefined;
      if (body !== undefined) entry.body = body;
      const faulted = await applyFault(req, rule);
      if (faulted) return faulted;
      if (deps.latencyMs > 0) await sleep(deps.latencyMs);
      const incoming: Incoming = {
        method: entry.method,
        path: entry.path,
        user,
        query: entry.query,
        accept: req.headers.accept,
        format: formatOf(req),
        contentType: (entry.contentType ?? '').split(';')[0]?.trim() ?? '',
        body,
        write,
      };
      return await dispatch(deps, incoming);
    } catch (err) {
      return errorOutcome(err);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodePath(url.pathname);
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    if (path.startsWith('/_sim/')) {
      try {
        send(res, controlOutcome(deps, method, path, parseJsonBody(raw)));
      } catch (err) {
        send(res, errorOutcome(err));
      }
      return;
    }
    const entry: RequestLogEntry = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      startedAt,
      durationMs: 0,
    };
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) entry.contentType = contentType;
    deps.requests.push(entry);
    const outcome = await handleApi(req, entry, raw);
    entry.durationMs = Date.now() - startedAt;
    if (outcome.served === true) {
      entry.status = outcome.status;
      entry.unanswered = true;
    }
    if (outcome.hang === true || outcome.reset === true) return; // hung sockets are destroyed on close
    entry.status = outcome.status;
    if (outcome.stream) {
      if (outcome.contentType !== undefined) entry.responseContentType = outcome.contentType;
      outcome.stream(res);
      return;
    }
    const sent = send(res, outcome);
    if (sent !== undefined) entry.responseContentType = sent;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, errorOutcome(err));
    });
  }
  // kube-apiserver asks for a client certificate but does not require one: the x509
  // authenticator, not the handshake, decides what an unverified certificate means.
  const server: Server = deps.tls
    ? createHttpsServer({ ...deps.tls, requestCert: true, rejectUnauthorized: false }, onRequest)
    : createServer(onRequest);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    server,
    destroyConnections() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
