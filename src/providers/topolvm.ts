/**
 * TopoLVM through the Kubernetes API: only the Nodes that hold a candidate's volume are listed
 * (a label selector on TopoLVM's topology label, as TopoLVM itself finds them), then a pure
 * verdict per volume (topolvm-rule.ts).
 */
import { isRecord } from '../core/json.js';
import { pvcKey } from '../core/pvc.js';
import { chunks, guardedList } from './onprem-kube.js';
import type { ProviderRuntime } from './runtime.js';
import {
  nodeLookupKey,
  topolvmTarget,
  topolvmVerdicts,
  type NodeLookup,
  type TopolvmItem,
  type TopolvmNode,
} from './topolvm-rule.js';
import {
  verdictRefused,
  type ExpansionCandidate,
  type KubeReader,
  type ProviderVerdict,
} from './types.js';

/** Values per `in (...)` selector: keeps the URL well below common proxy limits. */
const NODES_PER_LIST = 50;

function strings(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The Node's name, its value of `labelKey`, and its annotations; undefined if malformed. */
function parseNode(
  item: unknown,
  labelKey: string,
): { value: string; node: TopolvmNode } | undefined {
  const metadata = isRecord(item) ? item['metadata'] : undefined;
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string') return undefined;
  const value = strings(metadata['labels'])[labelKey];
  if (value === undefined) return undefined;
  return { value, node: { name: metadata['name'], annotations: strings(metadata['annotations']) } };
}

/** One list of the Nodes labelled with some of the values; each value gets its lookup. */
async function readChunk(
  labelKey: string,
  values: readonly string[],
  rt: ProviderRuntime,
  kube: KubeReader,
): Promise<[string, NodeLookup][]> {
  const listed = await guardedList(rt, kube, {
    operation: 'list nodes',
    path: '/api/v1/nodes',
    query: { labelSelector: `${labelKey} in (${values.join(',')})`, limit: '500' },
    grant: 'list on nodes',
  });
  if (!listed.ok) {
    return values.map((node) => [
      nodeLookupKey(labelKey, node),
      { kind: 'failed', verdict: listed.verdict },
    ]);
  }
  return listed.items.flatMap((item): [string, NodeLookup][] => {
    const parsed = parseNode(item, labelKey);
    if (parsed === undefined) return [];
    return [[nodeLookupKey(labelKey, parsed.value), { kind: 'found', node: parsed.node }]];
  });
}

async function readNodes(
  items: readonly TopolvmItem[],
  rt: ProviderRuntime,
  kube: KubeReader,
): Promise<Map<string, NodeLookup>> {
  const byLabel = new Map<string, Set<string>>();
  for (const { target } of items) {
    const values = byLabel.get(target.keys.nodeKey) ?? new Set<string>();
    values.add(target.node);
    byLabel.set(target.keys.nodeKey, values);
  }
  const nodes = new Map<string, NodeLookup>();
  for (const [labelKey, values] of byLabel) {
    for (const chunk of chunks([...values].sort(), NODES_PER_LIST)) {
      for (const [key, lookup] of await readChunk(labelKey, chunk, rt, kube))
        nodes.set(key, lookup);
    }
  }
  return nodes;
}

export async function checkTopolvm(
  candidates: readonly ExpansionCandidate[],
  rt: ProviderRuntime,
  kube: KubeReader,
): Promise<Map<string, ProviderVerdict>> {
  const verdicts = new Map<string, ProviderVerdict>();
  const items: TopolvmItem[] = [];
  for (const candidate of candidates) {
    const key = pvcKey(candidate.pvc);
    const target = topolvmTarget(candidate);
    if (target.ok) items.push({ key, candidate, target: target.value });
    else verdicts.set(key, verdictRefused('topolvm', 'provider-error', target.error));
  }
  if (items.length === 0) return verdicts;
  const nodes = await readNodes(items, rt, kube);
  const decided = topolvmVerdicts(items, nodes, rt.options.onpremReserveBytes);
  for (const [key, verdict] of decided) verdicts.set(key, verdict);
  return verdicts;
}
