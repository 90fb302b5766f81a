// Kubernetes' protobuf wire format for built-in kinds, encoded from the sim's JSON objects:
// what kube-apiserver sends a client that asks for application/vnd.kubernetes.protobuf.
// Driven by the generated table in proto-schema.ts; the byte order is Go's (gogo) marshal
// order: fields by number, value (non-pointer) fields always written, zero values included,
// pointer fields only when set, empty lists and maps not at all, map entries sorted by key.
import { PROTO_MESSAGES } from './proto-schema.js';

/** One field of a message, by its JSON name ("" for an inline struct such as VolumeSource). */
export interface ProtoField {
  n: number;
  /**
   * A scalar, a special type (time, quantity, intOrString, ...), a message name, or typeMeta:
   * apiVersion and kind, accepted in the JSON and not written (n is 0).
   */
  type: string;
  /** Map key type: the field is a map<key, type>. */
  map?: string;
  repeated?: boolean;
  /** A Go pointer: written only when the JSON has it (and it is not null). */
  pointer?: boolean;
}

export type ProtoMessages = Record<string, Record<string, ProtoField>>;

/** The four bytes before every protobuf-encoded object (runtime.protobufSerializer). */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** A field the table lacks, or a value of the wrong JSON type: a gap to fix, never skipped. */
export class ProtoSchemaError extends Error {
  override name = 'ProtoSchemaError';
}

interface CompiledField extends ProtoField {
  json: string;
  /** message.field, for errors (built once: a path per value would cost a string each). */
  where: string;
}
interface CompiledMessage {
  name: string;
  /** In field-number order, as Go writes them. */
  fields: CompiledField[];
  /** Every JSON key the message accepts, its inline structs' keys included. */
  keys: Set<string>;
}

const compiled = new Map<string, CompiledMessage>();

function compile(name: string): CompiledMessage {
  const found = compiled.get(name);
  if (found !== undefined) return found;
  const table = PROTO_MESSAGES[name];
  if (table === undefined) throw new ProtoSchemaError(`protobuf: no message ${name}`);
  const all = Object.entries(table).map(([json, f]) => ({ ...f, json, where: `${name}.${json}` }));
  // apiVersion and kind (an inline TypeMeta) are JSON only: the envelope carries them.
  const fields = all.filter((f) => f.type !== 'typeMeta').sort((a, b) => a.n - b.n);
  const keys = new Set(all.filter((f) => f.type === 'typeMeta').map((f) => f.json));
  const message = { name, fields, keys };
  compiled.set(name, message);
  for (const f of fields) {
    if (f.json !== '') keys.add(f.json);
    else for (const k of compile(f.type).keys) keys.add(k);
  }
  return message;
}

