/**
 * The pass's three built-in lists (PVCs, PVs, Pods) read as protobuf: each page is decoded into
 * the fields convert.ts and recordMounts read, shaped as the JSON has them, so the one conversion
 * (toPvcSnapshot, toPersistentVolumeInfo) serves both encodings. Everything else is skipped by its
 * length. A server (or a proxy) that answers JSON instead is read as JSON: the answer's
 * Content-Type decides.
 *
 * Where JSON omits an empty string (a plain Go string with omitempty: volumeName, phase,
 * nodeName, a list's continue) protobuf still sends "": it is read as absent, as in the JSON. A
 * Go pointer (storageClassName, volumeMode, volumeAttributesClassName) is sent only when set, so
 * "" stays "" (storageClassName "" means no class, not the default one).
 */
import type {
  V1ObjectMeta,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimSpec,
  V1PersistentVolumeClaimStatus,
  V1PersistentVolumeSpec,
  V1Pod,
  V1PodSpec,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Volume,
  V1VolumeNodeAffinity,
} from '@kubernetes/client-node';
import { parseJson } from '../core/json.js';
import { err, ok, type Result } from '../core/result.js';
import type { ListBody, PageFormat } from './client.js';
import {
  decodeObject,
  fieldText,
  isProtobuf,
  PROTOBUF,
  quantityEntry,
  stringEntry,
  type WireReader,
} from './protobuf.js';
import type { BytesAnswer } from './transport.js';

type Decode<T> = (r: WireReader, end: number) => T;

type ListMeta = NonNullable<ListBody<never>['metadata']>;

/** A plain Go string with omitempty: "" is absent, as JSON has it. */
function nonEmpty(text: string): string | undefined {
  return text === '' ? undefined : text;
}

/** metav1.ObjectMeta: name 1, namespace 3, uid 5, resourceVersion 6, labels 11, annotations 12. */
function objectMeta(r: WireReader, end: number): V1ObjectMeta {
  const meta: V1ObjectMeta = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    switch (field) {
      case 1:
        meta.name = r.text();
        break;
      case 3:
        meta.namespace = r.text();
        break;
      case 5:
        meta.uid = r.text();
        break;
      case 6:
        meta.resourceVersion = r.text();
        break;
      case 11:
        stringEntry(r, r.valueEnd, (meta.labels ??= {}));
        break;
      case 12:
        stringEntry(r, r.valueEnd, (meta.annotations ??= {}));
        break;
      default:
        r.skipValue();
    }
  }
  return meta;
}

/** VolumeResourceRequirements: requests 2 (limits 1 is not read). */
function requests(r: WireReader, end: number): Record<string, string> {
  const quantities: Record<string, string> = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 2) quantityEntry(r, r.valueEnd, quantities);
    else r.skipValue();
  }
  return quantities;
}

/** PersistentVolumeClaimSpec: resources 2, volumeName 3, storageClassName 5, volumeMode 6, VAC 9. */
function pvcSpec(r: WireReader, end: number): V1PersistentVolumeClaimSpec {
  const spec: V1PersistentVolumeClaimSpec = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    switch (field) {
      case 2:
        spec.resources = { requests: requests(r, r.valueEnd) };
        break;
      case 3: {
        const volumeName = nonEmpty(r.text());
        if (volumeName !== undefined) spec.volumeName = volumeName;
        break;
      }
      case 5:
        spec.storageClassName = r.text();
        break;
      case 6:
        spec.volumeMode = r.text();
        break;
      case 9:
        spec.volumeAttributesClassName = r.text();
        break;
      default:
        r.skipValue();
    }
  }
  return spec;
}

/** PersistentVolumeClaimCondition: type 1, status 2. */
function condition(r: WireReader, end: number): { type: string; status: string } {
  const found = { type: '', status: '' };
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) found.type = r.text();
    else if (field === 2) found.status = r.text();
    else r.skipValue();
  }
  return found;
}

/** PersistentVolumeClaimStatus: phase 1, capacity 3, conditions 4, allocatedResourceStatuses 7. */
function pvcStatus(r: WireReader, end: number): V1PersistentVolumeClaimStatus {
  const status: V1PersistentVolumeClaimStatus = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    switch (field) {
      case 1: {
        const phase = nonEmpty(r.text());
        if (phase !== undefined) status.phase = phase;
        break;
      }
      case 3:
        quantityEntry(r, r.valueEnd, (status.capacity ??= {}));
        break;
      case 4:
        (status.conditions ??= []).push(condition(r, r.valueEnd));
        break;
      case 7:
        stringEntry(r, r.valueEnd, (status.allocatedResourceStatuses ??= {}));
        break;
      default:
        r.skipValue();
    }
  }
  return status;
}

