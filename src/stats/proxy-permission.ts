/**
 * Whether this pass may read kubelets through the API server's node proxy: one
 * SelfSubjectAccessReview for `get` on `nodes/proxy` (any node), asked the first time `auto`
 * needs the fallback. Without the permission the proxy would answer 403 for every node anyway;
 * asking once tells the PVCs which permission is missing, at the cost of one request.
 */
import { isRecord } from '../core/json.js';
import type { Permission } from './node-stats-source.js';
import { describeFailure } from './source-error.js';

/** Sends one request to the API server (the pass's client, with its deadline and retries). */
export type ApiRequest = (
  operation: string,
  request: { method: 'POST'; path: string; body: unknown },
) => Promise<unknown>;

export const NO_PROXY_PERMISSION = 'not allowed to get nodes/proxy';

export async function checkProxyPermission(
  request: ApiRequest,
  signal: AbortSignal,
): Promise<Permission> {
  let review: unknown;
  try {
    review = await request('check nodes/proxy permission', {
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: { verb: 'get', group: '', resource: 'nodes', subresource: 'proxy' },
        },
      },
    });
  } catch (error) {
    return {
      allowed: false,
      why: `could not check whether it may get nodes/proxy (${describeFailure(error, signal)})`,
    };
  }
  const status = isRecord(review) && isRecord(review['status']) ? review['status'] : {};
  if (status['allowed'] === true) return { allowed: true };
  const reason =
    typeof status['reason'] === 'string' && status['reason'] !== '' ? ` (${status['reason']})` : '';
  return { allowed: false, why: `${NO_PROXY_PERMISSION}${reason}` };
}
