/**
 * The price table and the cluster's VolumeAttributesClasses for one pass, and each PVC's cost
 * context from them. The VolumeAttributesClasses are listed once, and only when a managed PVC's
 * class names a cloud volume type or the PVC names a VolumeAttributesClass: a fleet without typed
 * cloud volumes makes no extra request.
 * Cost is advice: a list that fails leaves the recommendations out, never the pass.
 */
import type { Logger } from 'pino';
import type { PriceTable } from '../core/prices.js';
import { kept } from '../core/kept.js';
import type { PvcSnapshot, StorageClassInfo } from '../core/pvc.js';
import type { CostContext } from '../core/volume-cost.js';
import {
  typeParameter,
  volumeTypeOf,
  type VolumeAttributesClassInfo,
} from '../core/volume-type.js';
import { toVolumeAttributesClassInfo } from '../kube/convert.js';
import { KubeApiError } from '../kube/errors.js';
import type { Coordination } from '../ports.js';

export interface PassPricing {
  prices: PriceTable;
  volumeClasses: readonly VolumeAttributesClassInfo[];
  byName: ReadonlyMap<string, VolumeAttributesClassInfo>;
}

const NO_CLASSES: readonly VolumeAttributesClassInfo[] = [];

function needsVolumeClasses(
  managed: readonly { pvc: PvcSnapshot }[],
  classes: ReadonlyMap<string, StorageClassInfo>,
): boolean {
  // Per class once, not per PVC: a fleet has thousands of PVCs and a few classes.
  const typed = new Set<string>();
  for (const [name, storageClass] of classes)
    if (typeParameter(storageClass.provisioner, storageClass.parameters) !== undefined)
      typed.add(name);
  return managed.some(
    ({ pvc }) =>
      (pvc.volumeAttributesClassName !== undefined && pvc.volumeAttributesClassName !== '') ||
      (pvc.storageClassName !== undefined && typed.has(pvc.storageClassName)),
  );
}

/** Every VolumeAttributesClass, or none when the API does not serve them or may not be read. */
export async function listVolumeClasses(
  coordination: Coordination | undefined,
  pageSize: number,
  log: Logger,
): Promise<readonly VolumeAttributesClassInfo[]> {
  if (coordination === undefined) return NO_CLASSES;
  try {
    const listed = await coordination.listVolumeAttributesClasses(
      pageSize,
      toVolumeAttributesClassInfo,
    );
    return listed.installed ? listed.items : NO_CLASSES;
  } catch (error) {
    const forbidden = error instanceof KubeApiError && error.status === 403;
    log.warn(
      {
        err: error instanceof Error ? error.message : String(error),
        ...(forbidden ? { missingRule: 'list volumeattributesclasses.storage.k8s.io' } : {}),
      },
      'listing volumeattributesclasses failed: no recommendations that name one',
    );
    return NO_CLASSES;
  }
}

/** The pass's pricing; undefined when no price table is configured (no cost at all). */
export async function loadPassPricing(
  deps: { coordination?: Coordination | undefined; log: Logger },
  config: { prices?: PriceTable | undefined; pageSize: number },
  managed: readonly { pvc: PvcSnapshot }[],
  classes: ReadonlyMap<string, StorageClassInfo>,
): Promise<PassPricing | undefined> {
  const { prices } = config;
  if (prices === undefined) return undefined;
  // Decided before the first await: the caller lets go of the listing once both are done.
  const volumeClasses = needsVolumeClasses(managed, classes)
    ? await listVolumeClasses(deps.coordination, config.pageSize, deps.log)
    : NO_CLASSES;
  return { prices, volumeClasses, byName: new Map(volumeClasses.map((c) => [c.name, c])) };
}

type ContextsByClass = Map<StorageClassInfo | undefined, Map<string | undefined, CostContext>>;

/** Per pricing (one a pass), per StorageClass and VolumeAttributesClass: a fleet has a few. */
const contextsOf = new WeakMap<PassPricing, ContextsByClass>();

/**
 * One PVC's cost context; undefined without pricing. It depends only on the PVC's class and
 * VolumeAttributesClass, so the PVCs of a pass share one (read-only) per pair.
 */
export function costContextFor(
  pricing: PassPricing | undefined,
  pvc: PvcSnapshot,
  storageClass: StorageClassInfo | undefined,
): CostContext | undefined {
  if (pricing === undefined) return undefined;
  const byClass = kept(contextsOf, pricing, (): ContextsByClass => new Map());
  const byVac = kept(byClass, storageClass, () => new Map<string | undefined, CostContext>());
  return kept(byVac, pvc.volumeAttributesClassName, () =>
    buildCostContext(pricing, pvc, storageClass),
  );
}

function buildCostContext(
  pricing: PassPricing,
  pvc: PvcSnapshot,
  storageClass: StorageClassInfo | undefined,
): CostContext {
  return {
    volumeType: volumeTypeOf(pvc, storageClass, pricing.byName),
    driver: storageClass?.provisioner,
    currentClass: pvc.volumeAttributesClassName,
    volumeClasses: pricing.volumeClasses,
    prices: pricing.prices,
  };
}

/** Where each cloud's own answer on the type comes from. */
const CLOUD_SOURCES: Readonly<Record<string, string>> = {
  aws: 'EBS DescribeVolumes',
  gcp: 'Compute Engine disk',
};

/** The type the cloud reported for an expansion, which beats what Kubernetes says. */
export function withCloudType(
  context: CostContext | undefined,
  provider: string,
  volumeType: string | undefined,
): CostContext | undefined {
  const source = CLOUD_SOURCES[provider];
  if (context === undefined || volumeType === undefined || source === undefined) return context;
  const cloud = provider === 'aws' ? 'aws' : 'gcp';
  return { ...context, volumeType: { provider: cloud, type: volumeType, source } };
}
