/**
 * --auto-tls: a CA and a serving certificate for the webhook's Service, kept in a Secret that all
 * replicas share, published as the caBundle of the webhook configurations, and rotated before
 * expiry without a restart. X.509 is built by @peculiar/x509 on Node's webcrypto.
 */
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { createCertificateAuthority } from '../certificate-authority.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';

const DAY_MS = 86_400_000;
/** Certificates are valid this long. */
export const VALIDITY_MS = 365 * DAY_MS;
/** A certificate expiring within this is replaced (at start and at every check). */
export const RENEW_BEFORE_MS = 30 * DAY_MS;

export interface ObjectName {
  namespace: string;
  name: string;
}

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string;
  notAfter: Date;
}

/** The DNS names the API server uses to reach a Service: NAME.NS.svc (and the cluster domain). */
export function serviceDnsNames(service: ObjectName): string[] {
  const base = `${service.name}.${service.namespace}.svc`;
  return [base, `${base}.cluster.local`];
}

/** A new CA and a serving certificate it signed, both ECDSA P-256, valid for one year. */
export async function generateTls(service: ObjectName, now: Date): Promise<TlsMaterial> {
  const ca = await createCertificateAuthority(
    `pvc-chonker-webhook-ca.${service.namespace}`,
    now,
    VALIDITY_MS,
  );
  const names = serviceDnsNames(service);
  const serving = await ca.issue({
    subject: [{ CN: [names[0] ?? ''] }],
    usage: 'serverAuth',
    names,
  });
  return { ...serving, caPem: ca.caPem, notAfter: ca.notAfter };
}

export function certificateExpiry(certPem: string): Date | undefined {
  try {
    return new Date(new X509Certificate(certPem).validTo);
  } catch {
    return undefined;
  }
}

// --- the Secret -------------------------------------------------------------------------------

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function unb64(value: unknown): string | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
}

interface StoredSecret {
  resourceVersion: string;
  material: TlsMaterial | undefined;
}

function readSecret(body: unknown): StoredSecret {
  const object = (body ?? {}) as {
    data?: Record<string, unknown>;
    metadata?: { resourceVersion?: string };
  };
  const data = object.data ?? {};
  const certPem = unb64(data['tls.crt']);
  const keyPem = unb64(data['tls.key']);
  const caPem = unb64(data['ca.crt']);
  const notAfter = certPem === undefined ? undefined : certificateExpiry(certPem);
  const complete = certPem !== undefined && keyPem !== undefined && caPem !== undefined;
  return {
    resourceVersion: object.metadata?.resourceVersion ?? '',
    material: complete && notAfter !== undefined ? { certPem, keyPem, caPem, notAfter } : undefined,
  };
}

function secretBody(secret: ObjectName, material: TlsMaterial, resourceVersion?: string): unknown {
  const metadata: Record<string, unknown> = {
    name: secret.name,
    namespace: secret.namespace,
    labels: { 'app.kubernetes.io/name': 'pvc-chonker', 'app.kubernetes.io/component': 'webhook' },
  };
  if (resourceVersion !== undefined) metadata['resourceVersion'] = resourceVersion;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': b64(material.certPem),
      'tls.key': b64(material.keyPem),
      'ca.crt': b64(material.caPem),
    },
  };
}

export interface AutoTlsOptions {
  secret: ObjectName;
  service: ObjectName;
  /** Name of both the Mutating- and the ValidatingWebhookConfiguration. */
  webhookConfiguration: string;
}

export interface AutoTlsDeps {
  client: KubeClient;
  now(): Date;
  log: Logger;
}

class TlsError extends Error {}

function fresh(material: TlsMaterial | undefined, now: Date): material is TlsMaterial {
  return material !== undefined && material.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS;
}

