/**
 * What only the simulated cluster can do, and why: the one list. A test tagged with one of these
 * reasons runs in the normal run (on the simulator) and is skipped on the real API server
 * (`make test-real`); every other integration test runs on both (test-cluster.ts).
 *
 * The simulator can also lag the kubelet's stats behind a resize (`kubeletLagMs`), end a resize
 * as infeasible or stuck (`sim.pvc-chonker.io/resize-outcome`) and add latency to every request:
 * test/sim/ covers those; no integration test needs them yet. Tag a test that does with a new
 * reason here.
 */
import { describe, it } from 'vitest';
import { CLUSTER } from './test-cluster.js';

export const SIM_ONLY = {
  'injected-status':
    'an answer injected on purpose (409, 429 with Retry-After, 503, 401, a reset connection; a 403 standing for a ClusterRole that lacks a verb, as the simulator has no RBAC): the real server gives them only under load, contention or misconfiguration, never on demand',
  'held-request':
    'a request hung, or held for a set time (a late PATCH, two runs racing, SIGTERM while writes are in flight): the real server answers at once',
  'kubelet-fault':
    'a kubelet that fails or hangs behind the node proxy: the real tier’s fake kubelets always answer',
  'continue-expiry':
    'a continue token expiring mid-list (410 Gone): an etcd compaction cannot be timed against a pass',
  'behind-validation':
    'an object the API’s validation would refuse, written behind it (as an older CRD version might have let it in)',
  'vanishing-object':
    'an object deleted while a request about it is held: needs a held request, and a PVC deletion waits on its finalizer without a controller-manager',
  'rbac-profile':
    'a stats source under an RBAC profile on the simulator’s RBAC and kubelets (a kubelet whose certificate does not verify, one out of reach, a Prometheus sample with an explicit old time, a gateway in front): test/real/stats-profiles.test.ts proves the profiles on the real server with kubectl apply -k, and stats-table.test.ts runs the three sources on both clusters',
  'no-cluster':
    'checks the CLI alone (usage errors, an unreachable server): nothing a cluster does is involved',
} as const;

export type SimOnlyReason = keyof typeof SIM_ONLY;

/** Skipped on the real server, for `reason` (for a file that builds its own simulator). */
export function skippedHere(reason: SimOnlyReason): boolean {
  return CLUSTER === 'real' && reason in SIM_ONLY;
}

/** `it` on the simulator; on the real server, the same test skipped. */
export function itOnSim(reason: SimOnlyReason): ReturnType<typeof it.skipIf> {
  return it.skipIf(skippedHere(reason));
}

/** `describe` on the simulator; on the real server, the same block skipped. */
export function describeOnSim(reason: SimOnlyReason): ReturnType<typeof describe.skipIf> {
  return describe.skipIf(skippedHere(reason));
}
