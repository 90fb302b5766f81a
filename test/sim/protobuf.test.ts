// The sim's protobuf answers: the encoder's rules and gaps, and content negotiation over HTTP.
// test/real/protobuf.test.ts holds the encoder to the real server's bytes.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { listProtobuf, negotiate, objectProtobuf, watchFrame } from '../../sim/negotiation.js';
import { encodeMessage, ProtoSchemaError } from '../../sim/protobuf.js';
import { bytesRequest, type BytesAnswer } from '../integration/json-request.js';
import { baseSeed } from './fixtures.js';

const PB = 'application/vnd.kubernetes.protobuf';
const PB_JSON = `${PB}, application/json`;
const CRDS = fileURLToPath(new URL('../../cronjob/crds', import.meta.url));

describe('negotiate', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    [PB, 'protobuf'],
    [PB_JSON, 'protobuf'],
    [`application/json, ${PB}`, 'json'],
    [`application/json;q=0.5, ${PB}`, 'protobuf'],
    [`${PB};q=0, application/json`, 'json'],
    ['*/*', 'json'],
    ['application/*', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['text/html', undefined],
    ['application/json;as=Table;v=v1;g=meta.k8s.io', undefined],
  ])('Accept %s: %s', (accept, expected) => {
    expect(negotiate(accept, ['json', 'protobuf'])).toBe(expected);
  });

  it('only JSON for what has no protobuf form', () => {
    expect(negotiate(PB, ['json'])).toBeUndefined();
    expect(negotiate(PB_JSON, ['json'])).toBe('json');
  });
});

describe('the protobuf encoder', () => {
  it('writes the real server’s bytes for an empty PVC list (captured from kube-apiserver 1.37.2)', () => {
    const captured = Buffer.from(
      'k8s\0\n\x1f\n\x02v1\x12\x19PersistentVolumeClaimList\x12\x0b\n\t\n\0\x12\x03215\x1a\0\x1a\0"\0',
      'latin1',
    );

    const encoded = listProtobuf('v1', 'PersistentVolumeClaim', { resourceVersion: '215' }, []);

    expect(encoded.toString('hex')).toBe(captured.toString('hex'));
  });

  it.each([
    [
      'a field the table lacks',
      { spec: { bogus: 1 } },
      /PersistentVolumeClaimSpec has no field bogus/,
    ],
    ['kind below the top', { spec: { kind: 'x' } }, /has no field kind/],
    [
      'a string where a list goes',
      { spec: { accessModes: 'RWO' } },
      /accessModes must be an array/,
    ],
    ['a number where a string goes', { spec: { volumeName: 3 } }, /volumeName must be a string/],
    ['a bad time', { metadata: { creationTimestamp: 'soon' } }, /RFC 3339/],
    ['a boolean quantity', { status: { capacity: { storage: true } } }, /must be a quantity/],
  ])('fails loudly on %s', (_, pvc, message) => {
    expect(() => encodeMessage('core.v1.PersistentVolumeClaim', pvc)).toThrow(ProtoSchemaError);
    expect(() => encodeMessage('core.v1.PersistentVolumeClaim', pvc)).toThrow(message);
  });

  it('writes a negative int32 as ten bytes, as Go does', () => {
    const encoded = encodeMessage('meta.v1.Status', { code: -1 });

    // status "", message "", reason "", then code (field 6): 0x30 and ten bytes.
    expect(encoded.subarray(-11).toString('hex')).toBe('30ffffffffffffffffff01');
  });

  it('writes lengths of 128 bytes and more as multi-byte varints', () => {
    const long = 'x'.repeat(300);

    const encoded = encodeMessage('core.v1.ObjectReference', { name: long });

    // kind "", namespace "", then name (field 3): 0x1a, 300 as 0xac 0x02.
    expect(encoded.subarray(4, 7).toString('hex')).toBe('1aac02');
    expect(encoded.length).toBe(4 + 3 + 300 + 2 * 4);
  });

  it('moves a nested message of 128 bytes and more behind its multi-byte length', () => {
    const long = 'x'.repeat(300);

    const encoded = encodeMessage('meta.v1.Status', { details: { name: long } });

    // details (field 5) is 311 bytes (0xb7 0x02): name (0x0a, 300 as 0xac 0x02), then four "".
    expect(encoded.toString('hex')).toContain(`2ab7020aac02${'78'.repeat(300)}1200`);
  });
});

