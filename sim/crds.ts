// CustomResourceDefinitions: custom resources are served only while their CRD object is stored,
// and everything about them (scope, names, printer columns, schema) is read from that object,
// as the real apiextensions-apiserver does. Validation covers the structural-schema keywords
// the project's CRDs use: type, properties, items, additionalProperties, required, enum,
// pattern, minimum and maxItems, with the real server's messages; `default` is applied.
import { arr, deepCopy, isObject, meta, obj, readPath, str, type JsonObject } from './json.js';
import { wireKind, type ResourceInfo } from './resources.js';
import { apiError, badRequest, goQuote, invalid, required, type FieldError } from './status.js';
import type { ObjectStore } from './store.js';
import { humanDuration } from './table.js';

/** The stored CRD that serves a custom resource, if it is installed. */
export function crdFor(store: ObjectStore, info: ResourceInfo): JsonObject | undefined {
  if (info.crd === undefined) return undefined;
  return store.get('CustomResourceDefinition', undefined, info.crd);
}

/** Whether the resource is served: built-in, or custom with its CRD stored. */
export function isServed(store: ObjectStore, info: ResourceInfo): boolean {
  return info.crd === undefined || crdFor(store, info) !== undefined;
}

function servedVersion(crd: JsonObject, version: string): JsonObject | undefined {
  return arr(readPath(crd, 'spec.versions'))
    .map(obj)
    .find((v) => v['name'] === version && v['served'] !== false);
}

/** Whether the CRD gives the resource's version a status subresource. */
export function hasStatusSubresource(crd: JsonObject, info: ResourceInfo): boolean {
  return readPath(servedVersion(crd, info.version) ?? {}, 'subresources.status') !== undefined;
}

/** The resource as discovery advertises it, from the CRD (names, short names, scope). */
export function discoveryEntries(crd: JsonObject): JsonObject[] {
  const names = obj(readPath(crd, 'spec.names'));
  const namespaced = str(readPath(crd, 'spec.scope')) === 'Namespaced';
  const main: JsonObject = {
    name: names['plural'],
    singularName: names['singular'],
    namespaced,
    kind: names['kind'],
    verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
  };
  if (arr(names['shortNames']).length > 0) main['shortNames'] = names['shortNames'];
  const entries = [main];
  for (const version of arr(readPath(crd, 'spec.versions')).map(obj)) {
    if (readPath(version, 'subresources.status') !== undefined) {
      entries.push({
        name: `${str(names['plural']) ?? ''}/status`,
        singularName: '',
        namespaced,
        kind: names['kind'],
        verbs: ['get', 'patch', 'update'],
      });
      break;
    }
  }
  return entries;
}

// --- CRD writes ---------------------------------------------------------------------------------

const APPROVAL = 'api-approved.kubernetes.io';
const APPROVAL_FIELD = `metadata.annotations[${APPROVAL}]`;

/** The Kubernetes community's groups: a CRD there needs its API review's approval (KEP 1111). */
function isProtectedGroup(group: string): boolean {
  return (
    group === 'k8s.io' ||
    group === 'kubernetes.io' ||
    group.endsWith('.k8s.io') ||
    group.endsWith('.kubernetes.io')
  );
}

type Approval = 'missing' | 'invalid' | 'approved';

function approvalOf(crd: JsonObject | undefined): Approval {
  const value = crd === undefined ? undefined : str(obj(meta(crd)['annotations'])[APPROVAL]);
  if (value === undefined) return 'missing';
  if (value.startsWith('unapproved')) return 'approved';
  // Go's url.Parse refuses little: control characters, and a scheme-less first segment with ':'.
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  return /[\x00-\x1f\x7f]/.test(value) ||
    (/^[^/]*:/.test(value) && !/^[a-z][a-z0-9+.-]*:/i.test(value))
    ? 'invalid'
    : 'approved';
}

/**
 * A CRD in a protected group (*.k8s.io, *.kubernetes.io) needs the api-approved.kubernetes.io
 * annotation: a URL, or a reason starting with "unapproved" (apiextensions validateAPIApproval).
 * An update that leaves the approval state as it was is never refused.
 */
export function validateCrdWrite(candidate: JsonObject, existing: JsonObject | undefined): void {
  const group = str(readPath(candidate, 'spec.group')) ?? '';
  if (!isProtectedGroup(group)) return;
  const state = approvalOf(candidate);
  if (existing !== undefined && approvalOf(existing) === state) return;
  const link = 'see https://github.com/kubernetes/enhancements/pull/1111';
  const name = str(meta(candidate)['name']) ?? '';
  if (state === 'missing')
    throw invalid(
      'CustomResourceDefinition',
      name,
      [
        required(
          APPROVAL_FIELD,
          `protected groups must have approval annotation "${APPROVAL}", ${link}`,
        ),
      ],
      'apiextensions.k8s.io',
    );
  if (state === 'invalid')
    throw invalid(
      'CustomResourceDefinition',
      name,
      [
        invalidValue(
          APPROVAL_FIELD,
          str(obj(meta(candidate)['annotations'])[APPROVAL]) ?? '',
          `protected groups must have approval annotation "${APPROVAL}" with either a URL or a reason starting with "unapproved", ${link}`,
        ),
      ],
      'apiextensions.k8s.io',
    );
}

