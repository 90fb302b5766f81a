// OpenAPI v3, the subset kubectl 1.33 reads before `kubectl apply`: the /openapi/v3 index of
// group-versions, and per group-version the paths with their PATCH operations. kubectl looks for
// the PATCH operation tagged with the object's x-kubernetes-group-version-kind and reads two
// things from it: whether `fieldValidation` is a parameter (then it sends fieldValidation=Strict
// and leaves validation to the server, else it validates client-side from /openapi/v2, which the
// sim does not serve) and whether the request body accepts strategic merge patch (custom
// resources do not, so kubectl falls back to a JSON merge patch). Built-in kinds are listed
// without their schemas; a custom resource's component schema is its CRD's openAPIV3Schema.
import { createHash } from 'node:crypto';
import { arr, deepCopy, obj, readPath, str, type JsonObject } from './json.js';
import { RESOURCES } from './resources.js';
import type { ObjectStore } from './store.js';

export interface Served {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  subresources: string[];
  /** The custom resource's schema; undefined for built-in kinds. */
  schema?: JsonObject;
}

const BUILT_IN_PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
// The apiextensions server accepts no strategic merge patch for custom resources.
const CUSTOM_PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
];

function builtIns(): Served[] {
  return RESOURCES.filter((r) => r.crd === undefined).map((r) => ({
    group: r.group,
    version: r.version,
    kind: r.kind,
    plural: r.resource,
    namespaced: r.namespaced,
    subresources: r.subresources.filter((s) => s === 'status'),
  }));
}

/** Every served version of every stored CRD (discovery lists the same group-versions). */
export function servedCustomVersions(store: ObjectStore): Served[] {
  return store.list('CustomResourceDefinition').flatMap((crd) =>
    arr(readPath(crd, 'spec.versions'))
      .map(obj)
      .filter((v) => v['served'] !== false)
      .map((v) => ({
        group: str(readPath(crd, 'spec.group')) ?? '',
        version: str(v['name']) ?? '',
        kind: str(readPath(crd, 'spec.names.kind')) ?? '',
        plural: str(readPath(crd, 'spec.names.plural')) ?? '',
        namespaced: str(readPath(crd, 'spec.scope')) === 'Namespaced',
        subresources: readPath(v, 'subresources.status') === undefined ? [] : ['status'],
        schema: obj(readPath(v, 'schema.openAPIV3Schema')),
      })),
  );
}

function gvPath(s: { group: string; version: string }): string {
  return s.group === '' ? `api/${s.version}` : `apis/${s.group}/${s.version}`;
}

function queryParam(name: string): JsonObject {
  return { name, in: 'query', schema: { type: 'string', uniqueItems: true } };
}

function operation(s: Served, action: string, extra: JsonObject = {}): JsonObject {
  return {
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: s.group, version: s.version, kind: s.kind },
    responses: { '200': { description: 'OK' } },
    ...extra,
  };
}

function patchOperation(s: Served): JsonObject {
  const types = s.schema === undefined ? BUILT_IN_PATCH_TYPES : CUSTOM_PATCH_TYPES;
  return operation(s, 'patch', {
    parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map(queryParam),
    requestBody: {
      content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'object' } }])),
      required: true,
    },
  });
}

function paths(s: Served): [string, JsonObject][] {
  const base = `/${gvPath(s)}${s.namespaced ? '/namespaces/{namespace}' : ''}/${s.plural}`;
  const write = { parameters: ['dryRun', 'fieldManager', 'fieldValidation'].map(queryParam) };
  const item: JsonObject = {
    get: operation(s, 'get'),
    put: operation(s, 'put', write),
    patch: patchOperation(s),
    delete: operation(s, 'delete'),
  };
  const out: [string, JsonObject][] = [
    [base, { get: operation(s, 'list'), post: operation(s, 'post', write) }],
    [`${base}/{name}`, item],
  ];
  for (const sub of s.subresources)
    out.push([`${base}/{name}/${sub}`, { get: operation(s, 'get'), patch: patchOperation(s) }]);
  return out;
}

/** The component name the real server gives a custom kind: reversed group, version, kind. */
function componentName(s: Served): string {
  return [...s.group.split('.').reverse(), s.version, s.kind].join('.');
}

function groupVersionDoc(served: Served[]): JsonObject {
  const schemas: JsonObject = {};
  for (const s of served) {
    if (s.schema === undefined) continue;
    schemas[componentName(s)] = {
      ...deepCopy(s.schema),
      'x-kubernetes-group-version-kind': [{ group: s.group, version: s.version, kind: s.kind }],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.33.4' },
    paths: Object.fromEntries(served.flatMap(paths)),
    components: { schemas },
  };
}

function byGroupVersion(store: ObjectStore): Map<string, Served[]> {
  const groups = new Map<string, Served[]>();
  for (const s of [...builtIns(), ...servedCustomVersions(store)]) {
    const key = gvPath(s);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return groups;
}

function hashOf(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/**
 * GET /openapi/v3 (the index, each entry with a content hash as the real server gives) and
 * GET /openapi/v3/{api/v1 | apis/GROUP/VERSION}; undefined for any other path (a 404).
 */
export function openApiV3Document(path: string, store: ObjectStore): JsonObject | undefined {
  if (!path.startsWith('/openapi/v3')) return undefined;
  const groups = byGroupVersion(store);
  if (path === '/openapi/v3') {
    const index: JsonObject = {};
    for (const [key, served] of groups)
      index[key] = {
        serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(groupVersionDoc(served))}`,
      };
    return { paths: index };
  }
  const served = groups.get(path.slice('/openapi/v3/'.length));
  return served === undefined ? undefined : groupVersionDoc(served);
}
