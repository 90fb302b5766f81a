import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseMetricsConfig } from '../../src/metrics/config.js';

describe('parseMetricsConfig', () => {
  it('defaults: no push, job pvc-chonker, cluster default, 5 s timeout, 2 retries', () => {
    const result = parseMetricsConfig({}, {});

    expect(result).toEqual({
      ok: true,
      value: {
        pushgatewayUrl: undefined,
        jobName: 'pvc-chonker',
        clusterName: 'default',
        metricsFile: undefined,
        auth: undefined,
        timeoutMs: 5000,
        retries: 2,
      },
    });
  });

  it('reads env vars, and flags win over them', () => {
    const env = {
      PVC_CHONKER_PUSHGATEWAY_URL: 'http://env:9091',
      PVC_CHONKER_CLUSTER_NAME: 'env-cluster',
      PVC_CHONKER_JOB_NAME: 'env-job',
      PVC_CHONKER_METRICS_FILE: '/env.prom',
      PVC_CHONKER_PUSHGATEWAY_TIMEOUT_MS: '1500',
      PVC_CHONKER_PUSHGATEWAY_RETRIES: '0',
    };

    const fromEnv = parseMetricsConfig({}, env);
    const fromFlags = parseMetricsConfig(
      { pushgatewayUrl: 'https://flag/prefix', clusterName: 'prod-eu-1' },
      env,
    );

    expect(fromEnv.ok && fromEnv.value).toMatchObject({
      jobName: 'env-job',
      clusterName: 'env-cluster',
      metricsFile: '/env.prom',
      timeoutMs: 1500,
      retries: 0,
    });
    expect(fromEnv.ok && fromEnv.value.pushgatewayUrl?.href).toBe('http://env:9091/');
    expect(fromFlags.ok && fromFlags.value.pushgatewayUrl?.href).toBe('https://flag/prefix');
    expect(fromFlags.ok && fromFlags.value.clusterName).toBe('prod-eu-1');
  });

  it('an empty URL means no push', () => {
    const result = parseMetricsConfig({}, { PVC_CHONKER_PUSHGATEWAY_URL: '' });

    expect(result.ok && result.value.pushgatewayUrl).toBeUndefined();
  });

  it.each<[string, Parameters<typeof parseMetricsConfig>[0], Record<string, string>, RegExp]>([
    ['empty cluster name', { clusterName: '' }, {}, /--cluster-name: must not be empty/],
    [
      'empty cluster name from env',
      {},
      { PVC_CHONKER_CLUSTER_NAME: '' },
      /--cluster-name: must not be empty/,
    ],
    [
      "'/' in cluster name",
      { clusterName: 'eu/prod' },
      {},
      /--cluster-name "eu\/prod": must not contain '\/'/,
    ],
    [
      'space in cluster name',
      { clusterName: 'eu prod' },
      {},
      /--cluster-name "eu prod": use 1-128 characters/,
    ],
    ["'/' in job name", { jobName: 'a/b' }, {}, /--job-name "a\/b": must not contain '\/'/],
    ['bad URL', { pushgatewayUrl: 'not a url' }, {}, /--pushgateway-url "not a url": not a URL/],
    [
      'bad scheme',
      { pushgatewayUrl: 'ftp://pg:9091' },
      {},
      /--pushgateway-url "ftp:\/\/pg:9091": scheme must be http or https/,
    ],
    ['query string', { pushgatewayUrl: 'http://pg:9091/?x=1' }, {}, /must not have a query string/],
    ['empty metrics file', { metricsFile: '' }, {}, /--metrics-file: must not be empty/],
    [
      'bad timeout',
      {},
      { PVC_CHONKER_PUSHGATEWAY_TIMEOUT_MS: '5s' },
      /PVC_CHONKER_PUSHGATEWAY_TIMEOUT_MS "5s": expected a whole number/,
    ],
    ['zero timeout', {}, { PVC_CHONKER_PUSHGATEWAY_TIMEOUT_MS: '0' }, /must be at least 1/],
    [
      'too many retries',
      {},
      { PVC_CHONKER_PUSHGATEWAY_RETRIES: '99' },
      /PVC_CHONKER_PUSHGATEWAY_RETRIES "99": expected a whole number from 0 to 10/,
    ],
    [
      'password without user',
      {},
      { PVC_CHONKER_PUSHGATEWAY_PASSWORD: 'x' },
      /PVC_CHONKER_PUSHGATEWAY_PASSWORD is set but PVC_CHONKER_PUSHGATEWAY_USERNAME is not/,
    ],
    [
      'user without password',
      {},
      { PVC_CHONKER_PUSHGATEWAY_USERNAME: 'u' },
      /neither PVC_CHONKER_PUSHGATEWAY_PASSWORD nor/,
    ],
    [
      'password and password file',
      {},
      {
        PVC_CHONKER_PUSHGATEWAY_USERNAME: 'u',
        PVC_CHONKER_PUSHGATEWAY_PASSWORD: 'x',
        PVC_CHONKER_PUSHGATEWAY_PASSWORD_FILE: '/f',
      },
      /both set/,
    ],
    [
      'basic and bearer',
      {},
      {
        PVC_CHONKER_PUSHGATEWAY_USERNAME: 'u',
        PVC_CHONKER_PUSHGATEWAY_PASSWORD: 'x',
        PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN: 't',
      },
      /not both/,
    ],
  ])('rejects %s', (_name, raw, env, message) => {
    const result = parseMetricsConfig(raw, env);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(message);
  });

  it('rejects credentials in the URL without echoing the password', () => {
    const result = parseMetricsConfig({ pushgatewayUrl: 'https://user:hunter2@pg:9091' }, {});

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/credentials in the URL are not accepted/);
    expect(!result.ok && result.error).not.toContain('hunter2');
  });

  it.each([
    [
      { PVC_CHONKER_PUSHGATEWAY_USERNAME: 'u', PVC_CHONKER_PUSHGATEWAY_PASSWORD: 'hunter2' },
      'basic',
    ],
    [{ PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN: 'hunter2' }, 'bearer'],
  ])('keeps secrets out of JSON and inspect output (%j)', (env, kind) => {
    const result = parseMetricsConfig({}, env);

    expect(result.ok && result.value.auth?.kind).toBe(kind);
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(inspect(result, { depth: 10 })).not.toContain('hunter2');
  });

  it('takes secret files as paths, read at push time', () => {
    const result = parseMetricsConfig(
      {},
      { PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN_FILE: '/var/run/secrets/pg/token' },
    );

    expect(result.ok && result.value.auth).toEqual({
      kind: 'bearer',
      token: { kind: 'file', path: '/var/run/secrets/pg/token' },
    });
  });
});
