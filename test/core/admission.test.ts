import { describe, expect, it } from 'vitest';
import {
  admissionSnapshot,
  mutatePvc,
  parseAdmissionReview,
  pointerSegment,
  reviewBody,
  validate,
  type AdmissionRequest,
  type AdmissionSnapshot,
  type JsonPatchOperation,
} from '../../src/core/admission.js';
import { parsePvcGroup, type PvcGroup } from '../../src/core/pvc-group.js';
import { parsePvcPolicy, type PvcPolicy } from '../../src/core/pvc-policy.js';

function policy(name: string, spec: Record<string, unknown>, ns = 'db'): PvcPolicy {
  const parsed = parsePvcPolicy({ metadata: { name, namespace: ns }, spec });
  if (!parsed) throw new Error('policy');
  return parsed;
}

function group(name: string, spec: Record<string, unknown>, currentSize?: string): PvcGroup {
  const status = currentSize === undefined ? {} : { currentSize };
  const parsed = parsePvcGroup({ metadata: { name }, spec, status });
  if (!parsed) throw new Error('group');
  return parsed;
}

function snapshot(policies: PvcPolicy[], groups: PvcGroup[] = []): AdmissionSnapshot {
  return admissionSnapshot(policies, groups);
}

interface PvcInput {
  size?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function pvcObject({ size, labels, annotations }: PvcInput): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: 'data-0' };
  if (labels) metadata['labels'] = labels;
  if (annotations) metadata['annotations'] = annotations;
  const spec: Record<string, unknown> = { accessModes: ['ReadWriteOnce'] };
  if (size !== undefined) spec['resources'] = { requests: { storage: size } };
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec };
}

function request(object: unknown, options: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u-1',
    group: '',
    kind: 'PersistentVolumeClaim',
    namespace: 'db',
    operation: 'CREATE',
    object,
    oldObject: undefined,
    dryRun: false,
    ...options,
  };
}

/** A minimal RFC 6902 add/replace, strict about missing parents (as the API server's is). */
function applyPatch(doc: unknown, ops: readonly JsonPatchOperation[]): unknown {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: unknown = out;
    for (const part of parts) {
      if (typeof parent !== 'object' || parent === null || !(part in parent))
        throw new Error(`missing ${op.path}`);
      parent = (parent as Record<string, unknown>)[part];
    }
    if (typeof parent !== 'object' || parent === null) throw new Error(`no parent ${op.path}`);
    (parent as Record<string, unknown>)[last] = op.value;
  }
  return out;
}

const DB = policy('db', {
  selector: { matchLabels: { app: 'pg' } },
  template: { initialSize: '50Gi' },
});

describe('mutatePvc', () => {
  it.each([
    ['no annotations, small request', { size: '10Gi', labels: { app: 'pg' } }, '50Gi', 'db'],
    [
      'annotations present, no request',
      { labels: { app: 'pg' }, annotations: { team: 'x' } },
      '50Gi',
      'db',
    ],
    ['a larger request is kept', { size: '80Gi', labels: { app: 'pg' } }, '80Gi', 'db'],
    ['an unselected PVC is untouched', { size: '10Gi', labels: { app: 'web' } }, '10Gi', undefined],
  ])('%s', (_case, input: PvcInput, size, policyName) => {
    const object = pvcObject(input);

    const response = mutatePvc(request(object), snapshot([DB]));
    const patched = applyPatch(object, response.patch ?? []) as {
      metadata: { annotations?: Record<string, string> };
      spec: { resources?: { requests: { storage: string } } };
    };

    expect(response.allowed).toBe(true);
    expect(patched.spec.resources?.requests.storage ?? '10Gi').toBe(size);
    expect(patched.metadata.annotations?.['pvc-chonker.io/policy']).toBe(policyName);
    if (policyName === undefined) expect(response.patch).toBeUndefined();
  });

  it('escapes the slash of the annotation key and adds to existing annotations', () => {
    const response = mutatePvc(
      request(pvcObject({ size: '60Gi', labels: { app: 'pg' }, annotations: {} })),
      snapshot([DB]),
    );

    expect(response.patch).toEqual([
      { op: 'add', path: '/metadata/annotations/pvc-chonker.io~1policy', value: 'db' },
    ]);
  });

  it('chooses the highest priority policy, then the first name', () => {
    const low = policy('a-low', { selector: {}, template: { initialSize: '5Gi' } });
    const high = policy('z-high', {
      selector: {},
      priority: 10,
      template: { initialSize: '20Gi' },
    });

    const response = mutatePvc(request(pvcObject({ size: '1Gi' })), snapshot([low, high]));

    expect(response.patch).toContainEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { 'pvc-chonker.io/policy': 'z-high' },
    });
    expect(response.patch).toContainEqual({
      op: 'add',
      path: '/spec/resources/requests/storage',
      value: '20Gi',
    });
  });

  it.each([
    ['by annotation', { annotations: { 'pvc-chonker.io/group': 'es' } }, 'largest', '30Gi'],
    ['by selector', { labels: { app: 'es' } }, 'largest', '30Gi'],
    ['independent group: no raise', { labels: { app: 'es' } }, 'independent', '10Gi'],
  ])('raises a new group member %s', (_case, input: PvcInput, coordination, size) => {
    const es = group(
      'es',
      { selector: { matchLabels: { app: 'es' } }, coordinationPolicy: coordination },
      '30Gi',
    );
    const object = pvcObject({ size: '10Gi', ...input });

    const response = mutatePvc(request(object), snapshot([], [es]));
    const patched = applyPatch(object, response.patch ?? []) as {
      spec: { resources: { requests: { storage: string } } };
    };

    expect(patched.spec.resources.requests.storage).toBe(size);
  });

  it('does not apply the initialSize of an invalid policy, and says so', () => {
    const broken = policy('broken', {
      selector: {},
      template: { initialSize: '50Gi', threshold: 'eighty' },
    });

    const response = mutatePvc(request(pvcObject({ size: '1Gi' })), snapshot([broken]));

    expect(response.patch).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { 'pvc-chonker.io/policy': 'broken' } },
    ]);
    expect(response.warnings).toEqual([
      'PVCPolicy broken is invalid; its initialSize is not applied',
    ]);
  });

  it.each([['UPDATE'], ['DELETE']] as const)('leaves %s alone', (operation) => {
    const response = mutatePvc(
      request(pvcObject({ size: '1Gi', labels: { app: 'pg' } }), { operation }),
      snapshot([DB]),
    );

    expect(response).toEqual({ uid: 'u-1', allowed: true });
  });
});

