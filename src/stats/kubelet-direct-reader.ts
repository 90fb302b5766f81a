/**
 * The kubelet Summary API read directly, as metrics-server reads it: GET
 * https://INTERNAL_IP:PORT/stats/summary with the ServiceAccount's bearer token. A kubelet in
 * webhook mode checks the token with a TokenReview and asks a SubjectAccessReview for `get` on
 * `nodes/stats` (its authorizer maps /stats/* to that subresource), so no `nodes/proxy` is needed.
 * The Node object is read first (`get` on `nodes`) for its address and kubelet port.
 */
import https from 'node:https';
import type { RequestCredentials } from '../kube/api-connection.js';
import { httpRequest } from './http-request.js';
import { kubeletEndpoint, kubeletUrl } from './kubelet-endpoint.js';
import type { NodeSummaryReader } from './node-stats-source.js';
import { describeFailure, reasonOf, reasonOfStatus, StatsSourceError } from './source-error.js';

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
function tlsOptions(trust: KubeletTrust, credentials: RequestCredentials): https.RequestOptions {
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
  const credentials = cachedCredentials(options.credentials);
  // One request per node and pass: nothing to keep alive.
  const agent = new https.Agent({ keepAlive: false });
  const { signal } = options;

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
      const applied = await credentials();
      const authorization = applied.headers['Authorization'];
      let answer;
      try {
        answer = await httpRequest(
          {
            method: 'GET',
            url,
            headers: {
              Accept: 'application/json',
              ...(authorization === undefined ? {} : { Authorization: authorization }),
            },
            tls: tlsOptions(options.trust, applied),
            agent,
          },
          { timeoutMs: options.timeoutMs, stop: signal },
        );
      } catch (error) {
        throw new StatsSourceError(
          reasonOf(error),
          `${url.host}: ${describeFailure(error, signal)}`,
        );
      }
      if (answer.status !== 200) {
        const text = answer.body.trim().slice(0, 300);
        throw new StatsSourceError(
          reasonOfStatus(answer.status),
          `${url.host} answered HTTP ${answer.status}${text === '' ? '' : `: ${text}`}`,
        );
      }
      try {
        return JSON.parse(answer.body) as unknown;
      } catch {
        throw new StatsSourceError(
          'bad-response',
          `${url.host}: the Summary API answer is not JSON`,
        );
      }
    },
    failure: (node, description) => `kubelet on node ${node} failed: ${description}`,
  };
}
