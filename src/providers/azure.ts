/**
 * Azure Disk, checked without an SDK or any call: the maximum size of the StorageClass's SKU and
 * whole-GiB steps. What Azure itself knows (the disk's state, its real SKU) is not read.
 */
import { AZURE_MAX_GIB, fitSize, GIB } from './limits.js';
import { storageClassParameter } from './select.js';
import type { ExpansionCandidate, ProviderVerdict } from './types.js';

/** The Azure Disk CSI driver's default when the StorageClass names no SKU. */
export const AZURE_DEFAULT_SKU = 'StandardSSD_LRS';
const FOUR_TIB = 4n * 1024n * GIB;
/** SKUs that can only cross 4 TiB with the VM deallocated (not Premium SSD v2 or Ultra Disk). */
const FOUR_TIB_LIMITED = new Set([
  'standard_lrs',
  'standardssd_lrs',
  'standardssd_zrs',
  'premium_lrs',
  'premium_zrs',
]);

export function azureVerdict(candidate: ExpansionCandidate): ProviderVerdict {
  // skuName (CSI), skuname (its documented lowercase form), storageaccounttype (in-tree).
  const sku =
    storageClassParameter(candidate.storageClass, 'skuName', 'storageAccountType') ??
    AZURE_DEFAULT_SKU;
  const key = sku.toLowerCase();
  const maxGib = AZURE_MAX_GIB[key];
  const warnings: string[] = [];
  if (maxGib === undefined) warnings.push(`unknown Azure disk SKU ${sku}: no maximum size checked`);
  if (
    FOUR_TIB_LIMITED.has(key) &&
    candidate.fromBytes <= FOUR_TIB &&
    candidate.toBytes > FOUR_TIB
  ) {
    warnings.push(
      `${sku} disks of 4 TiB or less grow beyond 4 TiB only while the VM is deallocated`,
    );
  }
  return fitSize(
    {
      provider: 'azure',
      fromBytes: candidate.fromBytes,
      toBytes: candidate.toBytes,
      cloudBytes: undefined,
      warnings,
    },
    { label: sku, maxBytes: maxGib === undefined ? undefined : maxGib * GIB, stepBytes: GIB },
  );
}
