/**
 * Usage samples written by the pass (the pvc-chonker.io/usage-samples annotation): rarely (once
 * per --sample-interval per PVC), spread over the passes by each PVC's own phase, never in a dry
 * run, and on an expansion's own PATCH when one is made. What is due is decided by the pure
 * core (usage-samples.ts); this sends the annotation-only PATCH through the Cluster port.
 */
import type { Logger } from 'pino';
import { usageSamplesAnnotation } from './core/annotations.js';
import type { Decision } from './core/decision.js';
import type { PvcSnapshot } from './core/pvc.js';
import {
  appendUsageSample,
  firstSampleBudget,
  sampleDue,
  type UsageSample,
} from './core/usage-samples.js';
import type { Cluster } from './ports.js';

/**
 * The samples to store with this pass's reading appended, when a sample is due; undefined when
 * none is (not yet, no sound stats, or no interval: off, or the history comes from Prometheus).
 */
export function samplesToWrite(
  pvc: PvcSnapshot,
  decision: Pick<Decision, 'usedBytes' | 'usageSamples'>,
  now: Date,
  intervalMs: number | undefined,
): UsageSample[] | undefined {
  if (intervalMs === undefined || decision.usedBytes === undefined) return undefined;
  if (!sampleDue(decision.usageSamples, { uid: pvc.uid, now, intervalMs })) return undefined;
  return appendUsageSample(decision.usageSamples, { time: now, usedBytes: decision.usedBytes });
}

interface Sampled {
  decision: Pick<Decision, 'usageSamples' | 'action'>;
  samples?: UsageSample[] | undefined;
}

/**
 * First samples beyond the pass's budget wait for a later pass (in the order the PVCs are
 * decided: list order within a batch; those given one now are not first ones next pass); an
 * expansion's PATCH carries its sample whatever the budget.
 */
export function limitFirstSamples<T extends Sampled>(
  items: readonly T[],
  // The pass's budget, shared by its batches (run.ts decides PVCs as their kubelets answer).
  budget: { left: number } = { left: firstSampleBudget(items.length) },
): T[] {
  return items.map((item) => {
    const first = item.samples !== undefined && item.decision.usageSamples.length === 0;
    if (!first || item.decision.action === 'expand') return item;
    if (budget.left > 0) {
      budget.left--;
      return item;
    }
    return { ...item, samples: undefined };
  });
}

/**
 * The annotation-only PATCH, guarded by resourceVersion. A sample is worth little next to the
 * pass's other writes: a conflict or failure is logged and left to the PVC's next slot.
 */
export async function writeSamples(
  deps: { cluster: Cluster; log: Logger },
  pvc: PvcSnapshot,
  samples: readonly UsageSample[],
): Promise<void> {
  const fields = { namespace: pvc.namespace, name: pvc.name };
  try {
    const outcome = await deps.cluster.patchPvc(pvc, {
      resourceVersion: pvc.resourceVersion,
      annotations: usageSamplesAnnotation(samples),
    });
    if (outcome.kind !== 'patched')
      deps.log.info({ ...fields, outcome: outcome.kind }, 'usage sample not written');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.log.warn({ ...fields, err: message }, 'usage sample not written');
  }
}