/** A growable buffer; a nested message reserves one length byte and moves if it needs more. */
class Writer {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(value: number): void {
    this.reserve(10);
    if (value < 0) {
      // Go writes a negative int32/int64 as its 64-bit two's complement: ten bytes.
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.buf[this.pos++] = Number(v);
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  tag(n: number, wire: number): void {
    this.varint(n * 8 + wire);
  }

  string(n: number, value: string): void {
    const length = Buffer.byteLength(value);
    this.tag(n, 2);
    this.varint(length);
    this.reserve(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  bytes(n: number, value: Uint8Array): void {
    this.tag(n, 2);
    this.varint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  double(n: number, value: number): void {
    this.tag(n, 1);
    this.reserve(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
  }

  /** Field `n` as a length-delimited message written by `body`. */
  nested(n: number, body: () => void): void {
    const start = this.begin(n);
    body();
    this.end(start);
  }

  /** Starts field `n`, a length-delimited message; returns where its content starts. */
  begin(n: number): number {
    this.tag(n, 2);
    this.reserve(1);
    return ++this.pos;
  }

  /** Ends the message begun at `start`: its length goes before it. */
  end(start: number): void {
    const length = this.pos - start;
    if (length < 0x80) {
      this.buf[start - 1] = length;
      return;
    }
    let extra = 0;
    for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) extra++;
    this.reserve(extra);
    this.buf.copy(this.buf, start + extra, start, this.pos);
    const end = this.pos + extra;
    this.pos = start - 1;
    this.varint(length);
    this.pos = end;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/** Encoding is synchronous: one buffer serves every message (take() copies the result out). */
const shared = new Writer();

function fail(where: string, value: unknown, expected: string): never {
  throw new ProtoSchemaError(
    `protobuf: ${where} must be ${expected}, got ${JSON.stringify(value)}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type ScalarWriter = (w: Writer, n: number, value: unknown, where: string) => void;

function writeInteger(w: Writer, n: number, value: unknown, where: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(where, value, 'an integer');
  w.tag(n, 0);
  w.varint(value);
}

/** Types written as one field each (proto2, so repeated ones are not packed). */
const SCALARS: Record<string, ScalarWriter> = {
  string(w, n, value, where) {
    if (typeof value !== 'string') fail(where, value, 'a string');
    w.string(n, value);
  },
  bool(w, n, value, where) {
    if (typeof value !== 'boolean') fail(where, value, 'a boolean');
    w.tag(n, 0);
    w.varint(value ? 1 : 0);
  },
  int32: writeInteger,
  int64: writeInteger,
  double(w, n, value, where) {
    if (typeof value !== 'number') fail(where, value, 'a number');
    w.double(n, value);
  },
  bytes(w, n, value, where) {
    if (typeof value !== 'string') fail(where, value, 'base64');
    w.bytes(n, Buffer.from(value, 'base64'));
  },
};

/** The zero values Go marshals for a value field the JSON omits. */
const ZERO: Record<string, unknown> = { string: '', bool: false, int32: 0, int64: 0, double: 0 };

/** metav1.Time: whole seconds (nanos are never sent); MicroTime: microseconds. */
function timestamp(w: Writer, value: unknown, micro: boolean, where: string): void {
  // A zero Time (JSON null) is an empty message; the field itself is still written.
  if (value === null || value === undefined) return;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) fail(where, value, 'an RFC 3339 time');
  const fraction = /\.(\d+)/.exec(value as string)?.[1] ?? '';
  w.tag(1, 0);
  w.varint(Math.floor(ms / 1000));
  w.tag(2, 0);
  w.varint(micro ? Number(fraction.slice(0, 6).padEnd(6, '0')) * 1000 : 0);
}

type SpecialWriter = (w: Writer, value: unknown, where: string) => void;

/** Types with a JSON form of their own, each a message of its own on the wire. */
const SPECIALS: Record<string, SpecialWriter> = {
  time(w, value, where) {
    timestamp(w, value, false, where);
  },
  microtime(w, value, where) {
    timestamp(w, value, true, where);
  },
  quantity(w, value, where) {
    // A zero Quantity marshals as "0".
    const json = value ?? '0';
    if (typeof json !== 'string' && typeof json !== 'number') fail(where, value, 'a quantity');
    w.string(1, String(json));
  },
  intOrString(w, value, where) {
    const json = value ?? 0;
    if (typeof json !== 'number' && typeof json !== 'string')
      fail(where, value, 'an int or a string');
    const isInt = typeof json === 'number';
    w.tag(1, 0);
    w.varint(isInt ? 0 : 1);
    w.tag(2, 0);
    w.varint(isInt ? json : 0);
    w.string(3, isInt ? '' : json);
  },
  fieldsV1(w, value) {
    // The managed fields' JSON document, as raw bytes.
    if (value !== null && value !== undefined) w.bytes(1, Buffer.from(JSON.stringify(value)));
  },
};

/** One value of `type` as field `n` (a repeated field or a map entry calls it per element). */
function writeValue(w: Writer, field: { n: number; type: string }, value: unknown, where: string) {
  const scalar = SCALARS[field.type];
  if (scalar !== undefined) {
    scalar(w, field.n, value, where);
    return;
  }
  const special = SPECIALS[field.type];
  const start = w.begin(field.n);
  if (special !== undefined) special(w, value, where);
  else writeMessage(w, compile(field.type), value ?? {}, where);
  w.end(start);
}

function writeMap(w: Writer, f: CompiledField, value: Record<string, unknown>, where: string) {
  // Go sorts map keys; JavaScript's default sort agrees on the ASCII keys Kubernetes allows.
  const entry = { n: 2, type: f.type };
  for (const key of Object.keys(value).sort()) {
    const start = w.begin(f.n);
    w.string(1, key);
    writeValue(w, entry, value[key], where);
    w.end(start);
  }
}

/** Nil pointers, slices, maps and []byte are not marshalled; a Go value field always is. */
function nilable(f: CompiledField): boolean {
  return f.pointer === true || f.repeated === true || f.map !== undefined || f.type === 'bytes';
}

function writeField(w: Writer, f: CompiledField, value: unknown, where: string): void {
  if (value === undefined || value === null) {
    if (!nilable(f)) writeValue(w, f, f.type in ZERO ? ZERO[f.type] : null, where);
  } else if (f.map !== undefined) {
    if (!isRecord(value)) fail(where, value, 'an object');
    writeMap(w, f, value, where);
  } else if (f.repeated === true) {
    if (!Array.isArray(value)) fail(where, value, 'an array');
    for (const item of value as unknown[]) writeValue(w, f, item, where);
  } else writeValue(w, f, value, where);
}

/** A JSON object as `message`: every key must be a field of it (or of an inline struct in it). */
function writeMessage(w: Writer, message: CompiledMessage, value: unknown, where: string): void {
  if (!isRecord(value)) fail(where, value, `a ${message.name} object`);
  for (const key of Object.keys(value)) {
    if (message.keys.has(key)) continue;
    throw new ProtoSchemaError(`protobuf: ${message.name} has no field ${key} (at ${where})`);
  }
  writeFields(w, message, value, where);
}

function writeFields(
  w: Writer,
  message: CompiledMessage,
  value: Record<string, unknown>,
  where: string,
): void {
  for (const f of message.fields) {
    if (f.json === '') {
      // An inline struct (VolumeSource, PersistentVolumeSource): the same JSON object.
      const start = w.begin(f.n);
      writeFields(w, compile(f.type), value, where);
      w.end(start);
    } else writeField(w, f, value[f.json], f.where);
  }
}

/**
 * The message `name` (e.g. core.v1.PersistentVolumeClaim) for a JSON object, without the
 * envelope: what a list's items hold. apiVersion and kind are in the envelope, not here.
 */
export function encodeMessage(name: string, value: unknown): Buffer {
  shared.pos = 0;
  writeMessage(shared, compile(name), value, name);
  return shared.take();
}

/** A list message from its ListMeta and each item's already-encoded message. */
export function encodeList(listMeta: unknown, items: readonly Buffer[]): Buffer {
  const w = shared;
  w.pos = 0;
  w.nested(1, () => {
    writeMessage(w, compile('meta.v1.ListMeta'), listMeta, 'list metadata');
  });
  for (const item of items) w.bytes(2, item);
  return w.take();
}

/** What goes on the wire: `k8s\0`, then runtime.Unknown{typeMeta, raw, "", ""}. */
export function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const w = new Writer();
  w.buf = Buffer.allocUnsafe(raw.length + 64 + apiVersion.length + kind.length);
  PROTOBUF_MAGIC.copy(w.buf, 0);
  w.pos = PROTOBUF_MAGIC.length;
  w.nested(1, () => {
    w.string(1, apiVersion);
    w.string(2, kind);
  });
  w.bytes(2, raw);
  w.string(3, '');
  w.string(4, '');
  return w.pos === w.buf.length ? w.buf : w.buf.subarray(0, w.pos);
}

/** A metav1.WatchEvent {type, object: RawExtension {raw}}, `raw` being an encoded answer. */
export function encodeWatchEvent(type: string, raw: Buffer): Buffer {
  const w = shared;
  w.pos = 0;
  w.string(1, type);
  w.nested(2, () => {
    w.bytes(1, raw);
  });
  return w.take();
}
