/**
 * The flags of `pvc-chonker webhook` (each also PVC_CHONKER_*), validated once into typed values.
 * Pure: a bad value becomes a one-line message naming the flag and the value.
 */
import { err, ok, type Result } from '../core/result.js';
import { booleanSwitch, durationFlag, NAMESPACE, parseLogLevel, type LogLevel } from '../config.js';
import type { ObjectName } from './tls.js';

export interface RawWebhookOptions {
  port?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  autoTls?: boolean;
  tlsSecret?: string;
  service?: string;
  webhookConfiguration?: string;
  tlsCheckInterval?: string;
  relistInterval?: string;
  kubeconfig?: string;
  context?: string;
  logLevel?: string;
}

export type TlsSource =
  | { kind: 'files'; certFile: string; keyFile: string }
  | { kind: 'auto'; secret: ObjectName; service: ObjectName; webhookConfiguration: string };

export interface WebhookOptions {
  port: number;
  tls: TlsSource;
  tlsCheckIntervalMs: number;
  relistMs: number;
  kubeconfig: string | undefined;
  context: string | undefined;
  logLevel: LogLevel;
}

// eslint-disable-next-line security/detect-unsafe-regex -- bounded repetitions of one class: linear
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function objectName(flag: string, text: string | undefined): Result<ObjectName> {
  if (text === undefined) return err(`--auto-tls needs --${flag} NAMESPACE/NAME`);
  const [namespace = '', name = '', ...rest] = text.split('/');
  if (rest.length > 0 || !NAMESPACE.test(namespace) || !DNS_SUBDOMAIN.test(name))
    return err(`--${flag}: "${text}" is not NAMESPACE/NAME`);
  return ok({ namespace, name });
}

function tlsSource(raw: RawWebhookOptions, auto: boolean): Result<TlsSource> {
  const files = raw.tlsCertFile !== undefined || raw.tlsKeyFile !== undefined;
  if (auto && files) return err('--auto-tls and --tls-cert-file/--tls-key-file exclude each other');
  if (!auto) {
    if (raw.tlsCertFile === undefined || raw.tlsKeyFile === undefined)
      return err('give --tls-cert-file and --tls-key-file, or --auto-tls');
    return ok({ kind: 'files', certFile: raw.tlsCertFile, keyFile: raw.tlsKeyFile });
  }
  const secret = objectName('tls-secret', raw.tlsSecret);
  if (!secret.ok) return secret;
  const service = objectName('service', raw.service);
  if (!service.ok) return service;
  const config = raw.webhookConfiguration;
  if (config === undefined || !DNS_SUBDOMAIN.test(config))
    return err(
      `--auto-tls needs --webhook-configuration NAME${config === undefined ? '' : ` ("${config}" is not a name)`}`,
    );
  return ok({
    kind: 'auto',
    secret: secret.value,
    service: service.value,
    webhookConfiguration: config,
  });
}

export function parseWebhookOptions(
  raw: RawWebhookOptions,
  env: Readonly<Record<string, string | undefined>>,
): Result<WebhookOptions> {
  const portText = raw.port ?? '8443';
  const port = Number(portText);
  // 0: any free port (tests); the port chosen is logged.
  if (!/^\d+$/.test(portText) || port > 65535)
    return err(`--port: "${portText}" is not a port from 0 to 65535`);
  const logLevel = parseLogLevel(raw.logLevel);
  if (!logLevel.ok) return logLevel;
  const auto = booleanSwitch(raw.autoTls, 'PVC_CHONKER_AUTO_TLS', env);
  if (!auto.ok) return auto;
  const tls = tlsSource(raw, auto.value);
  if (!tls.ok) return tls;
  const check = durationFlag('tls-check-interval', raw.tlsCheckInterval, 3_600_000);
  if (!check.ok) return check;
  const relist = durationFlag('relist-interval', raw.relistInterval, 10_000);
  if (!relist.ok) return relist;
  return ok({
    port,
    tls: tls.value,
    tlsCheckIntervalMs: check.value,
    relistMs: relist.value,
    kubeconfig: raw.kubeconfig,
    context: raw.context,
    logLevel: logLevel.value,
  });
}
