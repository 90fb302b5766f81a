/**
 * TopoLVM: a volume is a logical volume in one node's volume group, so it can grow only by what
 * that volume group (TopoLVM's "device class") still has free. TopoLVM's node plugin publishes the
 * free bytes of each device class on its Node, as the annotation capacity.topolvm.io/<class>, and
 * finds a volume's node by the topology key topology.topolvm.io/node (topolvm/topolvm
 * constants.go, internal/driver/internal/k8s/node_service.go). Pure: the Nodes come in as data.
 */
import { formatQuantity } from '../core/quantity.js';
import { err, ok, type Result } from '../core/result.js';
import { belowMinIncrease, fitStep, showBytes, showStep } from './onprem-fit.js';
import { storageClassParameter, TOPOLVM_DRIVERS } from './select.js';
import {
  verdictOk,
  verdictRefused,
  type ExpansionCandidate,
  type ProviderVerdict,
} from './types.js';

/** The annotation suffix of the default device class (TopoLVM names it "" in StorageClasses). */
export const TOPOLVM_DEFAULT_CLASS = '00default';

/** TopoLVM's keys are built from its driver name (topolvm.io, formerly topolvm.cybozu.com). */
export interface TopolvmKeys {
  /** Node label and PV topology key naming the node: topology.topolvm.io/node. */
  nodeKey: string;
  /** Node annotation prefix of the free bytes per device class: capacity.topolvm.io/. */
  capacityPrefix: string;
  /** StorageClass parameter naming the device class: topolvm.io/device-class. */
  deviceClassKey: string;
}

export function topolvmKeys(driver: string): TopolvmKeys {
  return {
    nodeKey: `topology.${driver}/node`,
    capacityPrefix: `capacity.${driver}/`,
    deviceClassKey: `${driver}/device-class`,
  };
}

/** Where a volume's free space is read: its node (the topology value) and its device class. */
export interface TopolvmTarget {
  keys: TopolvmKeys;
  /** The value of the PV's topology.topolvm.io/node requirement: the Node carrying that label. */
  node: string;
  /** The device class as the StorageClass names it; "" is the default class. */
  deviceClass: string;
  /** The Node annotation holding the class's free bytes. */
  annotation: string;
}

function driverOf(candidate: ExpansionCandidate): string {
  const named = [candidate.pv?.csiDriver, candidate.storageClass?.provisioner];
  return named.find((d) => d !== undefined && TOPOLVM_DRIVERS.includes(d)) ?? 'topolvm.io';
}

/** The node and device class of a TopoLVM volume, or why they cannot be known. */
export function topolvmTarget(candidate: ExpansionCandidate): Result<TopolvmTarget> {
  const keys = topolvmKeys(driverOf(candidate));
  const nodes = candidate.pv?.nodeAffinity[keys.nodeKey] ?? [];
  const node = nodes[0];
  if (node === undefined || nodes.length > 1) {
    const found = nodes.length === 0 ? 'none' : nodes.join(', ');
    return err(
      `the PersistentVolume names no single node in its node affinity on ${keys.nodeKey} (found: ${found})`,
    );
  }
  const deviceClass = storageClassParameter(candidate.storageClass, keys.deviceClassKey) ?? '';
  const annotation = `${keys.capacityPrefix}${deviceClass === '' ? TOPOLVM_DEFAULT_CLASS : deviceClass}`;
  return ok({ keys, node, deviceClass, annotation });
}

/** A Node as TopoLVM's capacity lookup sees it: its name and annotations. */
export interface TopolvmNode {
  name: string;
  annotations: Readonly<Record<string, string>>;
}

/** What the read of a node gave: the Node, or a verdict for its volumes (a failed list). */
export type NodeLookup =
  { kind: 'found'; node: TopolvmNode } | { kind: 'failed'; verdict: ProviderVerdict };

export interface TopolvmItem {
  key: string;
  candidate: ExpansionCandidate;
  target: TopolvmTarget;
}

/** TopoLVM writes the free bytes as a plain unsigned integer (strconv.FormatUint). */
export function parseFreeBytes(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return undefined;
  return BigInt(text);
}

