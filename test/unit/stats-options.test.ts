import { describe, expect, it } from 'vitest';
import { err, ok, type Result } from '../../src/core/result.js';
import { parseStatsOptions, type RawStatsOptions } from '../../src/stats/options.js';

/** Files the options may name: a CA and a token; any other path is missing. */
function read(path: string): Result<string> {
  const files: Record<string, string> = {
    '/ca.pem': '-----BEGIN CERTIFICATE-----\n',
    '/token': 'secret-token\n',
    '/empty': '\n',
  };
  const text = files[path];
  return text === undefined ? err(`cannot read ${path} (ENOENT)`) : ok(text);
}

const PROM = 'http://prometheus.monitoring.svc:9090';

describe('parseStatsOptions', () => {
  it.each<[string, RawStatsOptions, unknown]>([
    [
      'the default: auto is the kubelet, verified like the API server, with the proxy fallback',
      {},
      { source: 'kubelet', trust: { kind: 'connection' }, proxyFallback: true },
    ],
    [
      'kubelet: no fallback',
      { statsSource: 'kubelet' },
      { source: 'kubelet', trust: { kind: 'connection' }, proxyFallback: false },
    ],
    [
      'a kubelet CA file is read',
      { statsSource: 'kubelet', kubeletCaFile: '/ca.pem' },
      {
        source: 'kubelet',
        trust: { kind: 'ca', caPem: '-----BEGIN CERTIFICATE-----\n' },
        proxyFallback: false,
      },
    ],
    [
      'insecure kubelets',
      { kubeletInsecureSkipTlsVerify: true },
      { source: 'kubelet', trust: { kind: 'insecure' }, proxyFallback: true },
    ],
    ['kubelet-proxy', { statsSource: 'kubelet-proxy' }, { source: 'kubelet-proxy' }],
    [
      'auto with a Prometheus URL is prometheus, with the defaults',
      { prometheusUrl: PROM },
      {
        source: 'prometheus',
        prometheus: {
          url: new URL(PROM),
          headers: {},
          caPem: undefined,
          selector: '',
          maxAgeMs: 300_000,
          forecastWindowMs: 6 * 3_600_000,
        },
      },
    ],
    [
      'prometheus with everything',
      {
        statsSource: 'prometheus',
        prometheusUrl: 'https://mimir.example/prometheus',
        prometheusHeader: ['X-Scope-OrgID: tenant-1', 'X-Extra: a\nX-Other:  b '],
        prometheusBearerTokenFile: '/token',
        prometheusCaFile: '/ca.pem',
        prometheusSelector: ' job="kubelet" ,cluster=~\'eu-.*\' ',
        prometheusMaxAge: '90s',
        forecastWindow: '1d',
      },
      {
        source: 'prometheus',
        prometheus: {
          url: new URL('https://mimir.example/prometheus'),
          headers: {
            'X-Scope-OrgID': 'tenant-1',
            'X-Extra': 'a',
            'X-Other': 'b',
            Authorization: 'Bearer secret-token',
          },
          caPem: '-----BEGIN CERTIFICATE-----\n',
          selector: 'job="kubelet", cluster=~\'eu-.*\'',
          maxAgeMs: 90_000,
          forecastWindowMs: 86_400_000,
        },
      },
    ],
  ])('%s', (_name, raw, plan) => {
    expect(parseStatsOptions(raw, read)).toEqual(ok(plan));
  });

  it.each<[string, RawStatsOptions, string[]]>([
    ['an unknown source', { statsSource: 'nodes' }, ['--stats-source: expected auto, kubelet']],
    ['prometheus without a URL', { statsSource: 'prometheus' }, ['needs --prometheus-url']],
    [
      'a URL that is not http(s)',
      { prometheusUrl: 'ftp://p' },
      ['--prometheus-url: expected an http:// or https:// URL'],
    ],
    [
      'credentials in the URL',
      { prometheusUrl: 'http://u:p@prom:9090' },
      ['credentials in the URL are refused'],
    ],
    ['a query in the URL', { prometheusUrl: `${PROM}/?x=1` }, ['must have no query']],
    [
      'a header without a colon, and a reserved one',
      { prometheusUrl: PROM, prometheusHeader: ['X-Scope-OrgID tenant', 'Host: evil'] },
      ["'Name: value'", 'Host is set by pvc-chonker itself'],
    ],
    [
      'a token file and an Authorization header',
      {
        prometheusUrl: PROM,
        prometheusHeader: ['Authorization: Basic eA=='],
        prometheusBearerTokenFile: '/token',
      },
      ['choose one'],
    ],
    [
      'a missing token file and an empty one',
      { prometheusUrl: PROM, prometheusBearerTokenFile: '/nope' },
      ['--prometheus-bearer-token-file: cannot read /nope (ENOENT)'],
    ],
    [
      'an empty token file',
      { prometheusUrl: PROM, prometheusBearerTokenFile: '/empty' },
      ['/empty is empty'],
    ],
    [
      'a selector that is not label matchers',
      { prometheusUrl: PROM, prometheusSelector: 'job=kubelet' },
      ['--prometheus-selector: expected a quoted value after job='],
    ],
    [
      'a selector with braces',
      { prometheusUrl: PROM, prometheusSelector: '{job="kubelet"}' },
      ['--prometheus-selector: expected a label name'],
    ],
    [
      'a max age that is no duration, or zero',
      { prometheusUrl: PROM, prometheusMaxAge: '0s' },
      ['--prometheus-max-age: must be longer than 0'],
    ],
    [
      'a forecast window that is no duration',
      { prometheusUrl: PROM, forecastWindow: 'a day' },
      ['--forecast-window: "a day" is not a duration'],
    ],
    [
      'a kubelet CA file and insecure',
      { kubeletCaFile: '/ca.pem', kubeletInsecureSkipTlsVerify: true },
      ['--kubelet-ca-file and --kubelet-insecure-skip-tls-verify: choose one'],
    ],
    [
      'a missing kubelet CA file',
      { kubeletCaFile: '/nope' },
      ['--kubelet-ca-file: cannot read /nope'],
    ],
    [
      'Prometheus flags with a kubelet source',
      { statsSource: 'kubelet-proxy', prometheusUrl: PROM, prometheusSelector: 'job="k"' },
      [
        '--prometheus-url is not used with --stats-source kubelet-proxy',
        '--prometheus-selector is not used',
      ],
    ],
    [
      'kubelet flags with Prometheus (auto with a URL)',
      { prometheusUrl: PROM, kubeletInsecureSkipTlsVerify: true },
      ['--kubelet-insecure-skip-tls-verify is not used with --stats-source prometheus'],
    ],
  ])('refuses %s, naming the flags', (_name, raw, messages) => {
    const parsed = parseStatsOptions(raw, read);

    expect(parsed.ok).toBe(false);
    for (const message of messages) expect(parsed.ok ? '' : parsed.error).toContain(message);
  });

  it('reports every problem at once', () => {
    const parsed = parseStatsOptions(
      {
        statsSource: 'prometheus',
        prometheusUrl: 'ftp://p',
        prometheusSelector: 'x',
        prometheusMaxAge: 'soon',
      },
      read,
    );

    expect(parsed.ok ? [] : parsed.error.split('; ')).toHaveLength(3);
  });
});
