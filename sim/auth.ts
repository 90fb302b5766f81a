// Authentication and authorization as kube-apiserver's filters do them. Authorization is the
// default bootstrap policy (any authenticated user may do anything, `system:anonymous` may only
// read the public-info paths) unless RBAC is asked for (rbac.ts).
//
// Authentication is a union: the x509 authenticator (a client certificate is verified against
// the client CA; one that does not verify is an error), then bearer tokens (a token nobody knows
// is an error). The first success wins; with none, an error means 401 even when anonymous
// requests are enabled ("a bad bearer token is not anonymous"), and no credentials at all mean
// `system:anonymous` or, with anonymous requests disabled, 401.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { JsonObject } from './json.js';
import { serviceAccountGroups, type Authorizer } from './rbac.js';
import { statusBody } from './status.js';

export interface AuthenticationOptions {
  /** Bearer token → user name (a static token file). */
  tokens?: Record<string, string>;
  /** Requests without credentials are `system:anonymous` (default true, as kube-apiserver). */
  anonymous?: boolean;
  /**
   * User → the groups a token's user is in besides `system:authenticated` (the static token
   * file's groups column); a service account's user also gets `system:serviceaccounts` and
   * `system:serviceaccounts:NAMESPACE`, as its real tokens do.
   */
  groups?: Record<string, string[]>;
}

export interface UserInfo {
  name: string;
  groups: string[];
}

export const ANONYMOUS_USER = 'system:anonymous';

