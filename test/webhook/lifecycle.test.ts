// Rotation of a nearly expired certificate and SIGTERM during a request, on the built binary.
import { request } from 'node:https';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { generateTls } from '../../src/webhook/tls.js';
import {
  AUTO_TLS_ARGS,
  SERVICE_HOST,
  caOf,
  httpsCall,
  pvc,
  review,
  startSim,
  startWebhook,
  waitFor,
} from './harness.js';

const SERVICE = { namespace: 'pvc-chonker', name: 'pvc-chonker-webhook' };

/** A Secret whose certificate expires in `days` days. */
async function expiringSecret(days: number): Promise<Record<string, unknown>> {
  const issued = new Date(Date.now() - (365 - days) * 86_400_000);
  const m = await generateTls(SERVICE, issued);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pvc-chonker-webhook-tls', namespace: 'pvc-chonker' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(m.certPem), 'tls.key': b64(m.keyPem), 'ca.crt': b64(m.caPem) },
  };
}

/** The fingerprint of the certificate the server presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: SERVICE_HOST, rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe('certificate rotation', () => {
  it('replaces a certificate expiring within 30 days at start, with a new CA', async () => {
    const old = await expiringSecret(10);
    const { sim, kubeconfig } = await startSim([old]);
    try {
      const webhook = await startWebhook(kubeconfig);
      const ca = caOf(sim);

      const reply = await httpsCall(webhook.port, ca, 'GET', '/healthz');

      expect(ca).not.toBe(
        Buffer.from((old['data'] as Record<string, string>)['ca.crt']!, 'base64').toString(),
      );
      expect(reply.status).toBe(200);
      webhook.child.kill('SIGKILL');
    } finally {
      await sim.close();
    }
  });

  it('rotates while serving, without a restart, when the check finds the certificate expiring', async () => {
    const { sim, kubeconfig } = await startSim();
    try {
      const webhook = await startWebhook(kubeconfig, [
        ...AUTO_TLS_ARGS,
        '--tls-check-interval',
        '500ms',
      ]);
      const before = await servedFingerprint(webhook.port);

      // As if a year went by: the Secret now holds a certificate 5 days from expiry.
      sim.putObject(await expiringSecret(5));
      await waitFor(async () => (await servedFingerprint(webhook.port)) !== before);
      const ca = caOf(sim);
      const reply = await httpsCall(webhook.port, ca, 'GET', '/healthz');

      expect(reply.status).toBe(200);
      expect(webhook.stderr()).toContain('serving certificate reloaded');
      webhook.child.kill('SIGKILL');
    } finally {
      await sim.close();
    }
  });
});

describe('SIGTERM', () => {
  it('finishes the request in flight, refuses new connections, and exits 0', async () => {
    const { sim, kubeconfig } = await startSim();
    try {
      const webhook = await startWebhook(kubeconfig);
      const ca = caOf(sim);
      const body = review(pvc({ 'pvc-chonker.io/threshold': '90%' }));
      const half = Math.floor(body.length / 2);

      const answered = new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: webhook.port,
            method: 'POST',
            path: '/validate',
            ca,
            servername: SERVICE_HOST,
            agent: false,
            headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, half));
        // The request is in flight (half its body sent) when SIGTERM arrives.
        setTimeout(() => {
          webhook.child.kill('SIGTERM');
          setTimeout(() => {
            req.end(body.slice(half));
          }, 500);
        }, 300);
      });
      const status = await answered;
      const code = await webhook.exited;
      const late = await httpsCall(webhook.port, ca, 'GET', '/healthz').catch(
        (e: unknown) => (e as { code?: string }).code,
      );

      expect(status).toBe(200);
      expect(code).toBe(0);
      expect(late).toBe('ECONNREFUSED');
      expect(webhook.stderr()).toContain('finishing in-flight requests');
    } finally {
      await sim.close();
    }
  });
});
