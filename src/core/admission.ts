/**
 * Admission decisions of the webhook, pure: an admission.k8s.io/v1 AdmissionRequest and a
 * snapshot of the policy cache in, an AdmissionResponse out. The rules are the pass's own:
 * the annotation parser, the PVCPolicy/PVCGroup parsers, policy choice and group membership
 * are imported, never copied.
 */
import {
  ANNOTATION_PREFIX,
  ANNOTATIONS,
  describeProblem,
  parseAnnotations,
  type AnnotationProblem,
} from './annotations.js';
import { describeFieldProblem } from './describe.js';
import { isRecord } from './json.js';
import type { PvcSnapshot } from './pvc.js';
import {
  choosePolicy,
  indexPolicies,
  parsePvcPolicy,
  policyCandidates,
  policyLayer,
  type PvcPolicy,
} from './pvc-policy.js';
import { groupOf, parsePvcGroup, type PvcGroup } from './pvc-group.js';
import { formatQuantity, parseQuantity } from './quantity.js';
import { err, ok, type Result } from './result.js';
import type { FieldProblem } from './selector.js';

/** The annotation the mutating webhook writes: the PVCPolicy that selected the PVC at creation. */
export const POLICY_ANNOTATION = `${ANNOTATION_PREFIX}policy`;

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The fields of an AdmissionRequest the decisions read, validated at the edge. */
export interface AdmissionRequest {
  uid: string;
  /** The kind of the object (request.kind). */
  group: string;
  kind: string;
  /** The namespace of the request: on CREATE the object itself may not carry one yet. */
  namespace: string;
  operation: Operation;
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

/** RFC 6902 operations; paths escape "/" in keys as "~1" and "~" as "~0". */
export type JsonPatchOperation =
  { op: 'add'; path: string; value: unknown } | { op: 'replace'; path: string; value: unknown };

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  /** Shown to the user (kubectl prints it) when allowed is false. */
  message?: string;
  /** Absent when nothing changes. */
  patch?: JsonPatchOperation[];
  warnings?: string[];
}

/** What the cache holds, as the decisions need it. */
export interface AdmissionSnapshot {
  /**
   * At least every PVCPolicy of the namespace that could select a PVC with these labels (a
   * policy only selects PVCs of its own namespace); choosePolicy decides among them.
   */
  policiesFor(namespace: string, labels: Readonly<Record<string, string>>): readonly PvcPolicy[];
  groups: readonly PvcGroup[];
}

/**
 * The snapshot admission reads, built once per change of the cache: policies indexed by
 * namespace and by one matchLabels pair, so that a request checks the few policies that could
 * select its PVC instead of all of them.
 */
export function admissionSnapshot(
  policies: readonly PvcPolicy[],
  groups: readonly PvcGroup[],
): AdmissionSnapshot {
  const byNamespace = new Map<string, PvcPolicy[]>();
  for (const policy of policies) {
    const list = byNamespace.get(policy.namespace);
    if (list === undefined) byNamespace.set(policy.namespace, [policy]);
    else list.push(policy);
  }
  const indexes = new Map([...byNamespace].map(([ns, list]) => [ns, indexPolicies(list)]));
  return {
    policiesFor(namespace, labels) {
      const index = indexes.get(namespace);
      return index === undefined ? [] : policyCandidates(index, labels);
    },
    groups,
  };
}

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** An admission.k8s.io/v1 AdmissionReview body into a request, or why it is not one. */
export function parseAdmissionReview(body: unknown): Result<AdmissionRequest> {
  if (!isRecord(body) || body['kind'] !== 'AdmissionReview')
    return err('the body is not an AdmissionReview (kind must be "AdmissionReview")');
  if (body['apiVersion'] !== 'admission.k8s.io/v1')
    return err(`apiVersion ${JSON.stringify(body['apiVersion'])} is not admission.k8s.io/v1`);
  const request = body['request'];
  if (!isRecord(request)) return err('the AdmissionReview has no request');
  const uid = text(request['uid']);
  if (uid === undefined || uid === '') return err('request.uid is missing');
  const kind = isRecord(request['kind']) ? request['kind'] : {};
  const operation = OPERATIONS.find((op) => op === request['operation']);
  if (operation === undefined)
    return err(`request.operation ${JSON.stringify(request['operation'])} is not known`);
  return ok({
    uid,
    group: text(kind['group']) ?? '',
    kind: text(kind['kind']) ?? '',
    namespace: text(request['namespace']) ?? '',
    operation,
    object: request['object'],
    oldObject: request['oldObject'],
    dryRun: request['dryRun'] === true,
  });
}

