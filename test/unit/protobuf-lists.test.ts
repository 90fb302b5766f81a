/**
 * The protobuf decoders (src/kube/protobuf.ts, protobuf-lists.ts) against answers captured from a
 * real kube-apiserver v1.37.2 (test/fixtures/protobuf/, re-captured by test/real/capture-protobuf.ts):
 * each list read as protobuf converts to exactly what the same list read as JSON does, and a
 * truncated or corrupted message is an error value, never an exception or a hang.
 */
import { readFileSync } from 'node:fs';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ListBody, PageFormat } from '../../src/kube/client.js';
import { recordMounts } from '../../src/kube/cluster.js';
import { toPersistentVolumeInfo, toPvcSnapshot } from '../../src/kube/convert.js';
import { failureOf } from '../../src/kube/errors.js';
import { POD_PAGES, PV_PAGES, PVC_PAGES } from '../../src/kube/protobuf-lists.js';
import { decodeStatus, PROTOBUF } from '../../src/kube/protobuf.js';
import { HttpStatusError } from '../../src/kube/transport.js';

const DIR = new URL('../fixtures/protobuf/', import.meta.url);

function fixture(name: string): { pb: Buffer; json: Buffer } {
  return {
    pb: readFileSync(new URL(`${name}.pb`, DIR)),
    json: readFileSync(new URL(`${name}.json`, DIR)),
  };
}

function decoded<T>(format: PageFormat<T>, bytes: Buffer, contentType = PROTOBUF): ListBody<T> {
  const page = format.decode({ contentType, bytes });
  if (!page.ok) throw new Error(page.error);
  return page.value;
}

function parsed<T>(bytes: Buffer): ListBody<T> {
  return JSON.parse(bytes.toString('utf8')) as ListBody<T>;
}

/** What the pass reads of every pod: each claim's node, for every claim named. */
function mounts(pods: readonly V1Pod[]): Map<string, string> {
  const nodes = new Map<string, string>();
  recordMounts(pods, { has: () => true }, nodes);
  return nodes;
}

interface ListCase {
  name: string;
  format: PageFormat<never>;
  /** The items as the pass converts them. */
  convert: (items: never[]) => unknown;
}

const LISTS: ListCase[] = [
  {
    name: 'pvcs',
    format: PVC_PAGES as PageFormat<never>,
    convert: (items: V1PersistentVolumeClaim[]) => items.map(toPvcSnapshot),
  },
  {
    name: 'pvcs-page',
    format: PVC_PAGES as PageFormat<never>,
    convert: (items: V1PersistentVolumeClaim[]) => items.map(toPvcSnapshot),
  },
  {
    name: 'pvs',
    format: PV_PAGES as PageFormat<never>,
    convert: (items: V1PersistentVolume[]) => items.map(toPersistentVolumeInfo),
  },
  { name: 'pods', format: POD_PAGES as PageFormat<never>, convert: mounts },
];

describe('protobuf lists', () => {
  it.each(LISTS)('$name: protobuf converts as its JSON does', ({ name, format, convert }) => {
    const { pb, json } = fixture(name);

    const fromProtobuf = decoded(format, pb);
    const fromJson = parsed<never>(json);

    expect(convert(fromProtobuf.items ?? [])).toStrictEqual(convert(fromJson.items ?? []));
    expect(fromProtobuf.metadata).toStrictEqual({
      resourceVersion: fromJson.metadata?.resourceVersion,
      ...(fromJson.metadata?.continue !== undefined && { continue: fromJson.metadata.continue }),
    });
  });

  it.each(LISTS)(
    '$name: the continue token read ahead is the one the decoded page has',
    ({ name, format }) => {
      const { pb } = fixture(name);

      const peeked = format.peekContinue?.({ contentType: PROTOBUF, bytes: pb });

      expect(peeked).toStrictEqual({ ok: true, value: decoded(format, pb).metadata?.continue });
    },
  );

  it('reads no continue token ahead from a JSON page, nor from bytes cut short', () => {
    const { json, pb } = fixture('pvcs-page');

    const fromJson = PVC_PAGES.peekContinue?.({ contentType: 'application/json', bytes: json });
    const cut = PVC_PAGES.peekContinue?.({ contentType: PROTOBUF, bytes: pb.subarray(0, 30) });

    expect(fromJson?.ok).toBe(false);
    expect(cut?.ok).toBe(false);
  });

  it('covers what the fixtures were made for', () => {
    const pvcs = decoded(PVC_PAGES, fixture('pvcs').pb).items?.map(toPvcSnapshot) ?? [];
    const pvs = decoded(PV_PAGES, fixture('pvs').pb).items?.map(toPersistentVolumeInfo) ?? [];
    const pods = mounts(decoded(POD_PAGES, fixture('pods').pb).items ?? []);

    const full = pvcs.find((pvc) => pvc.name === 'full');
    expect(full).toMatchObject({
      labels: { app: 'db', 'pvc-chonker.io/group': 'g1' },
      phase: 'Bound',
      storageClassName: 'fast',
      volumeName: 'pv-csi',
      requestBytes: 10n * 2n ** 30n,
      capacityBytes: 10n * 2n ** 30n,
      conditionTypes: ['Resizing'],
      allocatedResourceStatus: 'ControllerResizeInProgress',
    });
    expect(full?.annotations['note']).toBe('naïve ✓ 日本語 😀');
    expect(pvcs.find((pvc) => pvc.name === 'block')).toMatchObject({
      volumeMode: 'Block',
      storageClassName: '',
      phase: 'Pending',
      volumeName: undefined,
    });
    expect(pvcs.find((pvc) => pvc.name === 'vac')).toMatchObject({
      volumeAttributesClassName: 'gold',
      storageClassName: undefined,
      conditionTypes: ['ControllerResizeError'],
    });
    expect(pvs.find((pv) => pv.name === 'pv-ebs')?.zone).toBe('eu-west-1b');
    expect(pvs.find((pv) => pv.name === 'pv-gce')?.zone).toBe('us-central1-a');
    expect(pvs.find((pv) => pv.name === 'pv-local')?.nodeAffinity).toStrictEqual({
      'topology.topolvm.io/node': ['node-1', 'node-2', 'node-3'],
    });
    expect(pods).toStrictEqual(
      new Map([
        ['pb/full', 'node-1'],
        ['pb/block', 'node-1'],
      ]),
    );
  });

  it('reads a page answered as JSON (a server or proxy without protobuf) as JSON', () => {
    const { json } = fixture('pvcs');

    const page = decoded(PVC_PAGES, json, 'application/json');

    expect(page).toStrictEqual(parsed(json));
  });

  it('says so when an answer is neither protobuf nor JSON', () => {
    const page = PVC_PAGES.decode({ contentType: 'text/html', bytes: Buffer.from('<html>') });

    expect(page).toStrictEqual({
      ok: false,
      error: 'the answer is neither protobuf nor JSON (Content-Type text/html)',
    });
  });
});

