// Kubernetes API semantics for the simulated resources: list/get/create/update/patch/delete,
// preconditions, strategies (status is reset on main-resource writes), validation and admission.
import { prepareVolumeAttributesClass } from './volume-attributes-classes.js';
import { randomBytes } from 'node:crypto';
import type { Admission, AdmissionAttributes, AdmissionOperation } from './admission.js';
import { deleteStored, finishDeletion, releaseProtection } from './deletion.js';
import {
  checkEventDecodes,
  coreToEventsV1,
  eventFields,
  eventsV1ToCore,
  legacyValidateEvent,
  normalizeMicroTime,
  strictEventErrors,
  validateEventUpdate,
} from './events.js';
import {
  deepCopy,
  deepEqual,
  isObject,
  meta,
  nameOf,
  namespaceOf,
  obj,
  readPath,
  str,
  type JsonObject,
} from './json.js';
import { applyPatch, PATCH_CONTENT_TYPES, unsupportedPatchType } from './patch.js';
import {
  crdFor,
  decodeCustom,
  hasStatusSubresource,
  prepareCustomWrite,
  strategicMergeUnsupported,
  strictDecodingError,
  validateCrdWrite,
} from './crds.js';
import { checkPvcUpdate } from './pvc-rules.js';
import { prepareSecret } from './secrets.js';
import { prepareWebhookConfig } from './webhook-configs.js';
import { canonicalQuantity, QUANTITY_FORMAT_ERROR } from './quantity.js';
import type { ResizeController } from './resize.js';
import {
  apiVersionOf,
  resourceForKind,
  wireKind,
  type ResourceInfo,
  type SimKind,
} from './resources.js';
import { applySeedDefaults, labelNamespace } from './seed.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  alreadyExists,
  apiError,
  badRequest,
  conflict,
  invalid,
  notFound,
  required,
} from './status.js';
import {
  firstKeyAfter,
  kubeTime,
  namespaceRange,
  objectKey,
  type ObjectStore,
  type SortedObjects,
} from './store.js';

export interface ApiContext {
  store: ObjectStore;
  resize: ResizeController;
  admission: Admission;
  now(): Date;
}

/** Per write: `?dryRun=All`, and the warnings the response carries as Warning headers. */
export interface WriteRequest {
  dryRun: boolean;
  warnings: string[];
}

/** What the webhooks are asked about; the objects are in the form the resource serves. */
function attrsOf(
  target: ResourceTarget,
  operation: AdmissionOperation,
  objects: { object: JsonObject; oldObject: JsonObject | undefined },
  write: WriteRequest & { patch?: boolean },
): AdmissionAttributes {
  return {
    info: target.info,
    subresource: target.subresource,
    namespace: target.info.namespaced ? target.namespace : undefined,
    name: nameOf(objects.object),
    operation,
    object: objects.object,
    oldObject: objects.oldObject,
    dryRun: write.dryRun,
    patch: write.patch === true,
  };
}

export interface ResourceTarget {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  /** The fieldValidation query parameter of a write: Strict, Warn (the default) or Ignore. */
  fieldValidation?: string;
}

/** Built-in kinds with a status subresource; a custom resource has one when its CRD says so. */
const KINDS_WITH_STATUS: SimKind[] = [
  'PersistentVolumeClaim',
  'PersistentVolume',
  'Pod',
  'Node',
  'Namespace',
  'Service',
  'CronJob',
  'Job',
  'Deployment',
  'StatefulSet',
  'PodDisruptionBudget',
  'CustomResourceDefinition',
];

function hasStatus(store: ObjectStore, info: ResourceInfo): boolean {
  const crd = crdFor(store, info);
  return crd === undefined
    ? KINDS_WITH_STATUS.includes(info.kind)
    : hasStatusSubresource(crd, info);
}
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

// --- views: events.k8s.io/v1 is a renamed view of the stored core Event ---------------------

function isEventsV1(info: ResourceInfo): boolean {
  return info.group === 'events.k8s.io';
}

export function toView(info: ResourceInfo, stored: JsonObject): JsonObject {
  return isEventsV1(info) ? coreToEventsV1(stored) : deepCopy(stored);
}

