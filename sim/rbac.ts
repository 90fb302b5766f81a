// Authorization: kube-apiserver's RBAC authorizer (plugin/pkg/auth/authorizer/rbac) over the
// stored ClusterRoles, ClusterRoleBindings, Roles and RoleBindings, with the bootstrap roles every
// cluster has (system:basic-user, system:discovery, system:public-info-viewer) built in and
// `system:masters` allowed everything. Off by default: the sim then lets any authenticated user
// do anything (auth.ts, `defaultAuthorizer`).
//
// Rules match as in the real evaluator: verbs, apiGroups and resources (`resource/subresource`,
// `*`, `*/subresource`), resourceNames (only for a request that names an object), and
// nonResourceURLs (`*` and a trailing-`*` prefix). A ClusterRoleBinding grants its role
// everywhere; a RoleBinding grants a Role or ClusterRole only in its namespace. ClusterRole
// aggregation is not simulated (an aggregated role is read with the rules it is stored with).
import { arr, nameOf, namespaceOf, obj, str, type JsonObject } from './json.js';
import type { RequestAttributes, UserInfo } from './auth.js';
import type { ObjectStore } from './store.js';

export interface Decision {
  allowed: boolean;
  /** RBAC's reason on an allow (`RBAC: allowed by ClusterRoleBinding "x" of ...`), else ''. */
  reason: string;
}

export type Authorizer = (user: UserInfo, attrs: RequestAttributes) => Decision;

export const MASTERS_GROUP = 'system:masters';

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

function strings(value: unknown): string[] {
  return arr(value).filter((v): v is string => typeof v === 'string');
}

function ruleOf(value: unknown): Rule {
  const o = obj(value);
  return {
    verbs: strings(o['verbs']),
    apiGroups: strings(o['apiGroups']),
    resources: strings(o['resources']),
    resourceNames: strings(o['resourceNames']),
    nonResourceURLs: strings(o['nonResourceURLs']),
  };
}

const PUBLIC_INFO: Rule = {
  verbs: ['get'],
  apiGroups: [],
  resources: [],
  resourceNames: [],
  nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'],
};

/** system:basic-user and system:discovery, bound to system:authenticated in every cluster. */
const AUTHENTICATED: Rule[] = [
  {
    verbs: ['create'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
    resourceNames: [],
    nonResourceURLs: [],
  },
  {
    verbs: ['create'],
    apiGroups: ['authentication.k8s.io'],
    resources: ['selfsubjectreviews'],
    resourceNames: [],
    nonResourceURLs: [],
  },
  {
    verbs: ['get'],
    apiGroups: [],
    resources: [],
    resourceNames: [],
    nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*'],
  },
  PUBLIC_INFO,
];

const has = (list: readonly string[], value: string): boolean =>
  list.includes('*') || list.includes(value);

function resourceMatches(rule: Rule, attrs: RequestAttributes): boolean {
  const combined =
    attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  return rule.resources.some(
    (r) =>
      r === '*' || r === combined || (attrs.subresource !== '' && r === `*/${attrs.subresource}`),
  );
}

function nonResourceMatches(rule: Rule, path: string): boolean {
  return rule.nonResourceURLs.some(
    (url) =>
      url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))),
  );
}

/** rbac.RuleAllows. */
export function ruleAllows(rule: Rule, attrs: RequestAttributes): boolean {
  if (!has(rule.verbs, attrs.verb)) return false;
  if (!attrs.resourceRequest) return nonResourceMatches(rule, attrs.path);
  return (
    has(rule.apiGroups, attrs.apiGroup) &&
    resourceMatches(rule, attrs) &&
    (rule.resourceNames.length === 0 || rule.resourceNames.includes(attrs.name))
  );
}

/** A ServiceAccount's user name, as the SA token authenticator makes it. */
function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Which of the binding's subjects is the user, if any (rbac validation's appliesTo). */
function appliedSubject(
  user: UserInfo,
  binding: JsonObject,
  namespace: string,
): JsonObject | undefined {
  return arr(binding['subjects'])
    .map(obj)
    .find((subject) => {
      const name = str(subject['name']) ?? '';
      switch (subject['kind']) {
        case 'User':
          return user.name === name;
        case 'Group':
          return user.groups.includes(name);
        case 'ServiceAccount': {
          const ns = str(subject['namespace']) ?? namespace;
          return ns !== '' && user.name === serviceAccountUser(ns, name);
        }
        default:
          return false;
      }
    });
}

/** describeSubject: a ServiceAccount is shown "name/namespace", as the real message does. */
function describeSubject(subject: JsonObject, namespace: string): string {
  const kind = str(subject['kind']) ?? '';
  const name = str(subject['name']) ?? '';
  if (kind === 'ServiceAccount')
    return `${kind} "${name}/${str(subject['namespace']) ?? namespace}"`;
  return `${kind} "${name}"`;
}

function roleRules(store: ObjectStore, roleRef: JsonObject, namespace: string | undefined): Rule[] {
  const name = str(roleRef['name']) ?? '';
  const role =
    roleRef['kind'] === 'ClusterRole'
      ? store.get('ClusterRole', undefined, name)
      : store.get('Role', namespace, name);
  return role === undefined ? [] : arr(role['rules']).map(ruleOf);
}

/** The bindings whose rules apply to a request in `namespace`: cluster-wide ones, then its own. */
function bindings(store: ObjectStore, namespace: string): { binding: JsonObject; kind: string }[] {
  const cluster = store
    .list('ClusterRoleBinding')
    .map((binding) => ({ binding, kind: 'ClusterRoleBinding' }));
  if (namespace === '') return cluster;
  const local = store
    .list('RoleBinding', namespace)
    .map((binding) => ({ binding, kind: 'RoleBinding' }));
  return [...cluster, ...local];
}

function bootstrapAllows(user: UserInfo, attrs: RequestAttributes): boolean {
  if (user.groups.includes('system:authenticated'))
    return AUTHENTICATED.some((rule) => ruleAllows(rule, attrs));
  return ruleAllows(PUBLIC_INFO, attrs);
}

export function createRbacAuthorizer(store: ObjectStore): Authorizer {
  return (user, attrs) => {
    if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: '' };
    if (bootstrapAllows(user, attrs)) return { allowed: true, reason: '' };
    for (const { binding, kind } of bindings(store, attrs.namespace)) {
      const namespace = namespaceOf(binding) ?? '';
      const subject = appliedSubject(user, binding, namespace);
      if (subject === undefined) continue;
      const roleRef = obj(binding['roleRef']);
      const rules = roleRules(store, roleRef, kind === 'RoleBinding' ? namespace : undefined);
      if (!rules.some((rule) => ruleAllows(rule, attrs))) continue;
      const bindingName =
        kind === 'RoleBinding' ? `${nameOf(binding)}/${namespace}` : nameOf(binding);
      const role = `${str(roleRef['kind']) ?? ''} "${str(roleRef['name']) ?? ''}"`;
      return {
        allowed: true,
        reason: `RBAC: allowed by ${kind} "${bindingName}" of ${role} to ${describeSubject(subject, namespace)}`,
      };
    }
    return { allowed: false, reason: '' };
  };
}

/** The groups the ServiceAccount token authenticator gives a service account's user. */
export function serviceAccountGroups(userName: string): string[] {
  const match = /^system:serviceaccount:([^:]+):[^:]+$/.exec(userName);
  return match?.[1] === undefined
    ? []
    : ['system:serviceaccounts', `system:serviceaccounts:${match[1]}`];
}
