import http from 'node:http';
import https from 'node:https';

/**
 * One keep-alive connection pool for the whole run: without it every request would cost a TCP and
 * TLS handshake, and a pass makes thousands. The pool is created from the first request's TLS
 * options, which come from one kubeconfig and do not change during a run.
 */
export interface ConnectionPool {
  /** The shared agent for a raw request whose TLS options were filled in by the kubeconfig. */
  forRequest(options: https.RequestOptions): http.Agent | https.Agent;
}

const MAX_SOCKETS = 64;

/**
 * `maxSockets`: connections open at once at most. The pass asks kubelets, writes and lists side
 * by side, so it passes their sum: a request waiting for a free socket waits a round trip.
 */
export function createConnectionPool(maxSockets = MAX_SOCKETS): ConnectionPool {
  let plain: http.Agent | undefined;
  let secure: https.Agent | undefined;
  const secureAgent = (options: https.AgentOptions): https.Agent =>
    (secure ??= new https.Agent({ ...options, keepAlive: true, maxSockets }));
  const plainAgent = (): http.Agent => (plain ??= new http.Agent({ keepAlive: true, maxSockets }));
  return {
    forRequest(options) {
      if (options.protocol === 'http:') return plainAgent();
      const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options;
      return secureAgent({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername });
    },
  };
}