/** PersistentVolumeClaim (and PersistentVolume, Pod): metadata 1, spec 2, status 3. */
function pvc(r: WireReader, end: number): V1PersistentVolumeClaim {
  const claim: V1PersistentVolumeClaim = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) claim.metadata = objectMeta(r, r.valueEnd);
    else if (field === 2) claim.spec = pvcSpec(r, r.valueEnd);
    else if (field === 3) claim.status = pvcStatus(r, r.valueEnd);
    else r.skipValue();
  }
  return claim;
}

/** A message whose string fields 1 and 2 are wanted (CSI driver and volumeHandle, …). */
function twoStrings(r: WireReader, end: number): [string, string] {
  const found: [string, string] = ['', ''];
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) found[0] = r.text();
    else if (field === 2) found[1] = r.text();
    else r.skipValue();
  }
  return found;
}

/** PersistentVolumeSource (inline in the spec's JSON): gcePersistentDisk 1, EBS 2, csi 22. */
function volumeSource(r: WireReader, end: number, spec: V1PersistentVolumeSpec): void {
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) spec.gcePersistentDisk = { pdName: twoStrings(r, r.valueEnd)[0] };
    else if (field === 2) spec.awsElasticBlockStore = { volumeID: twoStrings(r, r.valueEnd)[0] };
    else if (field === 22) {
      const [driver, volumeHandle] = twoStrings(r, r.valueEnd);
      spec.csi = { driver, volumeHandle };
    } else r.skipValue();
  }
}

/** NodeSelectorRequirement: key 1, operator 2, values 3. */
function requirement(r: WireReader, end: number): V1NodeSelectorRequirement {
  const found: V1NodeSelectorRequirement = { key: '', operator: '' };
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) found.key = r.text();
    else if (field === 2) found.operator = r.text();
    else if (field === 3) (found.values ??= []).push(r.text());
    else r.skipValue();
  }
  return found;
}

/** The messages of field 1, each read by `decode` (a repeated field, or one in a message). */
function repeated<T>(r: WireReader, end: number, decode: Decode<T>): T[] {
  const found: T[] = [];
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) found.push(decode(r, r.valueEnd));
    else r.skipValue();
  }
  return found;
}

/** NodeSelectorTerm: matchExpressions 1. */
function term(r: WireReader, end: number): V1NodeSelectorTerm {
  const matchExpressions = repeated(r, end, requirement);
  return matchExpressions.length === 0 ? {} : { matchExpressions };
}

/** VolumeNodeAffinity {required 1: NodeSelector {nodeSelectorTerms 1}}. */
function nodeAffinity(r: WireReader, end: number): V1VolumeNodeAffinity {
  const required = repeated(r, end, (rr, e) => ({ nodeSelectorTerms: repeated(rr, e, term) }));
  const [first] = required;
  return first === undefined ? {} : { required: first };
}

/** PersistentVolumeSpec: capacity 1, the source 2, nodeAffinity 9. */
function pvSpec(r: WireReader, end: number): V1PersistentVolumeSpec {
  const spec: V1PersistentVolumeSpec = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) quantityEntry(r, r.valueEnd, (spec.capacity ??= {}));
    else if (field === 2) volumeSource(r, r.valueEnd, spec);
    else if (field === 9) spec.nodeAffinity = nodeAffinity(r, r.valueEnd);
    else r.skipValue();
  }
  return spec;
}

function pv(r: WireReader, end: number): V1PersistentVolume {
  const volume: V1PersistentVolume = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) volume.metadata = objectMeta(r, r.valueEnd);
    else if (field === 2) volume.spec = pvSpec(r, r.valueEnd);
    else r.skipValue();
  }
  return volume;
}

/** VolumeSource (inline in a volume's JSON): persistentVolumeClaim 10 {claimName 1}. */
function claimOf(r: WireReader, end: number): V1Volume['persistentVolumeClaim'] {
  let claim: V1Volume['persistentVolumeClaim'];
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 10) claim = { claimName: twoStrings(r, r.valueEnd)[0] };
    else r.skipValue();
  }
  return claim;
}