describe('the sim answers in the negotiated format', () => {
  let sim: SimCluster;
  const get = (path: string, accept: string): Promise<BytesAnswer> =>
    bytesRequest(`${sim.url}${path}`, { accept, token: 'sim-token' });
  const json = (answer: BytesAnswer): Record<string, unknown> =>
    JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([
        { ns: 'a', name: 'one', node: 'n1', labels: { app: 'x' } },
        { ns: 'a', name: 'two', node: 'n2', mode: 'Block' },
        { ns: 'b', name: 'three', bound: false },
      ]),
      crds: CRDS,
      preserialize: true,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each([
    ['PVCs', '/api/v1/persistentvolumeclaims?limit=2', 'PersistentVolumeClaim'],
    ['PVs', '/api/v1/persistentvolumes', 'PersistentVolume'],
    ['pods in a namespace', '/api/v1/namespaces/a/pods', 'Pod'],
    ['nodes', '/api/v1/nodes', 'Node'],
    ['StorageClasses', '/apis/storage.k8s.io/v1/storageclasses', 'StorageClass'],
  ])('a list of %s: the encoding of its JSON', async (_, path, kind) => {
    const asJson = json(await get(path, 'application/json'));

    const answer = await get(path, PB_JSON);

    expect(answer.contentType).toBe(PB);
    const expected = listProtobuf(
      String(asJson['apiVersion']),
      kind,
      asJson['metadata'],
      asJson['items'] as object[],
    );
    expect(answer.body.toString('hex')).toBe(expected.toString('hex'));
  });

  it.each([
    ['a PVC', '/api/v1/namespaces/a/persistentvolumeclaims/one', 200],
    ['a missing PVC: a Status', '/api/v1/namespaces/a/persistentvolumeclaims/nope', 404],
    ['a missing policy: a Status', '/apis/pvc-chonker.io/v1alpha1/namespaces/a/pvcpolicies/x', 404],
    ['an unknown resource', '/api/v1/nopes', 404],
  ])('%s: the encoding of its JSON', async (_, path, status) => {
    const asJson = json(await get(path, 'application/json'));

    const answer = await get(path, PB_JSON);

    expect(answer.status).toBe(status);
    expect(answer.contentType).toBe(PB);
    expect(answer.body.toString('hex')).toBe(objectProtobuf(asJson)?.toString('hex'));
  });

  it('410 Expired, a continue token from before a compaction: a protobuf Status', async () => {
    const first = json(await get('/api/v1/persistentvolumeclaims?limit=1', 'application/json'));
    const token = encodeURIComponent((first['metadata'] as { continue: string }).continue);
    sim.compact();
    const path = `/api/v1/persistentvolumeclaims?limit=1&continue=${token}`;
    const asJson = json(await get(path, 'application/json'));

    const answer = await get(path, PB_JSON);

    expect([answer.status, answer.contentType, asJson['reason']]).toEqual([410, PB, 'Expired']);
    expect(answer.body.toString('hex')).toBe(objectProtobuf(asJson)?.toString('hex'));
  });

  it('a custom resource list is JSON; with protobuf only, a 406 in protobuf', async () => {
    const path = '/apis/pvc-chonker.io/v1alpha1/namespaces/a/pvcpolicies';

    const either = await get(path, PB_JSON);
    const only = await get(path, PB);

    expect([either.status, either.contentType]).toEqual([200, 'application/json']);
    expect([only.status, only.contentType]).toEqual([406, PB]);
    expect(only.body.toString('latin1')).toContain('only the following media types are accepted');
  });

  it('a write answers in protobuf too', async () => {
    const answer = await bytesRequest(`${sim.url}/api/v1/namespaces/a/persistentvolumeclaims`, {
      method: 'POST',
      accept: PB_JSON,
      token: 'sim-token',
      body: {
        metadata: { name: 'made' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const stored = json(
      await get('/api/v1/namespaces/a/persistentvolumeclaims/made', 'application/json'),
    );

    expect([answer.status, answer.contentType]).toEqual([201, PB]);
    expect(answer.body.toString('hex')).toBe(objectProtobuf(stored)?.toString('hex'));
  });

  it('a watch streams length-prefixed WatchEvents', async () => {
    const path = '/api/v1/namespaces/a/persistentvolumeclaims?watch=1&timeoutSeconds=1';
    const asJson = await get(path, 'application/json');

    const answer = await get(path, PB_JSON);

    expect(answer.contentType).toBe(`${PB};stream=watch`);
    const frames = asJson.body
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { type: string; object: unknown })
      .map((e) => watchFrame(e.type, e.object));
    expect(frames.length).toBeGreaterThan(1);
    expect(answer.body.toString('hex')).toBe(Buffer.concat(frames).toString('hex'));
  });

  it('records the answer’s Content-Type in the request log', async () => {
    sim.requests.length = 0;

    await get('/api/v1/persistentvolumes', PB_JSON);
    await get('/api/v1/persistentvolumes', 'application/json');

    await get('/api/v1/persistentvolumes?watch=1&timeoutSeconds=1', PB_JSON);

    expect(sim.requests.map((r) => r.responseContentType)).toEqual([
      PB,
      'application/json',
      `${PB};stream=watch`,
    ]);
  });
});

describe('refusals in the negotiated format', () => {
  let sim: SimCluster;

  beforeAll(async () => {
    sim = await startSimCluster({ seed: baseSeed([]), authentication: { anonymous: false } });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('a 401 is a protobuf Status for a client that prefers protobuf', async () => {
    const path = `${sim.url}/api/v1/persistentvolumeclaims`;
    const asJson = await bytesRequest(path, { accept: 'application/json', token: 'wrong' });

    const answer = await bytesRequest(path, { accept: PB_JSON, token: 'wrong' });

    expect([answer.status, answer.contentType]).toEqual([401, PB]);
    const status = JSON.parse(asJson.body.toString('utf8')) as unknown;
    expect(answer.body.toString('hex')).toBe(objectProtobuf(status)?.toString('hex'));
  });

  it('an Accept of neither is a 406 in JSON', async () => {
    const answer = await bytesRequest(`${sim.url}/api/v1/persistentvolumeclaims`, {
      accept: 'text/html',
      token: 'sim-token',
    });

    expect([answer.status, answer.contentType]).toEqual([406, 'application/json']);
  });
});
