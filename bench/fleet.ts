/**
 * The benchmark's fleet: `managed` annotated PVCs on `nodes` nodes (from the sim's
 * generateFleet), plus as many unmanaged PVCs with their own pods, which the pass must list and
 * pass over without a single extra request.
 */
import { generateFleet, type SimSeed } from '../sim/index.js';

export interface BenchFleetOptions {
  managed: number;
  unmanaged: number;
  nodes: number;
  /** Share of managed PVCs over the 80 % threshold, e.g. 0.1. */
  overThreshold: number;
}

interface SeedObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/**
 * Every PVC i with i % period === 0 is over threshold: an even spread over nodes and namespaces.
 * A share of 0 puts none over (0 % Infinity is 0: PVC 0 was over in every "quiet" fleet).
 */
function usedFraction(share: number): (index: number) => number {
  if (share <= 0) return () => 0.4;
  const period = Math.round(1 / share);
  return (index) => (index % period === 0 ? 0.91 : 0.4);
}

/** Renames the claim, its PV and its pod, and drops the enabled annotation. */
function unmanagedCopy(object: SeedObject): SeedObject {
  const copy = structuredClone(object);
  copy.metadata.name = `other-${copy.metadata.name}`;
  if (copy.kind === 'PersistentVolumeClaim') {
    delete copy.metadata.annotations;
    copy.spec = { ...copy.spec, volumeName: `other-${String(copy.spec?.['volumeName'])}` };
  }
  if (copy.kind === 'PersistentVolume') {
    const claimRef = copy.spec?.['claimRef'] as { name: string };
    copy.spec = { ...copy.spec, claimRef: { ...claimRef, name: `other-${claimRef.name}` } };
  }
  if (copy.kind === 'Pod') {
    const volumes = copy.spec?.['volumes'] as { persistentVolumeClaim: { claimName: string } }[];
    for (const volume of volumes)
      volume.persistentVolumeClaim.claimName = `other-${volume.persistentVolumeClaim.claimName}`;
  }
  return copy;
}

export function benchFleet(options: BenchFleetOptions): SimSeed {
  const managed = generateFleet({
    nodes: options.nodes,
    pvcs: options.managed,
    namespaces: 10,
    usedFraction: usedFraction(options.overThreshold),
  });
  const others = generateFleet({
    nodes: options.nodes,
    pvcs: options.unmanaged,
    namespaces: 10,
    usedFraction: () => 0.95,
  });
  const perClaim = new Set(['PersistentVolumeClaim', 'PersistentVolume', 'Pod']);
  const extra = (others.objects as unknown as SeedObject[])
    .filter((o) => perClaim.has(o.kind))
    .map(unmanagedCopy);
  return {
    objects: [...managed.objects, ...(extra as unknown as SimSeed['objects'])],
    usage: [...managed.usage, ...others.usage.map((u) => ({ ...u, pvc: `other-${u.pvc}` }))],
  };
}

/** How many managed PVCs benchFleet puts over the threshold. */
export function overThresholdCount(options: BenchFleetOptions): number {
  const used = usedFraction(options.overThreshold);
  let count = 0;
  for (let i = 0; i < options.managed; i++) if (used(i) > 0.8) count++;
  return count;
}