function className(target: TopolvmTarget): string {
  return target.deviceClass === '' ? `${TOPOLVM_DEFAULT_CLASS} (default)` : target.deviceClass;
}

interface Room {
  free: bigint;
  reserve: bigint;
  taken: bigint;
}

function showRoom(room: Room): string {
  const parts = [`${showBytes(room.free)} free`];
  if (room.reserve > 0n)
    parts.push(`${formatQuantity(room.reserve)} kept free by --onprem-reserve`);
  if (room.taken > 0n) parts.push(`${showBytes(room.taken)} granted to earlier PVCs this run`);
  return parts.join(', ');
}

/** The node's name and its device class's free bytes, or the provider-error saying why not. */
function freeBytesOf(
  target: TopolvmTarget,
  lookup: NodeLookup | undefined,
): Result<{ node: string; free: bigint }, ProviderVerdict> {
  if (lookup === undefined) {
    return err(
      verdictRefused(
        'topolvm',
        'provider-error',
        `no Node has the label ${target.keys.nodeKey}=${target.node} (the PV's node)`,
      ),
    );
  }
  if (lookup.kind === 'failed') return err(lookup.verdict);
  const text = lookup.node.annotations[target.annotation];
  const free = parseFreeBytes(text);
  if (free !== undefined) return ok({ node: lookup.node.name, free });
  const why =
    text === undefined
      ? `has no annotation ${target.annotation} (is TopoLVM's node plugin running there, serving device class ${className(target)}?)`
      : `has ${target.annotation}: ${JSON.stringify(text)}, not a byte count`;
  return err(verdictRefused('topolvm', 'provider-error', `node ${lookup.node.name} ${why}`));
}

function verdictFor(item: TopolvmItem, node: string, room: Room): ProviderVerdict {
  const { candidate, target } = item;
  const wanted = candidate.toBytes - candidate.fromBytes;
  const fit = fitStep({
    fromBytes: candidate.fromBytes,
    toBytes: candidate.toBytes,
    minIncreaseBytes: candidate.minIncreaseBytes,
    roomBytes: room.free - room.reserve - room.taken,
  });
  const where = `node ${node}, device class ${className(target)}: ${showRoom(room)}`;
  switch (fit.kind) {
    case 'whole':
      return verdictOk('topolvm', candidate.toBytes, []);
    case 'partial':
      return verdictOk('topolvm', fit.toBytes, [
        `only ${showStep(fit.toBytes - candidate.fromBytes)} of ${showStep(wanted)} fits (${where})`,
      ]);
    case 'none':
      return verdictRefused(
        'topolvm',
        'provider-capacity',
        `${showStep(wanted)} does not fit on ${where}${belowMinIncrease(fit.largestBytes, candidate.minIncreaseBytes)}`,
      );
  }
}

/**
 * A verdict per item, in the pass's order: expansions on the same node and device class share its
 * free bytes, the first decided taking first. `nodes` is keyed by nodeLookupKey.
 */
export function topolvmVerdicts(
  items: readonly TopolvmItem[],
  nodes: ReadonlyMap<string, NodeLookup>,
  reserveBytes: bigint,
): Map<string, ProviderVerdict> {
  const verdicts = new Map<string, ProviderVerdict>();
  const taken = new Map<string, bigint>();
  for (const item of items) {
    const found = freeBytesOf(
      item.target,
      nodes.get(nodeLookupKey(item.target.keys.nodeKey, item.target.node)),
    );
    if (!found.ok) {
      verdicts.set(item.key, found.error);
      continue;
    }
    const { node, free } = found.value;
    const pool = `${node}\u0000${item.target.annotation}`;
    const room = { free, reserve: reserveBytes, taken: taken.get(pool) ?? 0n };
    const verdict = verdictFor(item, node, room);
    verdicts.set(item.key, verdict);
    if (verdict.ok) taken.set(pool, room.taken + (verdict.toBytes - item.candidate.fromBytes));
  }
  return verdicts;
}

/** How a target's node is found among the listed Nodes: by its topology label and value. */
export function nodeLookupKey(nodeKey: string, node: string): string {
  return `${nodeKey}=${node}`;
}
