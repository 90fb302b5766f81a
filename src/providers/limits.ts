/**
 * Size limits of the clouds' volume types, and the arithmetic that fits a requested size into them.
 * Pure: the tables are data, the functions take sizes in bytes and return verdicts.
 */
import { verdictOk, verdictRefused, type ProviderVerdict } from './types.js';

export const GIB = 1024n ** 3n;
const TIB_IN_GIB = 1024n;

/**
 * Largest EBS volume per type, in GiB (AWS "Amazon EBS volume types"). gp3 grew from 16 TiB to
 * 64 TiB in 2025; io2 is Block Express everywhere now (64 TiB). `standard` is previous-generation
 * magnetic (1 TiB).
 */
export const EBS_MAX_GIB: Readonly<Record<string, bigint>> = {
  gp2: 16n * TIB_IN_GIB,
  gp3: 64n * TIB_IN_GIB,
  io1: 16n * TIB_IN_GIB,
  io2: 64n * TIB_IN_GIB,
  st1: 16n * TIB_IN_GIB,
  sc1: 16n * TIB_IN_GIB,
  standard: 1n * TIB_IN_GIB,
};

/**
 * Largest Compute Engine disk per type, in GB as the API counts them (`sizeGb`, where a "GB" is
 * 2^30 bytes, i.e. a GiB). Persistent Disk and most Hyperdisk types stop at 64 TiB (65,536 GB);
 * Hyperdisk Throughput at 32 TiB.
 */
export const GCE_MAX_GB: Readonly<Record<string, bigint>> = {
  'pd-standard': 65_536n,
  'pd-balanced': 65_536n,
  'pd-ssd': 65_536n,
  'pd-extreme': 65_536n,
  'hyperdisk-balanced': 65_536n,
  'hyperdisk-balanced-high-availability': 65_536n,
  'hyperdisk-extreme': 65_536n,
  'hyperdisk-ml': 65_536n,
  'hyperdisk-throughput': 32_768n,
};

/**
 * Largest Azure managed disk per SKU (StorageClass `skuName`), in GiB. Premium SSD v2 and Ultra
 * Disk reach 64 TiB; the others 32,767 GiB.
 */
export const AZURE_MAX_GIB: Readonly<Record<string, bigint>> = {
  standard_lrs: 32_767n,
  standardssd_lrs: 32_767n,
  standardssd_zrs: 32_767n,
  premium_lrs: 32_767n,
  premium_zrs: 32_767n,
  premiumv2_lrs: 65_536n,
  ultrassd_lrs: 65_536n,
};

/** Rounds bytes up to a whole number of steps (the clouds resize in whole GiB). */
export function roundUpToStep(bytes: bigint, stepBytes: bigint): bigint {
  const rest = bytes % stepBytes;
  return rest === 0n ? bytes : bytes + stepBytes - rest;
}

export interface SizeLimits {
  /** What the limit is called in messages, e.g. "gp2" or "pd-balanced". */
  label: string;
  maxBytes: bigint | undefined;
  stepBytes: bigint;
}

export interface SizeRequest {
  provider: string;
  fromBytes: bigint;
  toBytes: bigint;
  /** The size the cloud reports for the volume, when it was asked. */
  cloudBytes: bigint | undefined;
  warnings: string[];
}

function gib(bytes: bigint): string {
  return `${bytes / GIB} GiB`;
}

/**
 * Fits the requested size into the volume type's limits: round up to the step, cap at the maximum
 * (with a warning), and refuse with max-size-reached when the volume cannot grow at all.
 */
export function fitSize(req: SizeRequest, limits: SizeLimits): ProviderVerdict {
  const warnings = [...req.warnings];
  let toBytes = roundUpToStep(req.toBytes, limits.stepBytes);
  if (toBytes !== req.toBytes) {
    warnings.push(`rounded up to whole ${gib(limits.stepBytes)} steps: ${gib(toBytes)}`);
  }
  const max = limits.maxBytes;
  if (max !== undefined) {
    const current =
      req.cloudBytes !== undefined && req.cloudBytes > req.fromBytes
        ? req.cloudBytes
        : req.fromBytes;
    if (current >= max) {
      return verdictRefused(
        req.provider,
        'max-size-reached',
        `${limits.label} volumes are at most ${gib(max)}; the volume is ${gib(current)}`,
      );
    }
    if (toBytes > max) {
      warnings.push(`capped at the ${limits.label} maximum of ${gib(max)}`);
      toBytes = max;
    }
  }
  return verdictOk(req.provider, toBytes, warnings);
}
