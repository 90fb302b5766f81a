// Content negotiation as kube-apiserver does it, and its protobuf answers: a built-in kind is
// served as application/vnd.kubernetes.protobuf when the Accept header prefers it; a custom
// resource only as JSON (a protobuf-only Accept is refused 406); an error Status in whatever
// the client prefers, custom resources' included.
import { apiVersionOf, wireKind, type ResourceInfo } from './resources.js';
import {
  encodeList,
  encodeMessage,
  encodeWatchEvent,
  envelope,
  PROTOBUF_CONTENT_TYPE,
} from './protobuf.js';
import { PROTO_MESSAGES } from './proto-schema.js';

export type MediaFormat = 'json' | 'protobuf';

export const JSON_ONLY: readonly MediaFormat[] = ['json'];
export const JSON_OR_PROTOBUF: readonly MediaFormat[] = ['json', 'protobuf'];

export const CONTENT_TYPES: Record<MediaFormat, string> = {
  json: 'application/json',
  protobuf: PROTOBUF_CONTENT_TYPE,
};

interface Clause {
  type: string;
  q: number;
  /** An `as=` parameter: a conversion (Table, discovery) that other endpoints serve. */
  conversion: boolean;
}

function parseAccept(accept: string): Clause[] {
  const clauses: Clause[] = [];
  for (const part of accept.split(',')) {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    if (type === '') continue;
    let q = 1;
    let conversion = false;
    for (const p of rest) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k === 'q') q = Number(v);
      else if (k === 'as') conversion = true;
    }
    clauses.push({ type: type.toLowerCase(), q: Number.isNaN(q) ? 0 : q, conversion });
  }
  // goautoneg: by q, most preferred first; a stable sort keeps the client's order of equals.
  return clauses.sort((a, b) => b.q - a.q);
}

function formatOf(type: string, offered: readonly MediaFormat[]): MediaFormat | undefined {
  if (type === 'application/json') return 'json';
  if (type === PROTOBUF_CONTENT_TYPE) return offered.includes('protobuf') ? 'protobuf' : undefined;
  if (type === '*/*' || type === 'application/*') return offered[0];
  return undefined;
}

/**
 * The first acceptable clause of `accept` (by q, then order) that the server offers, or
 * undefined (a 406). No Accept header at all is JSON. Clauses asking for a conversion
 * (as=Table) are for other answers and never select a plain object here.
 */
export function negotiate(
  accept: string | undefined,
  offered: readonly MediaFormat[],
): MediaFormat | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  for (const clause of parseAccept(accept)) {
    if (clause.q <= 0 || clause.conversion) continue;
    const format = formatOf(clause.type, offered);
    if (format !== undefined) return format;
  }
  return undefined;
}

/** Go packages (k8s.io/api/...) of the built-in API groups whose kinds the table holds. */
const PACKAGE_OF_GROUP: Record<string, string> = {
  '': 'core',
  'storage.k8s.io': 'storage',
  'events.k8s.io': 'events',
  'admissionregistration.k8s.io': 'admissionregistration',
  'rbac.authorization.k8s.io': 'rbac',
  batch: 'batch',
  apps: 'apps',
  policy: 'policy',
};

function messageName(apiVersion: string, kind: string): string | undefined {
  if (apiVersion === 'v1' && kind === 'Status') return 'meta.v1.Status';
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const pkg = PACKAGE_OF_GROUP[group];
  if (pkg === undefined) return undefined;
  const name = `${pkg}.${version}.${kind}`;
  return name in PROTO_MESSAGES ? name : undefined;
}

/** Whether the sim answers this resource in protobuf (a built-in kind the table covers). */
export function servesProtobuf(info: ResourceInfo): boolean {
  return (
    info.crd === undefined && messageName(apiVersionOf(info), `${wireKind(info)}List`) !== undefined
  );
}

/** An object or Status as kube-apiserver's protobuf answer, or undefined if not a table kind. */
export function objectProtobuf(value: unknown): Buffer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { apiVersion, kind } = value as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const name = messageName(apiVersion, kind);
  if (name === undefined) return undefined;
  return envelope(apiVersion, kind, encodeMessage(name, value));
}

/**
 * Each stored object's list item as protobuf, made once (stored objects are never mutated in
 * place, see api.ts's itemJson): a list of 10,000 PVCs is then a concatenation.
 */
const itemProtobuf = new WeakMap<object, Buffer>();

function cachedItem(message: string, stored: object): Buffer {
  let bytes = itemProtobuf.get(stored);
  if (bytes === undefined) {
    bytes = encodeMessage(message, stored);
    itemProtobuf.set(stored, bytes);
  }
  return bytes;
}

/** A list page as protobuf: `k8s\0` + Unknown{apiVersion, kind List, List{metadata, items}}. */
export function listProtobuf(
  apiVersion: string,
  kind: string,
  listMeta: unknown,
  items: readonly object[],
): Buffer {
  const message = messageName(apiVersion, kind);
  if (message === undefined) throw new Error(`no protobuf message for ${apiVersion} ${kind}`);
  const raw = encodeList(
    listMeta,
    items.map((o) => cachedItem(message, o)),
  );
  return envelope(apiVersion, `${kind}List`, raw);
}

/** Encodes every object of a kind ahead of its first protobuf list (preserialize). */
export function warmListProtobuf(info: ResourceInfo, items: readonly object[]): void {
  if (info.crd !== undefined) return;
  const message = messageName(apiVersionOf(info), wireKind(info));
  if (message === undefined) return;
  for (const o of items) cachedItem(message, o);
}

export const WATCH_CONTENT_TYPES: Record<MediaFormat, string> = {
  json: 'application/json',
  protobuf: `${PROTOBUF_CONTENT_TYPE};stream=watch`,
};

/**
 * One event of a protobuf watch stream: a 4-byte big-endian length, then a metav1.WatchEvent
 * {type, object: RawExtension {raw: the object as a protobuf answer}}.
 */
export function watchFrame(type: string, object: unknown): Buffer {
  const raw = objectProtobuf(object);
  if (raw === undefined) throw new Error(`no protobuf message for a watched ${typeof object}`);
  const event = encodeWatchEvent(type, raw);
  const frame = Buffer.allocUnsafe(4 + event.length);
  frame.writeUInt32BE(event.length, 0);
  event.copy(frame, 4);
  return frame;
}
