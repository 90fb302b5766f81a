import { describe, expect, it } from 'vitest';
import {
  claimOwner,
  driftBytes,
  driftRows,
  indexStatefulSets,
  parseStatefulSet,
  templateDriftOf,
  type StatefulSetInfo,
} from '../../src/core/drift.js';
import { bytes } from '../builders/snapshots.js';

function statefulSet(
  name: string,
  templates: Record<string, string | undefined>,
  namespace = 'db',
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      volumeClaimTemplates: Object.entries(templates).map(([template, size]) => ({
        metadata: { name: template },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(size === undefined ? {} : { resources: { requests: { storage: size } } }),
        },
      })),
    },
  };
}

function parsed(object: Record<string, unknown>): StatefulSetInfo {
  const set = parseStatefulSet(object);
  if (set === undefined) throw new Error('not a StatefulSet with templates');
  return set;
}

const SETS = [
  parsed(statefulSet('web', { data: '10Gi', logs: '1Gi' })),
  parsed(statefulSet('pg', { data: '50Gi' })),
  parsed(statefulSet('web', { data: '5Gi' }, 'other')),
];

describe('which StatefulSet owns a claim: <template>-<set>-<ordinal>, as the controller names it', () => {
  const index = indexStatefulSets(SETS);

  it.each([
    ['db', 'data-web-0', 'web/data'],
    ['db', 'data-web-12', 'web/data'],
    ['db', 'logs-web-3', 'web/logs'],
    ['db', 'data-pg-0', 'pg/data'],
    ['other', 'data-web-1', 'web/data'],
    ['db', 'data-web', undefined],
    ['db', 'data-web-x', undefined],
    ['db', 'data-web-0-restore', undefined],
    ['db', 'cache-web-0', undefined],
    ['db', 'data-redis-0', undefined],
    ['search', 'data-web-0', undefined],
  ])('%s/%s → %s', (namespace, name, owner) => {
    const found = claimOwner(index, { namespace, name });

    expect(
      found === undefined ? undefined : `${found.statefulSet.name}/${found.template.name}`,
    ).toBe(owner);
  });

  it('two pairs giving one prefix keep the first set by name', () => {
    const sets = [
      parsed(statefulSet('c', { 'a-b': '1Gi' })),
      parsed(statefulSet('b-c', { a: '2Gi' })),
    ];

    const owner = claimOwner(indexStatefulSets(sets), { namespace: 'db', name: 'a-b-c-0' });

    expect(owner?.statefulSet.name).toBe('b-c');
  });

  it('reads no StatefulSet without claim templates, and a template without a size as unknown', () => {
    expect(parseStatefulSet(statefulSet('plain', {}))).toBeUndefined();
    expect(parseStatefulSet({ metadata: { name: 'x' } })).toBeUndefined();
    expect(parsed(statefulSet('s', { data: undefined })).templates).toEqual([
      { name: 'data', requestBytes: undefined },
    ]);
  });
});

describe('template drift', () => {
  const index = indexStatefulSets(SETS);

  it.each([
    ['data-web-0', '10Gi', false],
    ['data-web-1', '15Gi', true],
    ['logs-web-0', '1Gi', false],
  ])('%s at %s: drifted %s', (name, request, drifted) => {
    const drift = templateDriftOf(index, { namespace: 'db', name, requestBytes: bytes(request) });

    expect(drift).toMatchObject({ statefulSet: 'web', pvcBytes: bytes(request) });
    expect(drift !== undefined && drift.templateBytes !== drift.pvcBytes).toBe(drifted);
  });

  it('is undefined for a PVC no StatefulSet owns', () => {
    expect(
      templateDriftOf(index, { namespace: 'db', name: 'scratch', requestBytes: bytes('1Gi') }),
    ).toBeUndefined();
  });

  it('sums per StatefulSet template: the largest claim is the size for the manifests', () => {
    const pvcs = [
      { namespace: 'db', name: 'data-web-0', requestBytes: bytes('15Gi') },
      { namespace: 'db', name: 'data-web-1', requestBytes: bytes('12Gi') },
      { namespace: 'db', name: 'data-web-2', requestBytes: bytes('10Gi') },
      { namespace: 'db', name: 'logs-web-0', requestBytes: bytes('1Gi') },
      { namespace: 'db', name: 'data-pg-0', requestBytes: bytes('50Gi') },
      { namespace: 'db', name: 'unrelated', requestBytes: bytes('99Gi') },
    ];

    const rows = driftRows(SETS, pvcs);

    expect(rows.map((r) => [r.statefulSet, r.template, r.claims, r.driftedClaims])).toEqual([
      ['pg', 'data', 1, 0],
      ['web', 'data', 3, 2],
      ['web', 'logs', 1, 0],
    ]);
    const web = rows[1];
    expect(web?.largestBytes).toBe(bytes('15Gi'));
    expect(web === undefined ? undefined : driftBytes(web)).toBe(bytes('5Gi'));
    expect(rows[0] === undefined ? undefined : driftBytes(rows[0])).toBe(0n);
  });
});
