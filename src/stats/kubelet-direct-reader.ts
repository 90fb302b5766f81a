/**
 * The kubelet Summary API read directly, as metrics-server reads it: GET
 * https://INTERNAL_IP:PORT/stats/summary with the ServiceAccount's bearer token. A kubelet in
 * webhook mode checks the token with a TokenReview and asks a SubjectAccessReview for `get` on
 * `nodes/stats` (its authorizer maps /stats/* to that subresource), so no `nodes/proxy` is needed.
 * The Node object is read first (`get` on `nodes`) for its address and kubelet port. The call goes
 * through the one client's transport (its deadline, error model and credential handling), aimed
 * at the kubelet instead of the API server.
 */
import type { ApiConnection, RequestCredentials, TlsOptions } from '../kube/api-connection.js';
import type { KubeClient } from '../kube/client.js';
import { kubeletEndpoint, kubeletUrl } from './kubelet-endpoint.js';
import type { NodeSummaryReader } from './node-stats-source.js';
import { describeCall, describeFailure, reasonOf, StatsSourceError } from './source-error.js';

/**
 * How the kubelets' serving certificates are verified: as the API server's are (in a pod, the
 * cluster CA bundle; with a kubeconfig, its CA and its insecure-skip-tls-verify), by a CA file
 * of their own, or not at all (self-signed kubelet certificates; an explicit opt-in).
 */
export type KubeletTrust =
  { kind: 'connection' } | { kind: 'ca'; caPem: string } | { kind: 'insecure' };

export interface DirectReaderOptions {
  /** The Node object, from the API server. */
  getNode: (name: string) => Promise<unknown>;
  /** The API connection's credentials: its bearer token (and client certificate) are sent. */
  credentials: () => Promise<RequestCredentials>;
  /** A client of the one kind (transport, deadline, errors) for another server: a kubelet. */
  clientFor: (connection: ApiConnection) => KubeClient;
  trust: KubeletTrust;
  /** Per node, for the kubelet call (the Node read has the API timeout). */
  timeoutMs: number;
  signal: AbortSignal;
}

/** Credentials are applied at most this often: a token file is read again after it. */
const CREDENTIALS_TTL_MS = 5_000;

function cachedCredentials(
  load: () => Promise<RequestCredentials>,
): () => Promise<RequestCredentials> {
  let cached: { at: number; value: Promise<RequestCredentials> } | undefined;
  return () => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > CREDENTIALS_TTL_MS) {
      const value = load();
      cached = { at: now, value };
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}

/** The TLS options of a kubelet call: the trust chosen, and the client certificate if any. */
function tlsOptions(trust: KubeletTrust, credentials: RequestCredentials): TlsOptions {
  const { ca, cert, key, rejectUnauthorized } = credentials.tls;
  // The API server's tls-server-name is its own name, never a kubelet's: it is not carried over.
  const client = { ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  switch (trust.kind) {
    case 'connection':
      return {
        ...client,
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: rejectUnauthorized ?? true,
      };
    case 'ca':
      return { ...client, ca: trust.caPem, rejectUnauthorized: true };
    case 'insecure':
      return { ...client, rejectUnauthorized: false };
  }
}

export function createDirectReader(options: DirectReaderOptions): NodeSummaryReader {
  const shared = cachedCredentials(options.credentials);
  const { signal, timeoutMs } = options;
  // The kubelet gets the bearer token (and client certificate), not impersonation headers.
  const credentials = async (): Promise<RequestCredentials> => {
    const applied = await shared();
    const authorization = applied.headers['Authorization'];
    return {
      tls: tlsOptions(options.trust, applied),
      headers: authorization === undefined ? {} : { Authorization: authorization },
    };
  };

  const endpointOf = async (node: string): Promise<URL> => {
    let object: unknown;
    try {
      object = await options.getNode(node);
    } catch (error) {
      throw new StatsSourceError(reasonOf(error), describeFailure(error, signal));
    }
    const endpoint = kubeletEndpoint(object);
    if (!endpoint.ok) throw new StatsSourceError('no-address', `node ${node}: ${endpoint.error}`);
    return kubeletUrl(endpoint.value, '/stats/summary');
  };

  return {
    source: 'kubelet',
    async read(node) {
      const url = await endpointOf(node);
      const client = options.clientFor({
        server: new URL(url.origin),
        source: `the kubelet of node ${node}`,
        warnings: [],
        credentials,
      });
      try {
        // One attempt: a kubelet that fails costs its PVCs their stats until the next run.
        const answer = await client.bytes(
          `get stats of node ${node} from its kubelet`,
          { method: 'GET', path: url.pathname, accept: 'application/json' },
          { budget: client.budget(timeoutMs), stop: signal, attempts: 1 },
        );
        return answer.bytes;
      } catch (error) {
        const description = describeCall(error, signal);
        const answered = description.startsWith('HTTP ');
        throw new StatsSourceError(
          reasonOf(error),
          answered ? `${url.host} answered ${description}` : `${url.host}: ${description}`,
        );
      }
    },
    failure: (node, description) => `kubelet on node ${node} failed: ${description}`,
  };
}
