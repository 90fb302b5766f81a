// The generated table (sim/proto-schema.ts) against the generated.proto files it stands for:
// every field's number and wire type as the .proto declares it. Runs where the Go module cache
// holds k8s.io/api and k8s.io/apimachinery (as scripts/build-real-cluster.sh leaves it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROTO_MESSAGES } from '../../sim/proto-schema.js';

const MODULES = join(process.env['GOMODCACHE'] ?? '/root/go/pkg/mod', 'k8s.io');
const VERSION = 'v0.37.2';

/** Table package prefix → .proto file. */
function protoFile(pkg: string): string {
  const [group = '', version = ''] = pkg.split('.');
  if (group === 'meta')
    return join(MODULES, `apimachinery@${VERSION}/pkg/apis/meta/v1/generated.proto`);
  return join(MODULES, `api@${VERSION}/${group}/${version}/generated.proto`);
}

interface ProtoField {
  label: string;
  type: string;
  n: number;
}

/** message name → field name → its declaration, from one .proto file. */
function parseProto(text: string): Map<string, Map<string, ProtoField>> {
  const messages = new Map<string, Map<string, ProtoField>>();
  let current: Map<string, ProtoField> | undefined;
  for (const line of text.split('\n')) {
    const start = /^message (\w+) \{/.exec(line);
    if (start?.[1] !== undefined) {
      current = new Map();
      messages.set(start[1], current);
      continue;
    }
    if (line.startsWith('}')) current = undefined;
    const field =
      /^ {2}(optional|repeated) (map<[^>]+>|[\w.]+) (\w+) = (\d+);/.exec(line) ??
      /^ {2}()(map<[^>]+>) (\w+) = (\d+);/.exec(line);
    if (current !== undefined && field !== null) {
      const [, label = '', type = '', name = '', n = '0'] = field;
      current.set(name, { label, type, n: Number(n) });
    }
  }
  return messages;
}

/** The special types' messages (qualified in other packages' files, bare in their own). */
const SPECIAL_TYPES: Record<string, string> = {
  time: 'Time',
  microtime: 'MicroTime',
  quantity: 'Quantity',
  intOrString: 'IntOrString',
  fieldsV1: 'FieldsV1',
};

const available = existsSync(protoFile('core.v1'));

describe.skipIf(!available)('sim/proto-schema.ts matches the generated.proto files', () => {
  const files = new Map<string, Map<string, Map<string, ProtoField>>>();
  function declared(pkg: string): Map<string, Map<string, ProtoField>> {
    let parsed = files.get(pkg);
    if (parsed === undefined) {
      parsed = parseProto(readFileSync(protoFile(pkg), 'utf8'));
      files.set(pkg, parsed);
    }
    return parsed;
  }

  it.each(Object.keys(PROTO_MESSAGES))('%s', (name) => {
    const pkg = name.split('.').slice(0, 2).join('.');
    const message = declared(pkg).get(name.split('.')[2] ?? '');
    expect(message, `message ${name}`).toBeDefined();

    for (const [json, field] of Object.entries(PROTO_MESSAGES[name] ?? {})) {
      if (field.type === 'typeMeta') continue;
      const found = [...(message?.entries() ?? [])].find(([, f]) => f.n === field.n);
      expect(found, `${name}.${json} = ${String(field.n)}`).toBeDefined();
      const [protoName = '', decl] = found ?? [];
      // The proto name is the JSON name but for inline structs (VolumeSource) and a few
      // capitalised ones (FieldsV1's Raw).
      if (json !== '') expect(protoName.toLowerCase()).toBe(json.toLowerCase());
      expect(decl?.label === 'repeated', `${name}.${json} repeated`).toBe(field.repeated === true);
      const type = decl?.type ?? '';
      if (field.map !== undefined) expect(type, `${name}.${json}`).toMatch(/^map<string, /);
      else if (SPECIAL_TYPES[field.type] !== undefined)
        expect(type.split('.').pop(), `${name}.${json}`).toBe(SPECIAL_TYPES[field.type]);
      else if (['string', 'bool', 'int32', 'int64', 'double', 'bytes'].includes(field.type))
        expect(type, `${name}.${json}`).toBe(field.type);
      else expect(type.split('.').pop(), `${name}.${json}`).toBe(field.type.split('.').pop());
    }
  });
});