/** Volume: name 1, volumeSource 2. */
function podVolume(r: WireReader, end: number): V1Volume {
  const volume: V1Volume = { name: '' };
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) volume.name = r.text();
    else if (field === 2) {
      const claim = claimOf(r, r.valueEnd);
      if (claim !== undefined) volume.persistentVolumeClaim = claim;
    } else r.skipValue();
  }
  return volume;
}

/** PodSpec: volumes 1 (only claims' are kept), nodeName 10. */
function podSpec(r: WireReader, end: number): V1PodSpec {
  const spec: V1PodSpec = { containers: [] };
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) {
      const volume = podVolume(r, r.valueEnd);
      if (volume.persistentVolumeClaim !== undefined) (spec.volumes ??= []).push(volume);
    } else if (field === 10) {
      const nodeName = nonEmpty(r.text());
      if (nodeName !== undefined) spec.nodeName = nodeName;
    } else r.skipValue();
  }
  return spec;
}

/** A pod's namespace (ObjectMeta's field 3), all recordMounts reads of its metadata. */
function podMeta(r: WireReader, end: number): V1ObjectMeta {
  const namespace = nonEmpty(fieldText(r, end, 3));
  return namespace === undefined ? {} : { namespace };
}

function pod(r: WireReader, end: number): V1Pod {
  const found: V1Pod = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 1) found.metadata = podMeta(r, r.valueEnd);
    else if (field === 2) found.spec = podSpec(r, r.valueEnd);
    else r.skipValue();
  }
  return found;
}

/** ListMeta: resourceVersion 2, continue 3. */
function listMeta(r: WireReader, end: number): ListMeta {
  const meta: ListMeta = {};
  for (let field = r.next(end); field !== 0; field = r.next(end)) {
    if (field === 2) {
      const resourceVersion = nonEmpty(r.text());
      if (resourceVersion !== undefined) meta.resourceVersion = resourceVersion;
    } else if (field === 3) {
      const cont = nonEmpty(r.text());
      if (cont !== undefined) meta.continue = cont;
    } else r.skipValue();
  }
  return meta;
}

/** A list: metadata 1, items 2. */
function list<T>(item: Decode<T>): Decode<ListBody<T>> {
  return (r, end) => {
    const items: T[] = [];
    const body: ListBody<T> = { items };
    for (let field = r.next(end); field !== 0; field = r.next(end)) {
      if (field === 1) body.metadata = listMeta(r, r.valueEnd);
      else if (field === 2) items.push(item(r, r.valueEnd));
      else r.skipValue();
    }
    return body;
  };
}

/** A page answered as JSON (a server or proxy that does not speak protobuf), parsed as now. */
function jsonPage<T>(answer: BytesAnswer): Result<ListBody<T>> {
  const json = parseJson(answer.bytes.toString('utf8'));
  return json.ok
    ? ok(json.value as ListBody<T>)
    : err(`the answer is neither protobuf nor JSON (Content-Type ${answer.contentType})`);
}

/**
 * A list's continue token, from its metadata alone: the API server writes a list's fields in
 * order, so the metadata (1) comes before the items (2) and the rest of the page is not read.
 * A list that does not lead with its metadata gives `led: false`.
 */
function leadingContinue(r: WireReader, end: number): { led: boolean; cont?: string } {
  const field = r.next(end);
  if (field === 0) return { led: true };
  if (field !== 1) return { led: false };
  const { continue: cont } = listMeta(r, r.valueEnd);
  return cont === undefined ? { led: true } : { led: true, cont };
}

/** Pages of `kind` asked for as protobuf, JSON accepted too; decoded by their Content-Type. */
function protobufPages<T>(kind: string, item: Decode<T>): PageFormat<T> {
  const decode = list(item);
  return {
    accept: `${PROTOBUF}, application/json`,
    decode: (answer) =>
      isProtobuf(answer.contentType)
        ? decodeObject(answer.bytes, kind, decode)
        : jsonPage<T>(answer),
    peekContinue: (answer) => {
      if (!isProtobuf(answer.contentType)) return err('a JSON page is read whole');
      const peeked = decodeObject(answer.bytes, kind, leadingContinue);
      if (!peeked.ok) return peeked;
      return peeked.value.led
        ? ok(peeked.value.cont)
        : err(`${kind} does not lead with its metadata`);
    },
  };
}

export const PVC_PAGES = protobufPages('PersistentVolumeClaimList', pvc);
export const PV_PAGES = protobufPages('PersistentVolumeList', pv);
export const POD_PAGES = protobufPages('PodList', pod);