/** The object at `path`, or undefined when there is none (404). */
async function readObject(client: KubeClient, operation: string, path: string): Promise<unknown> {
  try {
    return await client.request(operation, { method: 'GET', path });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** True when written, false when another replica won the race (409: AlreadyExists or Conflict). */
async function writeSecret(
  deps: AutoTlsDeps,
  options: AutoTlsOptions,
  material: TlsMaterial,
  stored: StoredSecret | undefined,
): Promise<boolean> {
  const { namespace, name } = options.secret;
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  try {
    // Guarded either way (create: AlreadyExists; update: the resourceVersion read), so a write
    // whose answer was lost is not re-sent: the next turn of the loop reads what is there.
    await (stored === undefined
      ? deps.client.request(`create secret ${namespace}/${name}`, {
          method: 'POST',
          path,
          body: secretBody(options.secret, material),
        })
      : deps.client.request(`update secret ${namespace}/${name}`, {
          method: 'PUT',
          path: `${path}/${name}`,
          body: secretBody(options.secret, material, stored.resourceVersion),
        }));
    return true;
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 409) return false;
    throw error;
  }
}

/**
 * The certificate to serve: the Secret's if it is good for more than 30 days, else a new one
 * written with a guard (create: AlreadyExists; update: the resourceVersion read). A replica that
 * loses either race uses what the winner wrote, so replicas starting together share one CA.
 */
async function settleSecret(deps: AutoTlsDeps, options: AutoTlsOptions): Promise<TlsMaterial> {
  const { namespace, name } = options.secret;
  const path = `/api/v1/namespaces/${namespace}/secrets/${name}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const got = await readObject(deps.client, `get secret ${namespace}/${name}`, path);
    const stored = got === undefined ? undefined : readSecret(got);
    if (fresh(stored?.material, deps.now())) return stored.material;
    const material = await generateTls(options.service, deps.now());
    if (await writeSecret(deps, options, material, stored)) {
      deps.log.info(
        { secret: options.secret, notAfter: material.notAfter },
        'serving certificate written',
      );
      return material;
    }
    deps.log.info(
      { secret: options.secret },
      'another replica wrote the certificate first; reading it',
    );
  }
  throw new TlsError(`Secret ${namespace}/${name} kept changing`);
}

const CONFIG_KINDS = ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'] as const;

/** Sets caBundle on every webhook of both configurations (a missing one is logged, not fatal). */
async function publishCaBundle(deps: AutoTlsDeps, name: string, caPem: string): Promise<void> {
  const caBundle = b64(caPem);
  for (const kind of CONFIG_KINDS) {
    const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`;
    const got = await readObject(deps.client, `get ${kind}/${name}`, path);
    if (got === undefined) {
      deps.log.warn({ kind, name }, 'webhook configuration not found; caBundle not published');
      continue;
    }
    const webhooks = ((got as { webhooks?: unknown[] }).webhooks ?? []) as {
      name?: string;
      clientConfig?: { caBundle?: string };
    }[];
    // A test op per webhook: a configuration edited in between fails the patch instead of
    // getting the bundle on the wrong webhook.
    const patch = webhooks.flatMap((webhook, i) =>
      webhook.clientConfig?.caBundle === caBundle
        ? []
        : [
            { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
            { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
          ],
    );
    if (patch.length === 0) continue;
    await deps.client.request(`patch caBundle of ${kind}/${name}`, {
      method: 'PATCH',
      path,
      body: patch,
      contentType: 'application/json-patch+json',
    });
    deps.log.info({ kind, name, webhooks: webhooks.length }, 'caBundle published');
  }
}

/** The Secret settled and the caBundle published; what to serve. */
export async function ensureTls(deps: AutoTlsDeps, options: AutoTlsOptions): Promise<TlsMaterial> {
  const material = await settleSecret(deps, options);
  await publishCaBundle(deps, options.webhookConfiguration, material.caPem);
  return material;
}

export interface Rotation {
  stop(): void;
}

/**
 * Re-checks every `intervalMs` (an hour in production) and hands a new certificate to `apply`
 * (which reloads the server's secure context). A failed check is logged and retried next time.
 */
export function startRotation(
  check: () => Promise<TlsMaterial>,
  current: TlsMaterial,
  apply: (material: TlsMaterial) => void,
  options: { intervalMs: number; log: Logger },
): Rotation {
  let serving = current;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    check()
      .then((material) => {
        if (material.certPem !== serving.certPem) {
          serving = material;
          apply(material);
          options.log.info({ notAfter: material.notAfter }, 'serving certificate reloaded');
        }
      })
      .catch((error: unknown) => {
        options.log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'certificate check failed',
        );
      })
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