// --- schema validation ------------------------------------------------------------------------

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

function shown(value: unknown): string {
  return JSON.stringify(value);
}

function invalidValue(field: string, value: unknown, why: string): FieldError {
  return { type: 'FieldValueInvalid', field, body: `Invalid value: ${shown(value)}: ${why}` };
}

function checkScalar(schema: JsonObject, value: unknown, field: string, errs: FieldError[]): void {
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.includes(value)) {
    const supported = enumValues.map(shown).join(', ');
    errs.push({
      type: 'FieldValueNotSupported',
      field,
      body: `Unsupported value: ${shown(value)}: supported values: ${supported}`,
    });
  }
  const pattern = str(schema['pattern']);
  // eslint-disable-next-line security/detect-non-literal-regexp -- the pattern of a stored CRD's schema, as the real API server compiles it
  if (pattern !== undefined && typeof value === 'string' && !new RegExp(pattern, 'u').test(value))
    errs.push(invalidValue(field, value, `${field} in body should match '${pattern}'`));
  const minimum = schema['minimum'];
  if (typeof minimum === 'number' && typeof value === 'number' && value < minimum)
    errs.push(
      invalidValue(field, value, `${field} in body should be greater than or equal to ${minimum}`),
    );
}

function checkObject(
  schema: JsonObject,
  value: JsonObject,
  field: string,
  errs: FieldError[],
): void {
  const properties = obj(schema['properties']);
  for (const key of arr(schema['required'])) {
    if (typeof key === 'string' && value[key] === undefined)
      errs.push({ type: 'FieldValueRequired', field: `${field}.${key}`, body: 'Required value' });
  }
  const extra = schema['additionalProperties'];
  for (const [key, child] of Object.entries(value)) {
    const childSchema = properties[key] ?? (isObject(extra) ? extra : undefined);
    // Unknown fields are pruned, as a structural schema without preserve-unknown-fields does.
    if (childSchema === undefined) continue;
    validateValue(obj(childSchema), child, field === '' ? key : `${field}.${key}`, errs);
  }
}

function validateValue(
  schema: JsonObject,
  value: unknown,
  field: string,
  errs: FieldError[],
): void {
  const type = str(schema['type']);
  if (type !== undefined && !typeMatches(type, value)) {
    errs.push(
      invalidValue(
        field,
        typeOf(value),
        `${field} in body must be of type ${type}: ${shown(typeOf(value))}`,
      ),
    );
    return;
  }
  if (isObject(value)) {
    checkObject(schema, value, field, errs);
    return;
  }
  if (Array.isArray(value)) {
    const maxItems = schema['maxItems'];
    if (typeof maxItems === 'number' && value.length > maxItems)
      errs.push({
        type: 'FieldValueInvalid',
        field,
        body: `Too many: ${value.length}: must have at most ${maxItems} items`,
      });
    const items = obj(schema['items']);
    value.forEach((item, index) => {
      validateValue(items, item, `${field}[${index}]`, errs);
    });
    return;
  }
  checkScalar(schema, value, field, errs);
}

/** Drops fields the schema does not know (collecting their paths) and fills in `default`s. */
function pruneAndDefault(schema: JsonObject, value: unknown, path: string, pruned: string[]): void {
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
  if (isObject(value)) {
    const properties = obj(schema['properties']);
    const extra = schema['additionalProperties'];
    // x-kubernetes-preserve-unknown-fields keeps what the schema does not name, at this level.
    const prune =
      schema['properties'] !== undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true;
    for (const key of Object.keys(value)) {
      if (properties[key] === undefined && !isObject(extra) && prune) {
        pruned.push(at(key));
        Reflect.deleteProperty(value, key);
      }
    }
    for (const [key, child] of Object.entries(properties)) {
      const childSchema = obj(child);
      if (value[key] === undefined && childSchema['default'] !== undefined)
        value[key] = deepCopy(childSchema['default']);
      if (value[key] !== undefined) pruneAndDefault(childSchema, value[key], at(key), pruned);
    }
    return;
  }
  if (Array.isArray(value))
    value.forEach((item, index) => {
      pruneAndDefault(obj(schema['items']), item, `${path}[${index}]`, pruned);
    });
}

function schemaErrors(schema: JsonObject, object: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const body = { ...object };
  delete body['metadata'];
  delete body['kind'];
  delete body['apiVersion'];
  validateValue(schema, body, '', errs);
  return errs;
}

function schemaOf(crd: JsonObject, version: string): JsonObject {
  return obj(readPath(servedVersion(crd, version) ?? {}, 'schema.openAPIV3Schema'));
}

/**
 * Decoding a custom resource: unknown fields are pruned, as a structural schema without
 * x-kubernetes-preserve-unknown-fields does, and schema defaults filled in. Returns the pruned
 * paths, which fieldValidation=Strict turns into an error (see strictDecodingError).
 */