/** What the authorizer is asked about: k8s.io/apiserver's RequestInfo, the fields RBAC reads. */
export interface RequestAttributes {
  verb: string;
  path: string;
  resourceRequest: boolean;
  apiGroup: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/** Who sent the request (none when authentication failed), and the refusal if it is refused. */
export interface AuthOutcome {
  user?: UserInfo;
  denied?: { code: 401 | 403; status: JsonObject };
}

const UNAUTHORIZED = (): JsonObject => statusBody(401, 'Unauthorized', 'Unauthorized');

type Authenticated = UserInfo | 'error' | undefined;

/** A group value of the certificate subject: Node gives one value as a string, several as an array. */
function subjectValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The x509 authenticator: CN is the user, each O a group; an unverified certificate is an error. */
function fromClientCertificate(req: IncomingMessage): Authenticated {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (Object.keys(cert).length === 0) return undefined;
  if (socket.authorized !== true) return 'error';
  const subject = cert.subject as Record<string, string | string[] | undefined> | undefined;
  const name = subjectValues(subject?.['CN'])[0];
  // A verified certificate without a CN authenticates nobody, without an error
  // (x509's CommonNameUserConversion), so the request may still be anonymous.
  if (name === undefined || name === '') return undefined;
  return { name, groups: [...subjectValues(subject?.['O']), 'system:authenticated'] };
}

/** The static token authenticator: the token's user and groups, or undefined for a stranger. */
export function userOfToken(token: string, options: AuthenticationOptions): UserInfo | undefined {
  const tokens = options.tokens ?? {};
  const name = Object.hasOwn(tokens, token) ? tokens[token] : undefined;
  if (name === undefined) return undefined;
  const extra =
    options.groups !== undefined && Object.hasOwn(options.groups, name) ? options.groups[name] : [];
  return {
    name,
    groups: [...new Set([...(extra ?? []), ...serviceAccountGroups(name), 'system:authenticated'])],
  };
}

/** The bearer token authenticator: only `Bearer <token>` is looked at (Basic is ignored). */
function fromBearerToken(req: IncomingMessage, options: AuthenticationOptions): Authenticated {
  const header = (req.headers.authorization ?? '').trim();
  if (header === '') return undefined;
  const parts = header.split(' ');
  if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  const token = parts[1] ?? '';
  if (token.length === 0) return undefined; // `Bearer  x`: the extra space leaves no token
  return userOfToken(token, options) ?? 'error';
}

export function authenticate(
  req: IncomingMessage,
  options: AuthenticationOptions,
): UserInfo | undefined {
  let failed = false;
  for (const attempt of [() => fromClientCertificate(req), () => fromBearerToken(req, options)]) {
    const result = attempt();
    if (result === 'error') failed = true;
    else if (result !== undefined) return result;
  }
  if (failed || options.anonymous === false) return undefined;
  return { name: ANONYMOUS_USER, groups: ['system:unauthenticated'] };
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const VERB_OF_METHOD: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** `fieldSelector=metadata.name=X` names the object a list or watch is about. */
function nameFromFieldSelector(selector: string | undefined): string {
  for (const term of (selector ?? '').split(',')) {
    const value = /^metadata\.name(?:==?)(.*)$/.exec(term.trim())?.[1] ?? '';
    // Only a valid path segment counts (path.IsValidPathSegmentName).
    if (value !== '' && value !== '.' && value !== '..' && !/[/%]/.test(value)) return value;
  }
  return '';
}

/** `/api/v1/REST` or `/apis/GROUP/VERSION/REST` with REST not empty; else not a resource request. */
function apiPath(path: string): { apiGroup: string; rest: string[] } | undefined {
  const parts = path.split('/').filter((s) => s !== '');
  if (parts[0] === 'api' && parts.length >= 3) return { apiGroup: '', rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 4)
    return { apiGroup: parts[1] ?? '', rest: parts.slice(3) };
  return undefined;
}

/** `/namespaces/NS/RESOURCE/...` is RESOURCE in NS; `/namespaces/NS[/status]` the namespace. */
function inNamespace(parts: string[]): { namespace: string; parts: string[] } {
  if (parts[0] !== 'namespaces' || parts.length < 2) return { namespace: '', parts };
  const namespace = parts[1] ?? '';
  const own = parts.length === 2 || NAMESPACE_SUBRESOURCES.has(parts[2] ?? '');
  return { namespace, parts: own ? parts : parts.slice(2) };
}

/** A GET or DELETE without a name is about the collection: list, watch or deletecollection. */
function collectionVerb(verb: string, query: Record<string, string>): string {
  if (verb === 'delete') return 'deletecollection';
  if (verb !== 'get') return verb;
  return query['watch'] === 'true' || query['watch'] === '1' ? 'watch' : 'list';
}

/** The verb and the rest of the path: `/api/v1/watch/...` and `/proxy/...` carry it in the path. */
function verbOf(
  method: string,
  rest: string[],
): { verb: string; special: boolean; rest: string[] } {
  const first = rest[0] ?? '';
  if (SPECIAL_VERBS.has(first) && rest.length >= 2)
    return { verb: first, special: true, rest: rest.slice(1) };
  return { verb: VERB_OF_METHOD[method] ?? '', special: false, rest };
}

/** The attributes of a request to a path outside the API's resources (/version, /apis, …). */
export function nonResourceAttributes(verb: string, path: string): RequestAttributes {
  return {
    verb,
    path,
    resourceRequest: false,
    apiGroup: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
}

/** k8s.io/apiserver's RequestInfoFactory: which verb, resource and object a request is about. */
export function requestAttributes(
  method: string,
  path: string,
  query: Record<string, string>,
): RequestAttributes {
  const target = apiPath(path);
  if (target === undefined) return nonResourceAttributes(method.toLowerCase(), path);
  const { verb, special, rest } = verbOf(method, target.rest);
  const { namespace, parts } = inNamespace(rest);
  const name = parts[1] ?? '';
  const collection = !special && name === '';
  return {
    verb: collection ? collectionVerb(verb, query) : verb,
    path,
    resourceRequest: true,
    apiGroup: target.apiGroup,
    namespace,
    resource: parts[0] ?? '',
    subresource: verb === 'proxy' ? '' : (parts[2] ?? ''),
    name: collection && verb === 'get' ? nameFromFieldSelector(query['fieldSelector']) : name,
  };
}

/** system:public-info-viewer, bound to system:unauthenticated by default. */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

/** The bootstrap policy without RBAC: users may do anything, anonymous only read public info. */
export const defaultAuthorizer: Authorizer = (user, attrs) => ({
  allowed:
    user.name !== ANONYMOUS_USER ||
    (!attrs.resourceRequest && attrs.verb === 'get' && PUBLIC_PATHS.has(attrs.path)),
  reason: '',
});

/** The authorization filter's message (endpoints/filters/authorization.go forbiddenMessage). */
function forbiddenStatus(user: UserInfo, attrs: RequestAttributes): JsonObject {
  if (!attrs.resourceRequest)
    return statusBody(
      403,
      'Forbidden',
      `forbidden: User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"`,
      {},
    );
  const resource =
    attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope =
    attrs.namespace === '' ? 'at the cluster scope' : `in the namespace "${attrs.namespace}"`;
  const reason = `User "${user.name}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
  const qualified = attrs.apiGroup === '' ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`;
  const subject = attrs.name === '' ? qualified : `${qualified} "${attrs.name}"`;
  // metav1.StatusDetails field order (name, group, kind), empty ones omitted.
  const details: JsonObject = {};
  if (attrs.name !== '') details['name'] = attrs.name;
  if (attrs.apiGroup !== '') details['group'] = attrs.apiGroup;
  details['kind'] = attrs.resource;
  return statusBody(403, 'Forbidden', `${subject} is forbidden: ${reason}`, details);
}

/** Who sent the request and whether they may make it, or the 401/403 the API server answers. */
export function checkRequest(
  req: IncomingMessage,
  options: AuthenticationOptions,
  attrs: RequestAttributes,
  authorize: Authorizer = defaultAuthorizer,
): AuthOutcome {
  const user = authenticate(req, options);
  if (user === undefined) return { denied: { code: 401, status: UNAUTHORIZED() } };
  if (!authorize(user, attrs).allowed)
    return { user, denied: { code: 403, status: forbiddenStatus(user, attrs) } };
  return { user };
}
