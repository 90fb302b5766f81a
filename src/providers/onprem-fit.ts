/**
 * The step an on-premises volume may take when its node or disk has a hard amount of room: the
 * whole step, else the largest whole-GiB size that fits if that still meets min-increase, else
 * none. Pure: sizes in bytes.
 */
import { formatQuantity } from '../core/quantity.js';
import { GIB } from './limits.js';

export type StepFit =
  | { kind: 'whole' }
  /** toBytes: the largest whole-GiB size whose step fits the room. */
  | { kind: 'partial'; toBytes: bigint }
  /** largestBytes: the largest whole-GiB step that would fit (0 when none at all). */
  | { kind: 'none'; largestBytes: bigint };

export interface StepRequest {
  fromBytes: bigint;
  toBytes: bigint;
  minIncreaseBytes: bigint;
  /** Bytes the volume may still add; zero or less: no room. */
  roomBytes: bigint;
}

/**
 * The whole step fits when `toBytes - fromBytes <= roomBytes`. Otherwise the size is rounded down
 * to whole GiB (as the core's sizes are) from `fromBytes + roomBytes`, and granted when its step is
 * at least min-increase (and more than nothing).
 */
export function fitStep(req: StepRequest): StepFit {
  const wanted = req.toBytes - req.fromBytes;
  if (wanted <= req.roomBytes) return { kind: 'whole' };
  const room = req.roomBytes > 0n ? req.roomBytes : 0n;
  const size = ((req.fromBytes + room) / GIB) * GIB;
  const step = size > req.fromBytes ? size - req.fromBytes : 0n;
  if (step > 0n && step >= req.minIncreaseBytes) return { kind: 'partial', toBytes: size };
  return { kind: 'none', largestBytes: step };
}

/** Bytes for a person: the exact count and a rounded GiB figure ("3758096384 bytes (3.5 GiB)"). */
export function showBytes(bytes: bigint): string {
  const gib = Number(bytes) / Number(GIB);
  return `${bytes} bytes (${gib.toFixed(1)} GiB)`;
}

/** "+10Gi" style step text. */
export function showStep(bytes: bigint): string {
  return `+${formatQuantity(bytes)}`;
}

/** Why no smaller step was granted either, when one would have fitted ("" when none fits). */
export function belowMinIncrease(largestBytes: bigint, minIncreaseBytes: bigint): string {
  if (largestBytes <= 0n) return '';
  return `; the largest whole-GiB step that fits, ${showStep(largestBytes)}, is below min-increase ${formatQuantity(minIncreaseBytes)}`;
}