describe('protobuf Status', () => {
  it.each(['status-403', 'status-404'])(
    '%s: the error reads as from its JSON (status, reason, message)',
    (name) => {
      const { pb, json } = fixture(name);
      const status = decodeStatus(pb);
      if (!status.ok) throw new Error(status.error);
      const code = Number(name.slice(-3));

      const fromProtobuf = failureOf(new HttpStatusError(code, {}, JSON.stringify(status.value)));
      const fromJson = failureOf(new HttpStatusError(code, {}, json.toString('utf8')));

      expect(fromProtobuf).toStrictEqual(fromJson);
      expect(fromProtobuf.reason).toBe(code === 403 ? 'Forbidden' : 'NotFound');
    },
  );
});

/** Every fixture's protobuf, and what its decoder makes of it. */
const DECODERS: { name: string; decode: (bytes: Buffer) => { ok: boolean } }[] = [
  ...LISTS.map(({ name, format }) => ({
    name,
    decode: (bytes: Buffer) => format.decode({ contentType: PROTOBUF, bytes }),
  })),
  { name: 'status-404', decode: decodeStatus },
  { name: 'status-403', decode: decodeStatus },
];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('malformed protobuf', () => {
  it.each(DECODERS)(
    '$name: every truncation is an error or the same result',
    ({ name, decode }) => {
      const { pb } = fixture(name);
      const whole = decode(pb);
      let errors = 0;

      for (let length = 0; length < pb.length; length++) {
        const result = decode(pb.subarray(0, length));
        if (result.ok) expect(result).toStrictEqual(whole);
        else errors++;
      }

      // Only the envelope's empty trailing fields (contentEncoding, contentType) can go unnoticed.
      expect(errors).toBeGreaterThan(pb.length - 10);
    },
  );

  it.each(DECODERS)('$name: corrupted bytes never throw', ({ name, decode }) => {
    const { pb } = fixture(name);
    const next = random(pb.length);

    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.from(pb);
      for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--)
        bytes[4 + Math.floor(next() * (bytes.length - 4))] = Math.floor(next() * 256);

      expect(() => decode(bytes)).not.toThrow();
    }
  });

  const envelope = (raw: number[]): Buffer =>
    Buffer.from([
      ...[0x6b, 0x38, 0x73, 0x00],
      // typeMeta {2: "Status"}
      ...[0x0a, 0x08, 0x12, 0x06, ...Buffer.from('Status')],
      // raw
      ...[0x12, raw.length, ...raw],
    ]);
  it.each([
    ['no k8s prefix', Buffer.from('{"kind":"Status"}'), 'no k8s\\0 prefix'],
    ['an empty answer', Buffer.alloc(0), 'no k8s\\0 prefix'],
    ['another kind', fixture('pods').pb, 'the object is a PodList'],
    [
      'a varint longer than 10 bytes',
      envelope([0x10, ...Array<number>(10).fill(0xff), 1]),
      'varint',
    ],
    ['a truncated varint', envelope([0x10, 0xff]), 'truncated varint'],
    ['a length past the end', envelope([0x1a, 0x05, 0x41]), 'length past the end'],
    ['field number 0', envelope([0x02, 0x00]), 'field number 0'],
    ['a group (wire type 3)', envelope([0x0b]), 'wire type 3'],
    ['wire type 7', envelope([0x0f]), 'wire type 7'],
    ['a truncated fixed64', envelope([0x09, 1, 2, 3]), 'truncated fixed-width'],
  ])('%s is an error value', (_, bytes, message) => {
    const status = decodeStatus(bytes);

    expect(status.ok).toBe(false);
    if (!status.ok) expect(status.error).toContain(message);
  });

  it('skips fields of every wire type it does not read', () => {
    const message = Buffer.from('gone');
    const raw = [
      ...[0x30, 0x9a, 0x03], // code 410 (varint)
      ...[0x39, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      ...[0x3d, 1, 2, 3, 4], // fixed32
      ...[0x1a, message.length, ...message], // message
      ...[0x22, 0x07, ...Buffer.from('Expired')], // reason
    ];

    expect(decodeStatus(envelope(raw))).toStrictEqual({
      ok: true,
      value: { kind: 'Status', message: 'gone', reason: 'Expired' },
    });
  });
});
