import { describe, expect, it } from 'vitest';
import { parseProviderOptions, PROVIDER_FLAGS } from '../../src/providers/options.js';

describe('parseProviderOptions', () => {
  it('has defaults for everything', () => {
    expect(parseProviderOptions({})).toEqual({
      ok: true,
      value: {
        provider: 'auto',
        gcpEndpoint: undefined,
        awsModificationRule: 'strict',
        breakerThreshold: 3,
        maxRetries: 3,
        retryBaseDelayMs: 1000,
        onpremReserveBytes: 1024n ** 3n,
        longhornNamespace: 'longhorn-system',
      },
    });
  });

  it('takes given values', () => {
    const result = parseProviderOptions({
      provider: 'gcp',
      gcpEndpoint: 'http://127.0.0.1:9000',
      awsModificationRule: 'Current',
      providerBreakerThreshold: '5',
      providerMaxRetries: '0',
      providerRetryBaseDelayMs: '250',
      onpremReserve: '0',
      longhornNamespace: 'storage',
    });

    expect(result).toEqual({
      ok: true,
      value: {
        provider: 'gcp',
        gcpEndpoint: 'http://127.0.0.1:9000',
        awsModificationRule: 'current',
        breakerThreshold: 5,
        maxRetries: 0,
        retryBaseDelayMs: 250,
        onpremReserveBytes: 0n,
        longhornNamespace: 'storage',
      },
    });
  });

  it.each([
    [
      { provider: 'oracle' },
      "--provider: expected auto, aws, gcp, azure, topolvm, longhorn or generic, got 'oracle'",
    ],
    [{ onpremReserve: '1 GiB' }, '--onprem-reserve: "1 GiB" is not a Kubernetes quantity'],
    [{ onpremReserve: '-1Gi' }, '--onprem-reserve: "-1Gi" is negative'],
    [
      { longhornNamespace: 'Longhorn_System' },
      "--longhorn-namespace: expected a namespace name, got 'Longhorn_System'",
    ],
    [
      { gcpEndpoint: 'ftp://x' },
      "--gcp-endpoint: expected an http:// or https:// URL, got 'ftp://x'",
    ],
    [{ gcpEndpoint: 'not a url' }, '--gcp-endpoint'],
    [
      { awsModificationRule: 'sometimes' },
      "--aws-modification-rule: expected strict, current or legacy, got 'sometimes'",
    ],
    [
      { providerBreakerThreshold: '0' },
      "--provider-breaker-threshold: expected a whole number >= 1, got '0'",
    ],
    [{ providerMaxRetries: '-1' }, '--provider-max-retries'],
    [{ providerRetryBaseDelayMs: '1.5' }, '--provider-retry-base-delay-ms'],
  ])('%o is an error naming the flag', (raw, message) => {
    const result = parseProviderOptions(raw);

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(message);
  });

  it('reports every bad flag at once', () => {
    const result = parseProviderOptions({ provider: 'x', providerBreakerThreshold: 'y' });

    expect(result.ok ? '' : result.error).toMatch(/--provider:.*; --provider-breaker-threshold:/);
  });

  it('lists each flag with its env variable', () => {
    for (const f of PROVIDER_FLAGS) {
      const name = f.flag.split(' ')[0] ?? '';
      expect(f.env).toBe(`PVC_CHONKER_${name.slice(2).toUpperCase().replace(/-/g, '_')}`);
    }
  });
});