/** The AdmissionReview sent back: the response with the request's uid, the patch base64-encoded. */
export function reviewBody(
  response: AdmissionResponse,
  encodeBase64: (text: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { uid: response.uid, allowed: response.allowed };
  if (response.message !== undefined)
    out['status'] = { code: 403, reason: 'Forbidden', message: response.message };
  if (response.patch !== undefined) {
    out['patchType'] = 'JSONPatch';
    out['patch'] = encodeBase64(JSON.stringify(response.patch));
  }
  if (response.warnings !== undefined && response.warnings.length > 0)
    out['warnings'] = response.warnings;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: out };
}

/** One segment of a JSON pointer (RFC 6901). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function metadataOf(object: unknown): Record<string, unknown> {
  return isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
}

function requestText(object: unknown): string | undefined {
  const spec = isRecord(object) && isRecord(object['spec']) ? object['spec'] : {};
  const resources = isRecord(spec['resources']) ? spec['resources'] : {};
  const requests = isRecord(resources['requests']) ? resources['requests'] : {};
  return text(requests['storage']);
}

/** The PVC of a request as the core's snapshot (a new claim: no status, no uid yet). */
export function admittedPvc(object: unknown, namespace: string): PvcSnapshot {
  const md = metadataOf(object);
  const spec = isRecord(object) && isRecord(object['spec']) ? object['spec'] : {};
  const request = requestText(object);
  const bytes = request === undefined ? undefined : parseQuantity(request);
  return {
    namespace: text(md['namespace']) ?? namespace,
    name: text(md['name']) ?? text(md['generateName']) ?? '',
    uid: text(md['uid']) ?? '',
    resourceVersion: text(md['resourceVersion']) ?? '',
    labels: stringRecord(md['labels']),
    annotations: stringRecord(md['annotations']),
    phase: undefined,
    volumeMode: spec['volumeMode'] === 'Block' ? 'Block' : 'Filesystem',
    storageClassName: text(spec['storageClassName']),
    volumeName: text(spec['volumeName']),
    requestBytes: bytes?.ok === true ? bytes.value : undefined,
    capacityBytes: undefined,
    conditionTypes: [],
    allocatedResourceStatus: undefined,
  };
}

function allow(uid: string, warnings: string[] = []): AdmissionResponse {
  return warnings.length > 0 ? { uid, allowed: true, warnings } : { uid, allowed: true };
}

function deny(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, message };
}

function isPvc(request: AdmissionRequest): boolean {
  return request.group === '' && request.kind === 'PersistentVolumeClaim';
}

function isCrd(request: AdmissionRequest, kind: string): boolean {
  return request.group === 'pvc-chonker.io' && request.kind === kind;
}

// --- mutation --------------------------------------------------------------------------------

interface SizeFloor {
  bytes: bigint;
  why: string;
}

/** The sizes a new PVC must start at: its policy's initialSize and its group's current size. */
function sizeFloors(policy: PvcPolicy | undefined, group: PvcGroup | undefined): SizeFloor[] {
  const floors: SizeFloor[] = [];
  const initial = policy?.extras.initialSizeBytes;
  if (policy !== undefined && initial !== undefined && policyLayer(policy).ok)
    floors.push({ bytes: initial, why: `initialSize of PVCPolicy ${policy.name}` });
  const current = group?.status.currentSizeBytes;
  if (
    group !== undefined &&
    current !== undefined &&
    group.coordinationPolicy === 'largest' &&
    group.problems.length === 0
  )
    floors.push({ bytes: current, why: `current size of PVCGroup ${group.name}` });
  return floors;
}

function annotationOps(object: unknown, key: string, value: string): JsonPatchOperation[] {
  const md = metadataOf(object);
  const path = `/metadata/annotations/${pointerSegment(key)}`;
  // A JSON pointer into a missing object fails: the annotations map is added first.
  if (!isRecord(md['annotations']))
    return [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }];
  return [{ op: 'add', path, value }];
}

function storageOps(object: unknown, size: string): JsonPatchOperation[] {
  const spec = isRecord(object) && isRecord(object['spec']) ? object['spec'] : undefined;
  if (spec === undefined)
    return [{ op: 'add', path: '/spec', value: { resources: { requests: { storage: size } } } }];
  const resources = isRecord(spec['resources']) ? spec['resources'] : undefined;
  if (resources === undefined)
    return [{ op: 'add', path: '/spec/resources', value: { requests: { storage: size } } }];
  if (!isRecord(resources['requests']))
    return [{ op: 'add', path: '/spec/resources/requests', value: { storage: size } }];
  return [{ op: 'add', path: '/spec/resources/requests/storage', value: size }];
}

/**
 * CREATE of a PVC: record the selecting policy, raise the request to the policy's initialSize
 * and the group's current size. Never lowers a request; no patch when nothing changes.
 */
