// Dynamic admission as the real API server runs it
// (k8s.io/apiserver/pkg/admission/plugin/webhook): the stored Mutating- and
// ValidatingWebhookConfigurations are matched against each CREATE and UPDATE (rules, scope,
// namespaceSelector, objectSelector); mutating webhooks are called one after the other in
// configuration-name order and their JSONPatch applied, validating webhooks in parallel after
// the object passed validation. Calls are AdmissionReview v1 over HTTPS, verified against the
// caBundle for the Service's DNS name; failurePolicy decides what a failed call means.
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { arr, isObject, meta, obj, str, stringMap, type JsonObject } from './json.js';
import { jsonPatch } from './patch.js';
import { wireKind, type ResourceInfo } from './resources.js';
import { apiError, ApiError } from './status.js';
import type { ObjectStore } from './store.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE';

/** What a webhook is asked about (admission.Attributes). */
export interface AdmissionAttributes {
  info: ResourceInfo;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string;
  operation: AdmissionOperation;
  object: JsonObject;
  oldObject: JsonObject | undefined;
  dryRun: boolean;
  /** The PATCH that carried an update: its options are PatchOptions, not UpdateOptions. */
  patch: boolean;
}

/** One outbound call, for tests to assert on. */
export interface AdmissionCall {
  webhook: string;
  operation: AdmissionOperation;
  resource: string;
  namespace: string | undefined;
  name: string;
  /** allowed, patched, denied, or failed (open or closed per failurePolicy). */
  outcome: 'allowed' | 'patched' | 'denied' | 'failed-open' | 'failed-closed';
  /** Why the call failed, as the API server's error says it. */
  error?: string;
}

export interface Admission {
  /** Runs the mutating webhooks; returns the object they produced. Throws the API error. */
  mutate(attrs: AdmissionAttributes, warnings: string[]): Promise<JsonObject>;
  /** Runs the validating webhooks; throws the first refusal or closed failure. */
  validate(attrs: AdmissionAttributes, warnings: string[]): Promise<void>;
}

export interface AdmissionOptions {
  store: ObjectStore;
  /** `namespace/name` of a Service → the loopback `host:port` that stands for it. */
  services: Readonly<Record<string, string>>;
  calls: AdmissionCall[];
}

type ConfigKind = 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';

/** The API server exempts these kinds so a broken webhook can always be removed. */
const EXEMPT_KINDS = new Set<string>([
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

// --- matching ---------------------------------------------------------------------------------

function exactOrWildcard(items: unknown, wanted: string): boolean {
  return arr(items).some((item) => item === '*' || item === wanted);
}

function scopeMatches(scope: unknown, attrs: AdmissionAttributes): boolean {
  const isNamespace = attrs.info.kind === 'Namespace';
  if (scope === undefined || scope === '*') return true;
  if (scope === 'Namespaced') return !isNamespace && attrs.namespace !== undefined;
  if (scope === 'Cluster') return isNamespace || attrs.namespace === undefined;
  return false;
}

function resourceMatches(resources: unknown, attrs: AdmissionAttributes): boolean {
  const sub = attrs.subresource ?? '';
  return arr(resources).some((entry) => {
    const [res = '', ruleSub = ''] = String(entry).split(/\/(.*)/s);
    return (res === '*' || res === attrs.info.resource) && (ruleSub === '*' || ruleSub === sub);
  });
}

function ruleMatches(rule: JsonObject, attrs: AdmissionAttributes): boolean {
  return (
    scopeMatches(rule['scope'], attrs) &&
    exactOrWildcard(rule['operations'], attrs.operation) &&
    exactOrWildcard(rule['apiGroups'], attrs.info.group) &&
    exactOrWildcard(rule['apiVersions'], attrs.info.version) &&
    resourceMatches(rule['resources'], attrs)
  );
}

function expressionMatches(expr: JsonObject, labels: Record<string, string>): boolean {
  const key = str(expr['key']) ?? '';
  const value = labels[key];
  const values = arr(expr['values']);
  switch (expr['operator']) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default:
      return false;
  }
}

/** metav1.LabelSelector: an empty (or absent) selector matches everything. */
export function labelSelectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const s = obj(selector);
  const pairs = Object.entries(stringMap(s['matchLabels']));
  if (pairs.some(([k, v]) => labels[k] !== v)) return false;
  return arr(s['matchExpressions']).every((e) => isObject(e) && expressionMatches(e, labels));
}

function namespaceMatches(
  store: ObjectStore,
  hook: JsonObject,
  attrs: AdmissionAttributes,
): boolean {
  // A cluster-scoped object other than a Namespace is never exempted by namespaceSelector.
  if (attrs.namespace === undefined && attrs.info.kind !== 'Namespace') return true;
  const name = attrs.namespace ?? attrs.name;
  const ns = store.get('Namespace', undefined, name);
  const labels = stringMap(meta(ns ?? {})['labels']);
  return labelSelectorMatches(hook['namespaceSelector'], labels);
}

