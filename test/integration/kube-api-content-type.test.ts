/**
 * --kube-api-content-type: the pass reads the PVC, PV and Pod lists as protobuf by default (on
 * the real API server; the simulator answers what it speaks, and a JSON answer is read as JSON)
 * and decides exactly as when it reads them as JSON. Which encoding each page came in is in the
 * CLI's debug log ('list page read').
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER, startTestCluster, type TestCluster } from './test-cluster.js';
import { report, seed, type CliResult } from './harness.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const FLEET = [
  { name: 'full', usedPercent: 95, node: 'node-a', labels: { tier: 'db' } },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-b' },
  { name: 'fixed-class', usedPercent: 95, storageClass: 'fixed', node: 'node-b' },
  { name: 'other-ns', namespace: 'web', usedPercent: 91, node: 'node-b' },
  {
    name: 'local',
    usedPercent: 92,
    node: 'node-c',
    nodeAffinity: { 'kubernetes.io/hostname': ['node-c'] },
  },
  { name: 'unmounted', usedPercent: 99, unmounted: true },
  { name: 'unmanaged', usedPercent: 99, managed: false, node: 'node-c' },
];

const LISTS = ['list persistentvolumeclaims', 'list persistentvolumes', 'list pods'];

/** The Content-Type of each list page the pass read, by operation. */
function pagesRead(result: CliResult): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const line of result.logs) {
    if (line['msg'] !== 'list page read') continue;
    const operation = String(line['operation']);
    const types = found.get(operation) ?? new Set<string>();
    types.add(String(line['contentType']).split(';')[0] ?? '');
    found.set(operation, types);
  }
  return found;
}

describe('--kube-api-content-type', () => {
  it('reads the lists as protobuf by default and decides as with json', async () => {
    const c = (cluster = await startTestCluster(seed(FLEET)));
    const args = ['--dry-run', '--output', 'json', '--log-level', 'debug', '--page-size', '2'];
    const now = ['--now', new Date().toISOString()];

    const byDefault = await c.cli([...args, ...now]);
    const asJson = await c.cli([...args, ...now, '--kube-api-content-type', 'json']);

    expect([byDefault.code, asJson.code]).toEqual([0, 0]);
    const rows = report(byDefault);
    expect(rows.map((row) => `${String(row['name'])}:${String(row['action'])}`)).toEqual([
      'calm:skip',
      'fixed-class:skip',
      'full:would-expand',
      'inodes:would-expand',
      'local:would-expand',
      'unmounted:skip',
      'other-ns:would-expand',
    ]);
    expect(rows).toStrictEqual(report(asJson));
    const read = pagesRead(byDefault);
    expect([...read.keys()].sort()).toEqual(LISTS);
    // The simulator answers JSON (or, once it speaks it, protobuf); the real server protobuf.
    const expected = CLUSTER === 'real' ? ['application/vnd.kubernetes.protobuf'] : undefined;
    for (const operation of LISTS)
      if (expected !== undefined) expect([...(read.get(operation) ?? [])]).toEqual(expected);
    expect(pagesRead(asJson).size).toBe(0);
  });
});