export function mutatePvc(
  request: AdmissionRequest,
  snapshot: AdmissionSnapshot,
): AdmissionResponse {
  if (!isPvc(request) || request.operation !== 'CREATE') return allow(request.uid);
  const pvc = admittedPvc(request.object, request.namespace);
  const policy = choosePolicy(snapshot.policiesFor(pvc.namespace, pvc.labels), pvc).chosen;
  const group = groupOf(snapshot.groups, pvc);
  const patch: JsonPatchOperation[] = [];
  const warnings: string[] = [];
  if (policy !== undefined && pvc.annotations[POLICY_ANNOTATION] !== policy.name)
    patch.push(...annotationOps(request.object, POLICY_ANNOTATION, policy.name));
  if (policy !== undefined && !policyLayer(policy).ok)
    warnings.push(`PVCPolicy ${policy.name} is invalid; its initialSize is not applied`);
  const floor = sizeFloors(policy, group).reduce<SizeFloor | undefined>(
    (best, f) => (best === undefined || f.bytes > best.bytes ? f : best),
    undefined,
  );
  if (floor !== undefined && (pvc.requestBytes === undefined || pvc.requestBytes < floor.bytes)) {
    patch.push(...storageOps(request.object, formatQuantity(floor.bytes)));
    warnings.push(`storage request raised to ${formatQuantity(floor.bytes)}: the ${floor.why}`);
  }
  const response = allow(request.uid, warnings);
  return patch.length > 0 ? { ...response, patch } : response;
}

// --- validation ------------------------------------------------------------------------------

const STATE_KEYS = new Set<string>([ANNOTATIONS.lastExpansion, ANNOTATIONS.expansionHistory]);

function unknownKeyWarning(key: string): string {
  return `${key} is not a pvc-chonker annotation; it is ignored`;
}

/** A PVC's pvc-chonker.io/* annotations, with the pass's parser and the pass's words. */
function validatePvc(request: AdmissionRequest): AdmissionResponse {
  const annotations = stringRecord(metadataOf(request.object)['annotations']);
  const parsed = parseAnnotations(annotations);
  const warnings = parsed.unknownKeys.map(unknownKeyWarning);
  // On UPDATE a broken state annotation must stay fixable, so it is only a warning.
  const tolerated = (p: AnnotationProblem): boolean =>
    request.operation === 'UPDATE' && STATE_KEYS.has(p.key);
  const refused = parsed.problems.filter((p) => !tolerated(p));
  warnings.push(...parsed.problems.filter(tolerated).map(describeProblem));
  if (refused.length > 0) return deny(request.uid, refused.map(describeProblem).join('; '));
  return allow(request.uid, warnings);
}

/** A rule the CRD schema cannot express: the size a PVC starts at is within its max-size. */
function initialSizeProblem(policy: PvcPolicy): FieldProblem | undefined {
  const max = policy.layer.values.maxSizeBytes;
  const initial = policy.extras.initialSizeBytes;
  if (max === undefined || initial === undefined || max >= initial) return undefined;
  return {
    field: 'spec.template.maxSize',
    value: formatQuantity(max),
    message: `is below spec.template.initialSize ${formatQuantity(initial)}`,
  };
}

function validatePolicy(request: AdmissionRequest): AdmissionResponse {
  const policy = parsePvcPolicy(request.object);
  if (policy === undefined) return allow(request.uid);
  const problems = [...policy.problems];
  const sizes = initialSizeProblem(policy);
  if (sizes !== undefined) problems.push(sizes);
  if (problems.length === 0) return allow(request.uid);
  return deny(request.uid, problems.map(describeFieldProblem).join('; '));
}

function validateGroup(request: AdmissionRequest): AdmissionResponse {
  const group = parsePvcGroup(request.object);
  if (group === undefined) return allow(request.uid);
  const problems = [...group.problems];
  const seen = new Set<string>();
  for (const [index, member] of group.members.entries()) {
    const key = `${member.namespace}/${member.name}`;
    if (seen.has(key))
      problems.push({
        field: `spec.members[${index}]`,
        value: key,
        message: `${key} is listed more than once`,
      });
    seen.add(key);
  }
  if (problems.length === 0) return allow(request.uid);
  return deny(request.uid, problems.map(describeFieldProblem).join('; '));
}

/** CREATE and UPDATE of PVCs, PVCPolicies and PVCGroups; everything else is allowed. */
export function validate(request: AdmissionRequest): AdmissionResponse {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow(request.uid);
  if (isPvc(request)) return validatePvc(request);
  if (isCrd(request, 'PVCPolicy')) return validatePolicy(request);
  if (isCrd(request, 'PVCGroup')) return validateGroup(request);
  return allow(request.uid);
}