/** objectSelector matches when the new or the old object's labels match. */
function objectMatches(hook: JsonObject, attrs: AdmissionAttributes): boolean {
  const selector = hook['objectSelector'];
  const labelsOf = (o: JsonObject | undefined): Record<string, string> | undefined =>
    o === undefined ? undefined : stringMap(meta(o)['labels']);
  return [labelsOf(attrs.object), labelsOf(attrs.oldObject)].some(
    (labels) => labels !== undefined && labelSelectorMatches(selector, labels),
  );
}

interface Hook {
  config: string;
  hook: JsonObject;
}

/** The webhooks to call, configurations in name order and each one's webhooks in order. */
export function matchingHooks(
  store: ObjectStore,
  kind: ConfigKind,
  attrs: AdmissionAttributes,
): Hook[] {
  if (EXEMPT_KINDS.has(attrs.info.kind)) return [];
  const hooks: Hook[] = [];
  for (const config of store.list(kind)) {
    for (const hook of arr(config['webhooks'])) {
      if (!isObject(hook)) continue;
      const rules = arr(hook['rules']).filter(isObject);
      if (!rules.some((r) => ruleMatches(r, attrs))) continue;
      if (!namespaceMatches(store, hook, attrs) || !objectMatches(hook, attrs)) continue;
      hooks.push({ config: String(meta(config)['name']), hook });
    }
  }
  return hooks;
}

// --- the call ---------------------------------------------------------------------------------

interface Endpoint {
  /** The URL as the API server's errors print it. */
  url: string;
  host: string;
  port: number;
  path: string;
  /** The name the certificate must carry; undefined for an IP address (checked as an IP SAN). */
  servername: string | undefined;
  /** Set when the Service has no address in the sim's map. */
  unresolved?: string;
}

function endpointOf(
  clientConfig: JsonObject,
  services: Readonly<Record<string, string>>,
  timeoutSeconds: number,
): Endpoint {
  const query = `?timeout=${timeoutSeconds}s`;
  const url = str(clientConfig['url']);
  if (url !== undefined) {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return {
      url: `${url}${query}`,
      host,
      port: u.port === '' ? 443 : Number(u.port),
      path: `${u.pathname}${query}`,
      servername: isIP(host) === 0 ? host : undefined,
    };
  }
  const service = obj(clientConfig['service']);
  const name = str(service['name']) ?? '';
  const namespace = str(service['namespace']) ?? '';
  const port = typeof service['port'] === 'number' ? service['port'] : 443;
  const path = `${str(service['path']) ?? '/'}${query}`;
  const servername = `${name}.${namespace}.svc`;
  const mapped = services[`${namespace}/${name}`];
  const [host = '', mappedPort = ''] = (mapped ?? '').split(/:(?=\d+$)/);
  const endpoint: Endpoint = {
    url: `https://${servername}:${port}${path}`,
    host,
    port: Number(mappedPort),
    path,
    servername,
  };
  if (mapped === undefined) endpoint.unresolved = `service "${name}" not found`;
  return endpoint;
}

/** crypto/x509's HostnameError text, from the names Node read off the certificate. */
function altnameError(err: unknown, endpoint: Endpoint): string {
  if (endpoint.servername === undefined)
    return `x509: cannot validate certificate for ${endpoint.host} because it doesn't contain any IP SANs`;
  const altnames = (err as { cert?: { subjectaltname?: string } }).cert?.subjectaltname ?? '';
  const names = altnames.split(', ').map((n) => n.replace(/^DNS:/, ''));
  return `x509: certificate is valid for ${names.join(', ')}, not ${endpoint.servername}`;
}

/** A Go-like rendering of a Node.js network error, as it ends the API server's message. */
function transportError(err: unknown, endpoint: Endpoint): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${endpoint.host}:${endpoint.port}: connect: connection refused`;
    case 'ECONNRESET':
      return 'EOF';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: ${altnameError(err, endpoint)}`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    default:
      return message;
  }
}

class CallError extends Error {}