describe('validate', () => {
  it.each([
    [
      'a bad threshold',
      'CREATE',
      { 'pvc-chonker.io/threshold': 'eighty' },
      false,
      'pvc-chonker.io/threshold: "eighty" is neither a percentage (80%) nor a quantity (10Gi)',
    ],
    ['good settings', 'CREATE', { 'pvc-chonker.io/threshold': '85%' }, true, undefined],
    [
      'a malformed last-expansion on CREATE',
      'CREATE',
      { 'pvc-chonker.io/last-expansion': 'yesterday' },
      false,
      'pvc-chonker.io/last-expansion',
    ],
    [
      'a malformed last-expansion on UPDATE',
      'UPDATE',
      { 'pvc-chonker.io/last-expansion': 'yesterday' },
      true,
      undefined,
    ],
  ] as const)('%s', (_case, operation, annotations, allowed, message) => {
    const response = validate(request(pvcObject({ annotations }), { operation }));

    expect(response.allowed).toBe(allowed);
    if (message === undefined) expect(response.message).toBeUndefined();
    else expect(response.message).toContain(message);
  });

  it('allows an unknown key under the prefix with a warning, and the state on UPDATE too', () => {
    const response = validate(
      request(
        pvcObject({
          annotations: {
            'pvc-chonker.io/treshold': '80%',
            'pvc-chonker.io/expansion-history': '[oops',
          },
        }),
        { operation: 'UPDATE' },
      ),
    );

    expect(response.allowed).toBe(true);
    expect(response.warnings?.[0]).toBe(
      'pvc-chonker.io/treshold is not a pvc-chonker annotation; it is ignored',
    );
    expect(response.warnings?.[1]).toMatch(/^pvc-chonker.io\/expansion-history: /);
  });

  it.each([
    [
      'a template that does not parse',
      { selector: {}, template: { threshold: '150%' } },
      'spec.template.threshold',
    ],
    [
      'maxSize below initialSize',
      { selector: {}, template: { initialSize: '100Gi', maxSize: '50Gi' } },
      'spec.template.maxSize: 50Gi is below spec.template.initialSize 100Gi',
    ],
  ])('refuses a PVCPolicy with %s', (_case, spec, message) => {
    const object = {
      apiVersion: 'pvc-chonker.io/v1alpha1',
      kind: 'PVCPolicy',
      metadata: { name: 'p', namespace: 'db' },
      spec,
    };

    const response = validate(request(object, { group: 'pvc-chonker.io', kind: 'PVCPolicy' }));

    expect(response.allowed).toBe(false);
    expect(response.message).toContain(message);
  });

  it('refuses a PVCGroup naming one member twice, allows a proper one', () => {
    const members = [
      { namespace: 'es', name: 'data-0' },
      { namespace: 'es', name: 'data-0' },
    ];
    const as = { group: 'pvc-chonker.io', kind: 'PVCGroup' };

    const twice = validate(request({ metadata: { name: 'g' }, spec: { members } }, as));
    const once = validate(
      request({ metadata: { name: 'g' }, spec: { members: [members[0]] } }, as),
    );

    expect(twice.allowed).toBe(false);
    expect(twice.message).toBe('spec.members[1]: es/data-0 is listed more than once');
    expect(once.allowed).toBe(true);
  });

  it('allows every other kind and operation untouched', () => {
    const pod = validate(request({ metadata: { name: 'p' } }, { kind: 'Pod' }));
    const del = validate(
      request(pvcObject({ annotations: { 'pvc-chonker.io/threshold': 'x' } }), {
        operation: 'DELETE',
      }),
    );

    expect(pod).toEqual({ uid: 'u-1', allowed: true });
    expect(del).toEqual({ uid: 'u-1', allowed: true });
  });
});

describe('AdmissionReview in and out', () => {
  it.each([
    [{}, 'the body is not an AdmissionReview (kind must be "AdmissionReview")'],
    [
      { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1' },
      'apiVersion "admission.k8s.io/v1beta1" is not admission.k8s.io/v1',
    ],
    [
      {
        kind: 'AdmissionReview',
        apiVersion: 'admission.k8s.io/v1',
        request: { operation: 'CREATE' },
      },
      'request.uid is missing',
    ],
  ])('refuses %j', (body, message) => {
    expect(parseAdmissionReview(body)).toEqual({ ok: false, error: message });
  });

  it('echoes the uid and encodes the patch', () => {
    const body = reviewBody(
      { uid: 'abc', allowed: true, patch: [{ op: 'add', path: '/a', value: 1 }] },
      (s) => Buffer.from(s).toString('base64'),
    );

    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'abc',
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from('[{"op":"add","path":"/a","value":1}]').toString('base64'),
      },
    });
  });

  it('escapes ~ and / in pointer segments', () => {
    expect(pointerSegment('a/b~c')).toBe('a~1b~0c');
  });
});