export function decodeCustom(crd: JsonObject, info: ResourceInfo, candidate: JsonObject): string[] {
  const { metadata, kind, apiVersion } = candidate;
  const pruned: string[] = [];
  pruneAndDefault(schemaOf(crd, info.version), candidate, '', pruned);
  candidate['metadata'] = metadata;
  candidate['kind'] = kind;
  candidate['apiVersion'] = apiVersion;
  return pruned.filter((p) => p !== 'metadata' && p !== 'kind' && p !== 'apiVersion');
}

/**
 * Custom resource write rules after decoding: schema validation (422 in the real format) and
 * the generation (1 on create, +1 when the spec changes). Strategic merge patch is refused
 * before this (415).
 */
export function prepareCustomWrite(
  crd: JsonObject,
  info: ResourceInfo,
  existing: JsonObject | undefined,
  candidate: JsonObject,
): void {
  const schema = schemaOf(crd, info.version);
  const errs = schemaErrors(schema, candidate);
  if (existing !== undefined) {
    // Validation ratcheting (on by default since 1.30): an invalid value that the update leaves
    // unchanged is not an error, so status writes work on objects stored before a stricter schema.
    const before = new Set(schemaErrors(schema, existing).map((e) => `${e.field}\u0000${e.body}`));
    errs.splice(0, errs.length, ...errs.filter((e) => !before.has(`${e.field}\u0000${e.body}`)));
  }
  if (errs.length > 0)
    throw invalid(wireKind(info), str(meta(candidate)['name']) ?? '', errs, info.group);
  const md = meta(candidate);
  const before = existing === undefined ? 0 : Number(meta(existing)['generation'] ?? 1);
  const specChanged =
    existing === undefined ||
    JSON.stringify(existing['spec']) !== JSON.stringify(candidate['spec']);
  md['generation'] = specChanged ? before + 1 : before;
  candidate['metadata'] = md;
}

/**
 * fieldValidation=Strict (what kubectl apply sends) with unknown fields: a body that does not
 * decode is a 400 on create and update; a patch whose result does not decode is a 422 on the
 * field `patch` (errors.NewInvalid with an empty kind), carrying the patched object.
 */
export function strictDecodingError(
  info: ResourceInfo,
  pruned: readonly string[],
  patched: JsonObject | undefined,
): Error {
  const why = `strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`;
  if (patched === undefined)
    return badRequest(
      `${wireKind(info)} in version "${info.version}" cannot be handled as a ${wireKind(info)}: ${why}`,
    );
  const value = JSON.stringify(patched);
  return apiError(
    422,
    'Invalid',
    ` "" is invalid: patch: Invalid value: ${goQuote(value)}: ${why}`,
    {
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${goQuote(value)}: ${why}`,
          field: 'patch',
        },
      ],
    },
  );
}

export function strategicMergeUnsupported(): Error {
  // What the real server answers to a strategic merge patch on a custom resource.
  return apiError(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  );
}

// --- kubectl get ------------------------------------------------------------------------------

/** A JSONPath of the simple kinds printer columns use: .a.b, .a[0], .a[?(@.k=="v")].b */
export function evalJsonPath(o: unknown, path: string): unknown {
  let current: unknown = o;
  const steps = path.match(/\.[A-Za-z0-9_-]+|\[\?\(@\.[A-Za-z0-9_]+=="[^"]*"\)\]|\[\d+\]/g) ?? [];
  for (const step of steps) {
    if (step.startsWith('.')) current = isObject(current) ? current[step.slice(1)] : undefined;
    else if (step.startsWith('[?')) {
      const [, key = '', value] = /@\.([A-Za-z0-9_]+)=="([^"]*)"/.exec(step) ?? [];
      current = arr(current)
        .map(obj)
        .find((item) => item[key] === value);
    } else current = arr(current)[Number(step.slice(1, -1))];
  }
  return current;
}

function cell(type: string, value: unknown, now: Date): unknown {
  if (value === undefined || value === null) return null;
  if (type === 'date' && typeof value === 'string')
    return humanDuration(now.getTime() - Date.parse(value));
  return value;
}

export function customTable(
  served: { crd: JsonObject; info: ResourceInfo },
  items: JsonObject[],
  listMeta: JsonObject,
  now: Date,
): JsonObject {
  const { crd, info } = served;
  const columns = arr(
    readPath(servedVersion(crd, info.version) ?? {}, 'additionalPrinterColumns'),
  ).map(obj);
  const definitions = [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    ...columns.map((c) => ({
      name: c['name'],
      type: c['type'] === 'date' ? 'date' : c['type'],
      format: '',
      description: str(c['description']) ?? '',
      priority: typeof c['priority'] === 'number' ? c['priority'] : 0,
    })),
  ];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: definitions,
    rows: items.map((o) => ({
      cells: [
        meta(o)['name'],
        ...columns.map((c) =>
          cell(str(c['type']) ?? 'string', evalJsonPath(o, str(c['jsonPath']) ?? ''), now),
        ),
      ],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) },
    })),
  };
}