/** POSTs the review; resolves the parsed reply or rejects with a CallError saying why. */
function post(
  endpoint: Endpoint,
  caBundle: string | undefined,
  body: string,
  timeoutMs: number,
): Promise<unknown> {
  const failed = (why: string): CallError =>
    new CallError(`failed to call webhook: Post "${endpoint.url}": ${why}`);
  if (endpoint.unresolved !== undefined) return Promise.reject(failed(endpoint.unresolved));
  return new Promise((resolve, reject) => {
    const req = request({
      host: endpoint.host,
      port: endpoint.port,
      method: 'POST',
      path: endpoint.path,
      ...(endpoint.servername === undefined ? {} : { servername: endpoint.servername }),
      // No caBundle: the API server falls back to the system roots, which sign no test server.
      ...(caBundle === undefined ? {} : { ca: Buffer.from(caBundle, 'base64').toString('utf8') }),
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Content-Length': String(Buffer.byteLength(body)),
      },
      agent: false,
    });
    // A held timer: the call's deadline is timeoutSeconds, as the API server's context is.
    const timer = setTimeout(() => {
      req.destroy(failed('context deadline exceeded'));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof CallError ? err : failed(transportError(err, endpoint)));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(failed(transportError(err, endpoint)));
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(
            new CallError(
              `failed to call webhook: the server responded with the status code ${status} but did not return more information`,
            ),
          );
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new CallError(`received invalid webhook response: the body is not JSON`));
        }
      });
    });
    req.end(body);
  });
}

// --- request and response ---------------------------------------------------------------------

const USER_INFO = {
  username: 'kubernetes-admin',
  groups: ['kubeadm:cluster-admins', 'system:authenticated'],
};

function optionsOf(attrs: AdmissionAttributes): JsonObject {
  const kind =
    attrs.operation === 'CREATE' ? 'CreateOptions' : attrs.patch ? 'PatchOptions' : 'UpdateOptions';
  const options: JsonObject = { kind, apiVersion: 'meta.k8s.io/v1' };
  if (attrs.dryRun) options['dryRun'] = ['All'];
  return options;
}

