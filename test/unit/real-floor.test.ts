import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { protobufContinue, realFloorPlan } from '../../bench/real-floor.js';
import type { AuditEntry } from '../real/cluster.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/protobuf/${name}`, import.meta.url));
const tokenOf = (name: string): string =>
  (JSON.parse(fixture(name).toString('utf8')) as { metadata: { continue?: string } }).metadata
    .continue ?? '';

describe('protobufContinue (the real-tier floor reads only the token of a protobuf page)', () => {
  it.each([
    ['pvcs-page', tokenOf('pvcs-page.json')],
    ['pvcs', ''],
    ['pods', ''],
  ])('%s: the continue token the JSON form of the same page has', (name, token) => {
    expect(protobufContinue(fixture(`${name}.pb`))).toBe(token);
  });

  it('a page with a token has a non-empty one (the fixture still pages)', () => {
    expect(tokenOf('pvcs-page.json')).not.toBe('');
  });
});

describe('realFloorPlan', () => {
  const entry = (verb: string, uri: string, resource?: string): AuditEntry => ({
    verb,
    uri,
    user: 'bench',
    status: 200,
    receivedAt: 0,
    ...(resource === undefined ? {} : { resource }),
  });

  it('keeps each list by its first page, protobuf for the kinds the CLI reads so, and every get', () => {
    const plan = realFloorPlan(
      [
        entry('list', '/api/v1/persistentvolumeclaims?limit=500', 'persistentvolumeclaims'),
        entry(
          'list',
          '/api/v1/persistentvolumeclaims?limit=500&continue=abc',
          'persistentvolumeclaims',
        ),
        entry('list', '/apis/storage.k8s.io/v1/storageclasses?limit=500', 'storageclasses'),
        entry('get', '/api/v1/nodes/n1/proxy/stats/summary', 'nodes'),
        entry('patch', '/api/v1/namespaces/a/persistentvolumeclaims/b', 'persistentvolumeclaims'),
      ],
      { url: 'https://127.0.0.1:1', caPem: 'ca', token: 't', concurrency: 16 },
    );
    expect(plan.lists).toEqual([
      { path: '/api/v1/persistentvolumeclaims?limit=500', protobuf: true },
      { path: '/apis/storage.k8s.io/v1/storageclasses?limit=500', protobuf: false },
    ]);
    expect(plan.gets).toEqual(['/api/v1/nodes/n1/proxy/stats/summary']);
  });
});
