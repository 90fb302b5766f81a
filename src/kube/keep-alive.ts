import http from 'node:http';
import https from 'node:https';

/**
 * One keep-alive connection pool for the whole run. client-node 1.4 builds a new agent for every
 * call, which against a real API server means a TCP and TLS handshake per request; a pass makes
 * thousands. The pool is created from the first agent's (or request's) TLS options, which come
 * from one kubeconfig and do not change during a run.
 */
export interface ConnectionPool {
  /** The shared agent that stands in for `agent` (an agent through a proxy is kept as it is). */
  adopt(agent: http.Agent | https.Agent | undefined): http.Agent | https.Agent | undefined;
  /** The shared agent for a raw request whose TLS options were filled in by the kubeconfig. */
  forRequest(options: https.RequestOptions): http.Agent | https.Agent;
}

const MAX_SOCKETS = 64;

export function createConnectionPool(): ConnectionPool {
  let plain: http.Agent | undefined;
  let secure: https.Agent | undefined;
  const secureAgent = (options: https.AgentOptions): https.Agent =>
    (secure ??= new https.Agent({ ...options, keepAlive: true, maxSockets: MAX_SOCKETS }));
  const plainAgent = (): http.Agent =>
    (plain ??= new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }));
  return {
    adopt(agent) {
      // Proxy agents (kubeconfig proxy-url) are subclasses with their own connection logic.
      if (
        agent === undefined ||
        (agent.constructor !== https.Agent && agent.constructor !== http.Agent)
      )
        return agent;
      return agent instanceof https.Agent ? secureAgent(agent.options) : plainAgent();
    },
    forRequest(options) {
      if (options.protocol === 'http:') return plainAgent();
      const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options;
      return secureAgent({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername });
    },
  };
}