export function reviewRequest(uid: string, attrs: AdmissionAttributes): JsonObject {
  const { info } = attrs;
  const kind = { group: info.group, version: info.version, kind: wireKind(info) };
  const resource = { group: info.group, version: info.version, resource: info.resource };
  const request: JsonObject = {
    uid,
    kind,
    resource,
    requestKind: kind,
    requestResource: resource,
    name: attrs.name,
    operation: attrs.operation,
    userInfo: USER_INFO,
    object: attrs.object,
    oldObject: attrs.oldObject ?? null,
    dryRun: attrs.dryRun,
    options: optionsOf(attrs),
  };
  if (attrs.subresource !== undefined) {
    request['subResource'] = attrs.subresource;
    request['requestSubResource'] = attrs.subresource;
  }
  if (attrs.namespace !== undefined) request['namespace'] = attrs.namespace;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

interface Verified {
  allowed: boolean;
  status: JsonObject | undefined;
  warnings: string[];
  patch: unknown[] | undefined;
}

function invalidResponse(why: string): CallError {
  return new CallError(`received invalid webhook response: ${why}`);
}

/** The JSONPatch operations of a mutating webhook's answer, if it has a patch. */
function patchOf(response: JsonObject, mutating: boolean): unknown[] | undefined {
  const patch = str(response['patch']);
  if (patch === undefined) return undefined;
  const patchType = response['patchType'];
  if (!mutating) throw invalidResponse('validating webhook may not return response.patch');
  if (patchType === undefined)
    throw invalidResponse('webhook returned response.patch but not response.patchType');
  if (patchType !== 'JSONPatch')
    throw new CallError(`unsupported patch type ${JSON.stringify(patchType)}`);
  try {
    return arr(JSON.parse(Buffer.from(patch, 'base64').toString('utf8')));
  } catch {
    throw new CallError('received undecodable patch in webhook response');
  }
}

/** VerifyAdmissionResponse: the checks whose failure counts as a failed call. */
function verifyResponse(uid: string, mutating: boolean, review: unknown): Verified {
  const r = obj(review);
  const response = r['response'];
  if (!isObject(response)) throw invalidResponse('webhook response was absent');
  if (response['uid'] !== uid)
    throw invalidResponse(
      `expected response.uid="${uid}", got ${JSON.stringify(response['uid'] ?? '')}`,
    );
  if (r['apiVersion'] !== 'admission.k8s.io/v1' || r['kind'] !== 'AdmissionReview')
    throw invalidResponse(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${JSON.stringify(r['apiVersion'])}, Kind=${JSON.stringify(r['kind'])}`,
    );
  return {
    allowed: response['allowed'] === true,
    status: isObject(response['status']) ? response['status'] : undefined,
    warnings: arr(response['warnings']).filter((w): w is string => typeof w === 'string'),
    patch: patchOf(response, mutating),
  };
}

/** webhookerrors.ToStatusErr: a refusal keeps the webhook's code (at least 400) and reason. */
export function refusal(webhook: string, status: JsonObject | undefined): ApiError {
  const s = status ?? {};
  const deniedBy = `admission webhook "${webhook}" denied the request`;
  const message = str(s['message']) ?? '';
  const reason = str(s['reason']) ?? '';
  const text =
    message !== ''
      ? `${deniedBy}: ${message}`
      : reason !== ''
        ? `${deniedBy}: ${reason}`
        : `${deniedBy} without explanation`;
  const code = typeof s['code'] === 'number' && s['code'] >= 400 ? s['code'] : 400;
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: text,
  };
  if (reason !== '') body['reason'] = reason;
  if (isObject(s['details'])) body['details'] = s['details'];
  body['code'] = code;
  return new ApiError(code, body);
}

/** apierrors.NewInternalError of ErrCallingWebhook: what failurePolicy Fail returns. */
function closedFailure(webhook: string, why: string): ApiError {
  const text = `failed calling webhook "${webhook}": ${why}`;
  return apiError(500, 'InternalError', `Internal error occurred: ${text}`, {
    causes: [{ message: text }],
  });
}

// --- dispatch ---------------------------------------------------------------------------------

interface Answer {
  verified: Verified | undefined;
  /** Set when the call failed under failurePolicy Fail: the error the request gets. */
  failure: ApiError | undefined;
}

export function createAdmission(options: AdmissionOptions): Admission {
  const { store, services, calls } = options;

  function record(
    hook: Hook,
    attrs: AdmissionAttributes,
    outcome: AdmissionCall['outcome'],
    error?: string,
  ): void {
    const entry: AdmissionCall = {
      webhook: String(hook.hook['name']),
      operation: attrs.operation,
      resource: attrs.info.resource,
      namespace: attrs.namespace,
      name: attrs.name,
      outcome,
    };
    if (error !== undefined) entry.error = error;
    calls.push(entry);
  }

  async function call(hook: Hook, attrs: AdmissionAttributes, mutating: boolean): Promise<Answer> {
    const name = String(hook.hook['name']);
    const timeoutSeconds =
      typeof hook.hook['timeoutSeconds'] === 'number' ? hook.hook['timeoutSeconds'] : 10;
    const clientConfig = obj(hook.hook['clientConfig']);
    const uid = randomUUID();
    try {
      const endpoint = endpointOf(clientConfig, services, timeoutSeconds);
      const reply = await post(
        endpoint,
        str(clientConfig['caBundle']),
        JSON.stringify(reviewRequest(uid, attrs)),
        timeoutSeconds * 1000,
      );
      return { verified: verifyResponse(uid, mutating, reply), failure: undefined };
    } catch (err) {
      if (!(err instanceof CallError)) throw err;
      const ignore = hook.hook['failurePolicy'] === 'Ignore';
      record(hook, attrs, ignore ? 'failed-open' : 'failed-closed', err.message);
      return {
        verified: undefined,
        failure: ignore ? undefined : closedFailure(name, err.message),
      };
    }
  }

  /** Warnings count even when the webhook refuses; a refusal or a closed failure throws. */
  function settle(
    hook: Hook,
    attrs: AdmissionAttributes,
    answer: Answer,
    warnings: string[],
  ): Verified | undefined {
    if (answer.failure !== undefined) throw answer.failure;
    const v = answer.verified;
    if (v === undefined) return undefined;
    warnings.push(...v.warnings);
    if (!v.allowed) {
      record(hook, attrs, 'denied');
      throw refusal(String(hook.hook['name']), v.status);
    }
    return v;
  }

  return {
    async mutate(attrs, warnings) {
      let object = attrs.object;
      for (const hook of matchingHooks(store, 'MutatingWebhookConfiguration', attrs)) {
        const current = { ...attrs, object };
        const v = settle(hook, current, await call(hook, current, true), warnings);
        if (v === undefined) continue;
        const patched = v.patch !== undefined && v.patch.length > 0;
        record(hook, current, patched ? 'patched' : 'allowed');
        if (!patched) continue;
        try {
          object = jsonPatch(object, v.patch);
        } catch (err) {
          throw apiError(
            500,
            'InternalError',
            `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      return object;
    },
    async validate(attrs, warnings) {
      const hooks = matchingHooks(store, 'ValidatingWebhookConfiguration', attrs);
      const answers = await Promise.all(hooks.map((hook) => call(hook, attrs, false)));
      let first: Error | undefined;
      hooks.forEach((hook, i) => {
        try {
          const v = settle(
            hook,
            attrs,
            answers[i] ?? { verified: undefined, failure: undefined },
            warnings,
          );
          if (v !== undefined) record(hook, attrs, 'allowed');
        } catch (err) {
          first ??= err instanceof Error ? err : new Error(String(err));
        }
      });
      if (first !== undefined) throw first;
    },
  };
}

/** The API server's Warning header: `299 - "text"` with `"` and `\` escaped. */
export function warningHeader(text: string): string {
  return `299 - "${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