function fromView(info: ResourceInfo, view: JsonObject): JsonObject {
  return isEventsV1(info) ? eventsV1ToCore(view) : view;
}

// --- list -------------------------------------------------------------------------------------

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` }),
  ).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  const invalidToken = (why: string): Error =>
    badRequest(`invalid continue token: continue key is not valid: ${why}`);
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw invalidToken('illegal base64 data at input byte 0');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken('invalid character looking for beginning of value');
  }
  const o = obj(parsed);
  if (o['v'] !== 'meta.k8s.io/v1')
    throw badRequest(
      `invalid continue token: continue key is not valid: server does not recognize this encoded version ${String(o['v'])}`,
    );
  if (typeof o['rv'] !== 'number' || o['rv'] === 0)
    throw badRequest(
      'invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  if (typeof o['start'] !== 'string' || o['start'] === '')
    throw badRequest(
      'invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)',
    );
  return { rv: o['rv'], start: o['start'] };
}

const EXPIRED_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function keyOf(info: ResourceInfo, o: JsonObject): string {
  return objectKey(info.namespaced ? str(meta(o)['namespace']) : undefined, nameOf(o));
}

export interface ListResult {
  items: JsonObject[];
  listMeta: JsonObject;
}

interface Matches {
  /** The matches from the start on, or only the first limit + 1 (see collectMatches). */
  items: JsonObject[];
  /** How many matches there are from the start on (capped likewise). */
  total: number;
}

interface MatchQuery {
  namespace: string | undefined;
  /** True when the request has neither a label nor a field selector. */
  noSelectors: boolean;
  matches: (o: JsonObject) => boolean;
  /** The page size, when the request is paged. */
  limit: number | undefined;
}

/**
 * The objects of `sorted` in [start, end) that are in the namespace and match the selectors.
 * With selectors a page needs only limit + 1 matches (to know whether more remain); without,
 * remainingItemCount needs the count of them all.
 */
function collectMatches(
  sorted: SortedObjects,
  [start, end]: [number, number],
  q: MatchQuery,
): Matches {
  if (q.noSelectors && q.namespace === undefined) {
    const stop = q.limit === undefined ? end : Math.min(end, start + q.limit);
    return { items: sorted.objects.slice(start, stop), total: Math.max(0, end - start) };
  }
  const wanted = q.limit !== undefined && !q.noSelectors ? q.limit + 1 : Number.POSITIVE_INFINITY;
  const items: JsonObject[] = [];
  for (let i = start; i < end && items.length < wanted; i++) {
    const o = sorted.objects[i];
    if (o === undefined || (q.namespace !== undefined && namespaceOf(o) !== q.namespace)) continue;
    if (q.matches(o)) items.push(o);
  }
  return { items, total: items.length };
}

/** The decoded continue parameter, if any; 410 Gone once compaction passed its revision. */
function continueFrom(ctx: ApiContext, token: string | undefined): ContinueToken | undefined {
  if (token === undefined || token === '') return undefined;
  const c = decodeContinue(token);
  if (c.rv < ctx.store.compactedRevision()) throw apiError(410, 'Expired', EXPIRED_MESSAGE);
  return c;
}

/** The index range of `sorted` a list reads: the namespace's keys, after the continue key. */
function scanRange(
  sorted: SortedObjects,
  namespace: string | undefined,
  c: ContinueToken | undefined,
): [number, number] {
  const [first, end] =
    namespace === undefined ? [0, sorted.keys.length] : namespaceRange(sorted, namespace);
  // Store keys are keyOf(info, o), so the items after the token start at a binary search.
  const start = c === undefined ? first : Math.max(first, firstKeyAfter(sorted.keys, c.start));
  return [start, end];
}

/** Items are stored objects (live); callers convert with toView or listItemView. */
export function listObjects(
  ctx: ApiContext,
  target: ResourceTarget,
  query: Record<string, string>,
): ListResult {
  const { info, namespace } = target;
  const labelPred = parseLabelSelector(query['labelSelector']);
  const fieldPred = parseFieldSelector(info.kind, query['fieldSelector']);
  const c = continueFrom(ctx, query['continue']);
  const rv = c?.rv ?? ctx.store.revision();
  const sorted = ctx.store.sorted(info.kind);
  const requested = Number(query['limit'] ?? '0');
  const limit = Number.isInteger(requested) && requested > 0 ? requested : undefined;
  const noSelectors = query['labelSelector'] === undefined && query['fieldSelector'] === undefined;
  const { items, total } = collectMatches(sorted, scanRange(sorted, namespace, c), {
    namespace,
    noSelectors,
    matches: (o) => labelPred(o) && fieldPred(o),
    limit,
  });
  const listMeta: JsonObject = { resourceVersion: String(rv) };
  if (limit === undefined || total <= limit) return { items, listMeta };
  const page = items.slice(0, limit);
  const last = page[page.length - 1];
  listMeta['continue'] = encodeContinue(rv, last ? keyOf(info, last) : '');
  if (noSelectors) listMeta['remainingItemCount'] = total - limit;
  return { items: page, listMeta };
}

/** A list item as served: kind/apiVersion dropped, as the real server does on a typed list. */
function listItemView(info: ResourceInfo, stored: JsonObject): JsonObject {
  // Shallow: the item shares nested objects with the stored one and goes straight to JSON.
  // Stored objects are never mutated in place (put stores a fresh copy), so this is safe.
  const view = isEventsV1(info) ? coreToEventsV1(stored) : { ...stored };
  // A custom resource's items are unstructured objects: they keep kind and apiVersion.
  if (info.crd !== undefined) return view;
  delete view['kind'];
  delete view['apiVersion'];
  return view;
}

/** A list item for read-only use (e.g. a Table row) that is serialised straight away. */
export function listItemReadView(info: ResourceInfo, stored: JsonObject): JsonObject {
  return isEventsV1(info) ? coreToEventsV1(stored) : stored;
}

/**
 * Each stored object's list item as JSON, made once: stored objects are never mutated in place
 * (put stores a fresh copy), so it holds for as long as the object does. A 10,000-PVC pass lists
 * 30,000 objects in pages, and serialising them again on every list was most of the sim's CPU.
 */
const itemJson = new WeakMap<JsonObject, Buffer>();

const COMMA = Buffer.from(',');
const LIST_END = Buffer.from(']}');

function cachedItemJson(info: ResourceInfo, stored: JsonObject): Buffer {
  let json = itemJson.get(stored);
  if (json === undefined) {
    json = Buffer.from(JSON.stringify(listItemView(info, stored)));
    itemJson.set(stored, json);
  }
  return json;
}

/**
 * Serialises every stored object of the kind ahead of its first list (the sim's
 * `preserializeLists`): a benchmark's pass then costs the sim what a list costs an API server
 * with a warm cache, not a JSON.stringify of the whole cluster.
 */
export function warmListJson(info: ResourceInfo, objects: readonly JsonObject[]): void {
  if (isEventsV1(info)) return;
  for (const stored of objects) cachedItemJson(info, stored);
}

/** listBody as JSON bytes, the same bytes JSON.stringify(listBody(...)) gives. */
export function listJson(info: ResourceInfo, result: ListResult): Buffer {
  if (isEventsV1(info)) return Buffer.from(JSON.stringify(listBody(info, result)));
  const head = JSON.stringify({
    kind: `${wireKind(info)}List`,
    apiVersion: apiVersionOf(info),
    metadata: result.listMeta,
    items: [],
  });
  const parts: Buffer[] = [Buffer.from(head.slice(0, -2))];
  for (const [index, stored] of result.items.entries()) {
    if (index > 0) parts.push(COMMA);
    parts.push(cachedItemJson(info, stored));
  }
  parts.push(LIST_END);
  return Buffer.concat(parts);
}

export function listBody(info: ResourceInfo, result: ListResult): JsonObject {
  return {
    kind: `${wireKind(info)}List`,
    apiVersion: apiVersionOf(info),
    metadata: result.listMeta,
    items: result.items.map((o) => listItemView(info, o)),
  };
}

// --- get ------------------------------------------------------------------------------------

export function getStored(ctx: ApiContext, target: ResourceTarget): JsonObject {
  const name = target.name ?? '';
  const found = ctx.store.get(
    target.info.kind,
    target.info.namespaced ? target.namespace : undefined,
    name,
  );
  if (!found) throw notFound(target.info.resource, name, target.info.group);
  return found;
}

// --- shared write helpers --------------------------------------------------------------------

function normalizeQuantities(kind: SimKind, o: JsonObject): void {
  const paths: Partial<Record<SimKind, string[]>> = {
    PersistentVolumeClaim: [
      'spec.resources.requests',
      'spec.resources.limits',
      'status.capacity',
      'status.allocatedResources',
    ],
    PersistentVolume: ['spec.capacity'],
  };
  for (const path of paths[kind] ?? []) {
    const map = readPath(o, path);
    if (!isObject(map)) continue;
    for (const [k, v] of Object.entries(map)) {
      const canonical =
        typeof v === 'string' || typeof v === 'number' ? canonicalQuantity(v) : undefined;
      if (canonical === undefined) {
        throw badRequest(
          `${kind} in version "v1" cannot be handled as a ${kind}: ${QUANTITY_FORMAT_ERROR}`,
        );
      }
      map[k] = canonical;
    }
  }
}

function checkNamespace(target: ResourceTarget, body: JsonObject): void {
  if (!target.info.namespaced) return;
  const md = meta(body);
  const ns = str(md['namespace']);
  if (ns !== undefined && ns !== '' && ns !== target.namespace) {
    throw badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  md['namespace'] = target.namespace;
  body['metadata'] = md;
}

function generateName(prefix: string): string {
  const bytes = randomBytes(5);
  return prefix + [...bytes].map((b) => GENERATE_ALPHABET[b % GENERATE_ALPHABET.length]).join('');
}

function validateEventCreate(info: ResourceInfo, core: JsonObject): void {
  const errs = legacyValidateEvent(eventFields(core), !isEventsV1(info));
  if (isEventsV1(info)) errs.push(...strictEventErrors(core));
  if (errs.length > 0)
    throw invalid('Event', nameOf(core), errs, isEventsV1(info) ? 'events.k8s.io' : '');
  normalizeEventTimes(core);
}

/** As stored and served: MicroTime in UTC with six digits, metav1.Time in whole seconds. */
function normalizeEventTimes(core: JsonObject): void {
  const eventTime = core['eventTime'];
  if (typeof eventTime === 'string') core['eventTime'] = normalizeMicroTime(eventTime);
  const series = core['series'];
  if (isObject(series) && typeof series['lastObservedTime'] === 'string')
    series['lastObservedTime'] = normalizeMicroTime(series['lastObservedTime']);
  // metav1.Time accepts any RFC 3339 precision on input but is stored and served in seconds.
  for (const key of ['firstTimestamp', 'lastTimestamp']) {
    const value = core[key];
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value)))
      core[key] = kubeTime(new Date(value));
  }
}

function validateEventUpdateOrThrow(info: ResourceInfo, next: JsonObject, previous: JsonObject) {
  const errs = validateEventUpdate(next, previous, isEventsV1(info));
  if (errs.length > 0)
    throw invalid('Event', nameOf(next), errs, isEventsV1(info) ? 'events.k8s.io' : '');
  normalizeEventTimes(next);
}

/** Per-kind decoding, defaults and validation of an object about to be stored. */
function prepareKind(kind: SimKind, candidate: JsonObject, existing: JsonObject | undefined): void {
  if (kind === 'Namespace') labelNamespace(candidate);
  else if (kind === 'Secret') prepareSecret(candidate, existing);
  else if (kind === 'MutatingWebhookConfiguration' || kind === 'ValidatingWebhookConfiguration')
    prepareWebhookConfig(kind, candidate);
  else if (kind === 'CustomResourceDefinition') validateCrdWrite(candidate, existing);
  else if (kind === 'VolumeAttributesClass') prepareVolumeAttributesClass(candidate, existing);
}

/**
 * A custom resource's body is decoded before anything else: unknown fields are pruned, and
 * with fieldValidation=Strict they fail the request (Warn's warning header is not simulated).
 */
function decodeWrite(
  ctx: ApiContext,
  target: ResourceTarget,
  candidate: JsonObject,
  patchedFrom: 'patch' | undefined,
): void {
  const crd = crdFor(ctx.store, target.info);
  if (crd === undefined) return;
  const before = patchedFrom === undefined ? undefined : deepCopy(candidate);
  const pruned = decodeCustom(crd, target.info, candidate);
  if (pruned.length > 0 && target.fieldValidation === 'Strict')
    throw strictDecodingError(target.info, pruned, before);
}

// --- create ---------------------------------------------------------------------------------

/** Decoding and metadata handling before validation: namespace, generateName, system fields. */
function prepareCreate(target: ResourceTarget, body: unknown): JsonObject {
  const { info } = target;
  if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
  if (info.kind === 'Event') checkEventDecodes(body, info.version);
  const view = deepCopy(body);
  checkNamespace(target, view);
  const md = meta(view);
  view['metadata'] = md;
  const rv = str(md['resourceVersion']) ?? '';
  if (rv !== '') {
    throw apiError(
      500,
      'InternalError',
      'Internal error occurred: resourceVersion should not be set on objects to be created',
    );
  }
  const prefix = str(md['generateName']) ?? '';
  if ((str(md['name']) ?? '') === '' && prefix !== '') md['name'] = generateName(prefix);
  delete md['uid'];
  delete md['creationTimestamp'];
  const core = fromView(info, view);
  core['kind'] = wireKind(info);
  return core;
}

/** Whether status is a subresource: built-in kinds by the list, custom ones as their CRD says. */
/** A custom resource's create: status dropped, schema defaults and validation, generation. */
function prepareCustomCreate(ctx: ApiContext, info: ResourceInfo, core: JsonObject): void {
  const crd = crdFor(ctx.store, info);
  if (crd === undefined) return;
  // With the status subresource, create cannot set status (the CR strategy drops it).
  if (hasStatus(ctx.store, info)) delete core['status'];
  prepareCustomWrite(crd, info, undefined, core);
}

export async function createObject(
  ctx: ApiContext,
  target: ResourceTarget,
  body: unknown,
  write: WriteRequest,
): Promise<JsonObject> {
  const { info } = target;
  const decoded = prepareCreate(target, body);
  decodeWrite(ctx, target, decoded, undefined);
  if (info.kind === 'Event') validateEventCreate(info, decoded);
  if (nameOf(decoded) === '') {
    throw invalid(
      info.kind,
      '',
      [required('metadata.name', 'name or generateName is required')],
      info.group,
    );
  }
  // NamespaceLifecycle runs before the webhooks: a missing namespace is 404 without a call.
  if (info.namespaced && !ctx.store.get('Namespace', undefined, target.namespace ?? '')) {
    throw notFound('namespaces', target.namespace ?? '');
  }
  // Defaults are applied at decoding, so webhooks see them; mutations pass validation after.
  const defaulted = applySeedDefaults(decoded);
  const sent = listItemReadView(info, defaulted);
  const mutated = await ctx.admission.mutate(
    attrsOf(target, 'CREATE', { object: sent, oldObject: undefined }, write),
    write.warnings,
  );
  const core = applySeedDefaults(mutated === sent ? defaulted : fromView(info, mutated));
  core['kind'] = wireKind(info);
  checkNamespace(target, core);
  normalizeQuantities(info.kind, core);
  prepareKind(info.kind, core, undefined);
  prepareCustomCreate(ctx, info, core);
  await ctx.admission.validate(
    attrsOf(
      target,
      'CREATE',
      { object: listItemReadView(info, core), oldObject: undefined },
      write,
    ),
    write.warnings,
  );
  // The store is checked after the awaits: a create that raced this one wins.
  if (ctx.store.get(info.kind, target.namespace, nameOf(core)))
    throw alreadyExists(info.resource, nameOf(core), info.group);
  if (write.dryRun) return toView(info, core);
  const stored = ctx.store.put(info.kind, core);
  if (info.kind === 'PersistentVolumeClaim') ctx.resize.onPvcWritten(undefined, stored);
  return toView(info, stored);
}

// --- update / patch -------------------------------------------------------------------------

function checkIdentity(target: ResourceTarget, candidate: JsonObject): void {
  const name = str(meta(candidate)['name']);
  if (name !== undefined && name !== target.name) {
    throw badRequest(
      `the name of the object (${name}) does not match the name on the URL (${target.name ?? ''})`,
    );
  }
  checkNamespace(target, candidate);
}

/** Applies the registry strategy: main-resource writes keep status, status writes keep spec. */
function applyStrategy(
  withStatus: boolean,
  subresource: string | undefined,
  existing: JsonObject,
  candidate: JsonObject,
): void {
  if (!withStatus) return;
  if (subresource === 'status') {
    if (existing['spec'] === undefined) delete candidate['spec'];
    else candidate['spec'] = deepCopy(existing['spec']);
    const md = meta(candidate);
    for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
      const old = meta(existing)[key];
      if (old === undefined) Reflect.deleteProperty(md, key);
      else md[key] = deepCopy(old);
    }
    return;
  }
  if (existing['status'] === undefined) delete candidate['status'];
  else candidate['status'] = deepCopy(existing['status']);
}

function withoutVersion(o: JsonObject): JsonObject {
  const copy = deepCopy(o);
  delete meta(copy)['resourceVersion'];
  return copy;
}

function storageClassAllowsExpansion(ctx: ApiContext, name: string): boolean {
  return ctx.store.get('StorageClass', undefined, name)?.['allowVolumeExpansion'] === true;
}

/** True when the client sent a resourceVersion; a stale one is a 409 Conflict. */
function checkPrecondition(
  target: ResourceTarget,
  candidateView: JsonObject,
  existingRv: string | undefined,
): boolean {
  const wantedRv = str(meta(candidateView)['resourceVersion']);
  if (wantedRv === undefined || wantedRv === '') return false;
  if (wantedRv !== existingRv)
    throw conflict(target.info.resource, target.name ?? '', target.info.group);
  return true;
}

/** The update as it would be stored: system fields kept, strategy applied, validated. */
function validatedUpdate(
  ctx: ApiContext,
  target: ResourceTarget,
  existing: JsonObject,
  candidate: JsonObject,
): JsonObject {
  const { info } = target;
  const md = meta(candidate);
  candidate['metadata'] = md;
  md['resourceVersion'] = meta(existing)['resourceVersion'];
  md['uid'] = meta(existing)['uid'];
  md['creationTimestamp'] = meta(existing)['creationTimestamp'];
  candidate['kind'] = existing['kind'];
  candidate['apiVersion'] = existing['apiVersion'];
  applyStrategy(hasStatus(ctx.store, info), target.subresource, existing, candidate);
  if (info.kind === 'Event') validateEventUpdateOrThrow(info, candidate, existing);
  normalizeQuantities(info.kind, candidate);
  prepareKind(info.kind, candidate, existing);
  const crd = crdFor(ctx.store, info);
  if (crd !== undefined) prepareCustomWrite(crd, info, existing, candidate);
  if (info.kind === 'PersistentVolumeClaim' && target.subresource !== 'status') {
    checkPvcUpdate(existing, candidate, {
      allowsExpansion: (c) => storageClassAllowsExpansion(ctx, c),
    });
  }
  return candidate;
}

/** What one attempt of an update needs: the stored object it read and the client's result. */
interface UpdateAttempt {
  existing: JsonObject;
  candidateView: JsonObject;
}

/** Stores an admitted update, and what follows from it: a deletion finished, a resize, a release. */
function storeUpdate(
  ctx: ApiContext,
  kind: SimKind,
  existing: JsonObject,
  candidate: JsonObject,
): JsonObject {
  const before = deepCopy(existing);
  const stored = ctx.store.put(kind, candidate);
  if (finishDeletion(ctx.store, kind, stored)) return stored;
  if (kind === 'PersistentVolumeClaim') ctx.resize.onPvcWritten(before, stored);
  // A pod that finished, or a volume no longer Bound, may free what is being deleted.
  if (kind === 'Pod' || kind === 'PersistentVolume') releaseProtection(ctx.store);
  return stored;
}

/** The attempt lost a race with another writer and, with no precondition, is run again. */
const RETRY = Symbol('retry');

async function tryUpdate(
  ctx: ApiContext,
  target: ResourceTarget,
  { existing, candidateView }: UpdateAttempt,
  write: WriteRequest & { patch: boolean },
): Promise<JsonObject | typeof RETRY> {
  const { info } = target;
  checkIdentity(target, candidateView);
  if (info.kind === 'Event') checkEventDecodes(candidateView, info.version);
  const existingRv = str(meta(existing)['resourceVersion']);
  // Mutating webhooks see the client's object before the strategy resets status or spec, and
  // before the registry compares resourceVersions (a stale update still calls them).
  const oldObject = listItemReadView(info, existing);
  const mutated = await ctx.admission.mutate(
    attrsOf(target, 'UPDATE', { object: candidateView, oldObject }, write),
    write.warnings,
  );
  const precondition = checkPrecondition(target, candidateView, existingRv);
  checkIdentity(target, mutated);
  const candidate = validatedUpdate(ctx, target, existing, fromView(info, mutated));
  await ctx.admission.validate(
    attrsOf(target, 'UPDATE', { object: listItemReadView(info, candidate), oldObject }, write),
    write.warnings,
  );
  const current = getStored(ctx, target);
  if (str(meta(current)['resourceVersion']) !== existingRv) {
    // A PATCH is rebuilt from the new object: a resourceVersion the patch itself sets then
    // fails the precondition check, one it inherited follows the new object.
    if (precondition && !write.patch) throw conflict(info.resource, target.name ?? '', info.group);
    return RETRY;
  }
  // A no-op update leaves resourceVersion alone, as the real registry does.
  if (write.dryRun || deepEqual(withoutVersion(candidate), withoutVersion(existing)))
    return toView(info, write.dryRun ? candidate : existing);
  return toView(info, storeUpdate(ctx, info.kind, existing, candidate));
}

/**
 * rest.GuaranteedUpdate: read, build the new object, admit and validate it, store it if nothing
 * was written meanwhile; otherwise (webhooks take time) start again from the new object.
 */
async function guaranteedUpdate(
  ctx: ApiContext,
  target: ResourceTarget,
  write: WriteRequest & { patch: boolean },
  build: (existing: JsonObject) => JsonObject,
): Promise<JsonObject> {
  for (let attempt = 1; ; attempt++) {
    const existing = getStored(ctx, target);
    const result = await tryUpdate(
      ctx,
      target,
      { existing, candidateView: build(existing) },
      write,
    );
    if (result !== RETRY) return result;
    if (attempt >= 5) throw conflict(target.info.resource, target.name ?? '', target.info.group);
  }
}

function checkSubresource(ctx: ApiContext, target: ResourceTarget): void {
  const sub = target.subresource;
  if (sub !== undefined && !(sub === 'status' && hasStatus(ctx.store, target.info))) {
    throw notFound(target.info.resource, target.name ?? '', target.info.group);
  }
}

export function replaceObject(
  ctx: ApiContext,
  target: ResourceTarget,
  body: unknown,
  write: WriteRequest,
): Promise<JsonObject> {
  checkSubresource(ctx, target);
  if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
  return guaranteedUpdate(ctx, target, { ...write, patch: false }, () => {
    const candidate = deepCopy(body);
    decodeWrite(ctx, target, candidate, undefined);
    return candidate;
  });
}

export interface PatchBody {
  contentType: string;
  body: unknown;
}

export function patchObject(
  ctx: ApiContext,
  target: ResourceTarget,
  patch: PatchBody,
  write: WriteRequest,
): Promise<JsonObject> {
  checkSubresource(ctx, target);
  const type = PATCH_CONTENT_TYPES[patch.contentType];
  if (type === undefined) throw unsupportedPatchType();
  if (type === 'strategic' && target.info.crd !== undefined) throw strategicMergeUnsupported();
  return guaranteedUpdate(ctx, target, { ...write, patch: true }, (existing) => {
    const patched = applyPatch(type, toView(target.info, existing), patch.body);
    decodeWrite(ctx, target, patched, 'patch');
    return patched;
  });
}

export function deleteObject(ctx: ApiContext, target: ResourceTarget): JsonObject {
  const existing = getStored(ctx, target);
  return toView(target.info, deleteStored(ctx.store, target.info.kind, existing, ctx.now()));
}

export function kindInfo(kind: SimKind): ResourceInfo {
  return resourceForKind(kind);
}
