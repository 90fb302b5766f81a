/**
 * `pvc-chonker webhook`: loaded by main.ts with a dynamic import, so that `run` (the CronJob)
 * never loads the server, the X.509 library or the cache.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../log.js';
import type { ApiConnection } from '../kube/api-connection.js';
import { KubeClient } from '../kube/client.js';
import { createConnectionPool } from '../kube/keep-alive.js';
import { createTransport } from '../kube/transport.js';
import { DEFAULT_RETRY_POLICY, realSleep } from '../retry.js';
import { parseWebhookOptions, type RawWebhookOptions } from './options.js';
import { startPolicyCache } from './policy-cache.js';
import { createWebhookServer } from './server.js';
import { ensureTls, startRotation, type TlsMaterial } from './tls.js';

/** Per-request deadline: below the 5 s timeoutSeconds of the webhook configurations. */
const DEADLINE_MS = 4_000;

/** The budget of each of the webhook's own API calls, its retries included (the pass's default). */
const API_TIMEOUT_MS = 15_000;

export interface WebhookCommandDeps {
  env: Readonly<Record<string, string | undefined>>;
  connect(kubeconfig: string | undefined, context: string | undefined): ApiConnection;
  /** Raised for a configuration error (exit 2). */
  usageError(message: string): Error;
}

export async function webhookCommand(
  raw: RawWebhookOptions,
  deps: WebhookCommandDeps,
): Promise<number> {
  const parsed = parseWebhookOptions(raw, deps.env);
  if (!parsed.ok) throw deps.usageError(parsed.error);
  const options = parsed.value;
  const log = createLogger(options.logLevel, randomUUID());
  const connection = deps.connect(options.kubeconfig, options.context);
  for (const warning of connection.warnings)
    log.warn({ warning }, 'kubeconfig setting not supported');
  // The process's calls end with it; the cache's list and watch stop with the cache.
  const client = new KubeClient({
    transport: createTransport(connection, createConnectionPool()),
    timeoutMs: API_TIMEOUT_MS,
    retry: DEFAULT_RETRY_POLICY,
    sleep: realSleep,
    log,
    stop: new AbortController().signal,
  });
  const now = (): Date => new Date();

  const tlsSource = options.tls;
  let material: TlsMaterial | { certPem: string; keyPem: string };
  if (tlsSource.kind === 'files') {
    material = {
      // The files the operator named with --tls-cert-file / --tls-key-file.
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- operator-given path
      certPem: await readFile(tlsSource.certFile, 'utf8'),
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- operator-given path
      keyPem: await readFile(tlsSource.keyFile, 'utf8'),
    };
  } else {
    material = await ensureTls({ client, now, log }, tlsSource);
  }

  const cache = startPolicyCache(client, { relistMs: options.relistMs, pageSize: 500, log });
  const webhook = createWebhookServer(
    { cert: material.certPem, key: material.keyPem },
    { snapshot: () => cache.snapshot(), ready: () => cache.synced(), log, deadlineMs: DEADLINE_MS },
  );
  const rotation =
    tlsSource.kind === 'auto' && 'notAfter' in material
      ? startRotation(
          () => ensureTls({ client, now, log }, tlsSource),
          material,
          (fresh) => {
            webhook.server.setSecureContext({
              cert: fresh.certPem,
              key: fresh.keyPem,
              minVersion: 'TLSv1.2',
            });
          },
          { intervalMs: options.tlsCheckIntervalMs, log },
        )
      : undefined;

  await new Promise<void>((resolve, reject) => {
    webhook.server.once('error', reject);
    webhook.server.listen(options.port, () => {
      resolve();
    });
  });
  const address = webhook.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  log.info({ port, tls: tlsSource.kind }, 'webhook serving');

  // SIGTERM: stop accepting, finish what is in flight, exit 0.
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal, inFlight: webhook.inFlight() }, 'stopping: finishing in-flight requests');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  rotation?.stop();
  cache.stop();
  await webhook.shutdown();
  log.info({}, 'webhook stopped');
  return 0;
}
