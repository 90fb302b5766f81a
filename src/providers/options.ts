/**
 * The provider flags: their names, defaults and validation. Pure; the CLI maps flags and
 * PVC_CHONKER_* variables to the raw strings parsed here.
 */
import { parseQuantity } from '../core/quantity.js';
import { err, ok, type Result } from '../core/result.js';
import { isProviderName } from './select.js';
import type { AwsModificationRule, ProviderOptions } from './types.js';

export interface ProviderFlag {
  /** Key in the raw record given to parseProviderOptions (commander's camelCase attribute name). */
  key: keyof RawProviderOptions;
  flag: string;
  env: string;
  defaultValue: string | undefined;
  description: string;
}

export interface RawProviderOptions {
  provider?: string | undefined;
  gcpEndpoint?: string | undefined;
  providerBreakerThreshold?: string | undefined;
  awsModificationRule?: string | undefined;
  providerMaxRetries?: string | undefined;
  providerRetryBaseDelayMs?: string | undefined;
  onpremReserve?: string | undefined;
  longhornNamespace?: string | undefined;
}

export const PROVIDER_FLAGS: readonly ProviderFlag[] = [
  {
    key: 'provider',
    flag: '--provider <name>',
    env: 'PVC_CHONKER_PROVIDER',
    defaultValue: 'auto',
    description:
      'provider for all PVCs: auto (from each PV), aws, gcp, azure, topolvm, longhorn or generic',
  },
  {
    key: 'gcpEndpoint',
    flag: '--gcp-endpoint <url>',
    env: 'PVC_CHONKER_GCP_ENDPOINT',
    defaultValue: undefined,
    description:
      'Compute Engine API endpoint; an http:// URL is an emulator and gets no credentials',
  },
  {
    key: 'providerBreakerThreshold',
    flag: '--provider-breaker-threshold <n>',
    env: 'PVC_CHONKER_PROVIDER_BREAKER_THRESHOLD',
    defaultValue: '3',
    description:
      'consecutive failed cloud calls after which a provider is skipped for the rest of the run',
  },
  {
    key: 'awsModificationRule',
    flag: '--aws-modification-rule <rule>',
    env: 'PVC_CHONKER_AWS_MODIFICATION_RULE',
    defaultValue: 'strict',
    description:
      'EBS modification rate rule: strict (6 h apart and at most 4 per 24 h), current (previous one completed, at most 4 per 24 h) or legacy (6 h apart)',
  },
  {
    key: 'providerMaxRetries',
    flag: '--provider-max-retries <n>',
    env: 'PVC_CHONKER_PROVIDER_MAX_RETRIES',
    defaultValue: '3',
    description: 'retries of a throttled cloud call (RequestLimitExceeded, HTTP 429/503)',
  },
  {
    key: 'providerRetryBaseDelayMs',
    flag: '--provider-retry-base-delay-ms <ms>',
    env: 'PVC_CHONKER_PROVIDER_RETRY_BASE_DELAY_MS',
    defaultValue: '1000',
    description:
      'first backoff delay of a throttled cloud call; doubles per retry, full jitter, at most 20 s',
  },
  {
    key: 'onpremReserve',
    flag: '--onprem-reserve <quantity>',
    env: 'PVC_CHONKER_ONPREM_RESERVE',
    defaultValue: '1Gi',
    description:
      'space kept free on every TopoLVM node (per device class) and Longhorn disk; 0 keeps none',
  },
  {
    key: 'longhornNamespace',
    flag: '--longhorn-namespace <ns>',
    env: 'PVC_CHONKER_LONGHORN_NAMESPACE',
    defaultValue: 'longhorn-system',
    description: "namespace of Longhorn's nodes, replicas, volumes and settings",
  },
];

/** A namespace name: an RFC 1123 label (63 characters at most, alphanumeric at both ends). */
function isNamespaceName(text: string): boolean {
  return text.length <= 63 && /^[a-z0-9-]+$/.test(text) && !/^-|-$/.test(text);
}

const RULES: readonly AwsModificationRule[] = ['strict', 'current', 'legacy'];

function flagName(key: keyof RawProviderOptions): string {
  return PROVIDER_FLAGS.find((f) => f.key === key)?.flag.split(' ')[0] ?? key;
}

function raw(values: Record<string, string | undefined>, key: keyof RawProviderOptions): string {
  const given = values[key]?.trim();
  if (given !== undefined && given !== '') return given;
  return PROVIDER_FLAGS.find((f) => f.key === key)?.defaultValue ?? '';
}

function wholeNumber(
  values: Record<string, string | undefined>,
  key: keyof RawProviderOptions,
  min: number,
  errors: string[],
): number {
  const text = raw(values, key);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  errors.push(`${flagName(key)}: expected a whole number >= ${min}, got '${text}'`);
  return min;
}

function endpoint(
  values: Record<string, string | undefined>,
  errors: string[],
): string | undefined {
  const text = raw(values, 'gcpEndpoint');
  if (text === '') return undefined;
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text;
  } catch {
    // Reported below.
  }
  errors.push(`${flagName('gcpEndpoint')}: expected an http:// or https:// URL, got '${text}'`);
  return undefined;
}

function reserve(values: Record<string, string | undefined>, errors: string[]): bigint {
  const text = raw(values, 'onpremReserve');
  const parsed = parseQuantity(text);
  if (parsed.ok) return parsed.value;
  errors.push(`${flagName('onpremReserve')}: ${parsed.error}`);
  return 0n;
}

function namespace(values: Record<string, string | undefined>, errors: string[]): string {
  const text = raw(values, 'longhornNamespace');
  if (isNamespaceName(text)) return text;
  errors.push(`${flagName('longhornNamespace')}: expected a namespace name, got '${text}'`);
  return 'longhorn-system';
}

/** Validates every provider flag at once; the error names each bad flag and value. */
export function parseProviderOptions(
  values: Record<string, string | undefined>,
): Result<ProviderOptions> {
  const errors: string[] = [];
  const provider = raw(values, 'provider').toLowerCase();
  if (provider !== 'auto' && !isProviderName(provider)) {
    errors.push(
      `--provider: expected auto, aws, gcp, azure, topolvm, longhorn or generic, got '${provider}'`,
    );
  }
  const rule = raw(values, 'awsModificationRule').toLowerCase();
  if (!(RULES as readonly string[]).includes(rule)) {
    errors.push(`--aws-modification-rule: expected strict, current or legacy, got '${rule}'`);
  }
  const options: ProviderOptions = {
    provider: provider === 'auto' || isProviderName(provider) ? provider : 'auto',
    gcpEndpoint: endpoint(values, errors),
    awsModificationRule: RULES.find((r) => r === rule) ?? 'strict',
    breakerThreshold: wholeNumber(values, 'providerBreakerThreshold', 1, errors),
    maxRetries: wholeNumber(values, 'providerMaxRetries', 0, errors),
    retryBaseDelayMs: wholeNumber(values, 'providerRetryBaseDelayMs', 0, errors),
    onpremReserveBytes: reserve(values, errors),
    longhornNamespace: namespace(values, errors),
  };
  return errors.length === 0 ? ok(options) : err(errors.join('; '));
}
