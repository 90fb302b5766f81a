/**
 * The `Valid` condition of PVCPolicy and PVCGroup status (metav1.Condition). lastTransitionTime
 * moves only when the status flips, as Kubernetes conditions do.
 */
import { formatTime } from './history.js';
import { isRecord } from './json.js';
import { describeFieldProblem } from './describe.js';
import type { FieldProblem } from './selector.js';

export interface PreviousCondition {
  status: string;
  lastTransitionTime: string;
}

/** The Valid condition as last written, from the object's status.conditions. */
export function readValidCondition(status: unknown): PreviousCondition | undefined {
  if (!isRecord(status) || !Array.isArray(status['conditions'])) return undefined;
  for (const entry of status['conditions']) {
    if (!isRecord(entry) || entry['type'] !== 'Valid') continue;
    const { status: value, lastTransitionTime } = entry;
    if (typeof value === 'string' && typeof lastTransitionTime === 'string')
      return { status: value, lastTransitionTime };
  }
  return undefined;
}

export function validCondition(
  problems: readonly FieldProblem[],
  generation: number,
  now: Date,
  previous: PreviousCondition | undefined,
): Record<string, unknown> {
  const [first] = problems;
  const status = first === undefined ? 'True' : 'False';
  return {
    type: 'Valid',
    status,
    observedGeneration: generation,
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : formatTime(now),
    reason: first === undefined ? 'SpecValid' : 'InvalidSpec',
    message: first === undefined ? 'the spec is valid' : describeFieldProblem(first),
  };
}
