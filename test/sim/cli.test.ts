import { mkdtemp, readFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSimArgs, startFromConfig } from '../../sim/cli.js';

const DEMO = fileURLToPath(new URL('../fixtures/sim/demo-fleet.yaml', import.meta.url));

describe('pvc-chonker-sim arguments', () => {
  it('parses every option relative to the working directory', () => {
    const parsed = parseSimArgs(
      [
        '--seed',
        'fleet.yaml',
        '--port',
        '8080',
        '--kubeconfig-out',
        'out/kc',
        '--resize-delay-ms',
        '50',
        '--latency-ms',
        '5',
      ],
      '/tmp/x',
    );

    expect(parsed).toEqual({
      ok: true,
      config: {
        options: { seed: '/tmp/x/fleet.yaml', port: 8080, resizeDelayMs: 50, latencyMs: 5 },
        kubeconfigPath: '/tmp/x/out/kc',
        ec2: false,
      },
    });
  });

  it('maps each --webhook-service to the address the sim calls for that Service', () => {
    const parsed = parseSimArgs(
      [
        '--seed',
        'f',
        '--webhook-service',
        'pvc-chonker/pvc-chonker-webhook=127.0.0.1:9443',
        '--webhook-service',
        'other/hook=127.0.0.1:9444',
      ],
      '/tmp/x',
    );

    expect(parsed.ok && parsed.config.options.webhookServices).toEqual({
      'pvc-chonker/pvc-chonker-webhook': '127.0.0.1:9443',
      'other/hook': '127.0.0.1:9444',
    });
  });

  it('turns on RBAC (with authentication only) and the direct kubelets', () => {
    const parsed = parseSimArgs(
      ['--seed', 'f', '--token', 'u=t', '--rbac', '--kubelets'],
      '/tmp/x',
    );
    const without = parseSimArgs(['--seed', 'f', '--rbac'], '/tmp/x');

    expect(parsed.ok && parsed.config.options).toMatchObject({
      authentication: { tokens: { t: 'u' } },
      rbac: true,
      kubelets: true,
    });
    expect(without).toEqual({
      ok: false,
      help: false,
      error: '--rbac needs authentication (--token or --anonymous-auth)',
    });
  });

  it('turns on TLS and authentication with --tls, --token and --anonymous-auth', () => {
    const parsed = parseSimArgs(
      [
        '--seed',
        'f',
        '--tls',
        '--ca-out',
        'ca.crt',
        '--token',
        'ops=ops-token',
        '--token',
        'system:serviceaccount:pvc-chonker:pvc-chonker=sa-token',
        '--anonymous-auth',
        'false',
      ],
      '/tmp/x',
    );

    expect(parsed.ok && parsed.config).toMatchObject({
      options: {
        tls: true,
        authentication: {
          tokens: {
            'ops-token': 'ops',
            'sa-token': 'system:serviceaccount:pvc-chonker:pvc-chonker',
          },
          anonymous: false,
        },
      },
      caPath: '/tmp/x/ca.crt',
    });
  });

  it('keeps authentication off without --token or --anonymous-auth', () => {
    const parsed = parseSimArgs(['--seed', 'f', '--tls']);

    expect(parsed.ok && parsed.config.options).not.toHaveProperty('authentication');
  });

  it.each([
    [[], '--seed FILE is required'],
    [['--seed', 'f', '--port', 'abc'], '--port must be a non-negative integer'],
    [['--seed', 'f', '--bogus'], "Unknown option '--bogus'"],
    [
      ['--seed', 'f', '--webhook-service', 'pvc-chonker-webhook=127.0.0.1:8443'],
      '--webhook-service must be NAMESPACE/SERVICE=HOST:PORT, got "pvc-chonker-webhook=127.0.0.1:8443"',
    ],
    [['--seed', 'f', '--token', 'just-a-token'], '--token must be USER=TOKEN, got "just-a-token"'],
    [['--seed', 'f', '--anonymous-auth', 'no'], '--anonymous-auth must be true or false, got "no"'],
    [['--seed', 'f', '--ca-out', 'ca.crt'], '--ca-out needs --tls'],
  ])('rejects %j', (argv, error) => {
    const parsed = parseSimArgs(argv);

    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(error);
  });

  it('starts, writes a plain-http kubeconfig and prints one ready line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    const lines: string[] = [];
    const parsed = parseSimArgs(['--seed', DEMO, '--kubeconfig-out', join(dir, 'kc')]);
    if (!parsed.ok) throw new Error(parsed.error);

    const sim = await startFromConfig(parsed.config, (line) => lines.push(line));
    try {
      const ready = JSON.parse(lines[0] ?? '{}') as { url: string; kubeconfig: string };
      const kc = parse(await readFile(ready.kubeconfig, 'utf8')) as {
        clusters: { cluster: Record<string, unknown> }[];
        'current-context': string;
        users: { user: { token: string } }[];
      };

      expect(lines).toHaveLength(1);
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(kc.clusters[0]?.cluster).toEqual({
        server: ready.url,
        'insecure-skip-tls-verify': true,
      });
      expect(kc['current-context']).toBe('sim');
      expect(kc.users[0]?.user.token).toBeTruthy();
    } finally {
      await sim.close();
    }
  });

  it('with --tls, writes a kubeconfig carrying the CA, and the CA where --ca-out says', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    const lines: string[] = [];
    const parsed = parseSimArgs([
      '--seed',
      DEMO,
      '--tls',
      '--ca-out',
      join(dir, 'ca.crt'),
      '--kubeconfig-out',
      join(dir, 'kc'),
      '--token',
      'ops=ops-token',
    ]);
    if (!parsed.ok) throw new Error(parsed.error);

    const sim = await startFromConfig(parsed.config, (line) => lines.push(line));
    try {
      const ready = JSON.parse(lines[0] ?? '{}') as { url: string; kubeconfig: string; ca: string };
      const caPem = await readFile(ready.ca, 'utf8');
      const kc = parse(await readFile(ready.kubeconfig, 'utf8')) as {
        clusters: { cluster: Record<string, unknown> }[];
      };
      const status = await new Promise<number | undefined>((done, fail) => {
        get(
          `${ready.url}/api/v1/nodes`,
          { ca: caPem, headers: { Authorization: 'Bearer ops-token' } },
          (res) => {
            res.resume();
            done(res.statusCode);
          },
        ).on('error', fail);
      });

      expect(ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(caPem).toBe(sim.tls?.caPem);
      expect(kc.clusters[0]?.cluster).toEqual({
        server: ready.url,
        'certificate-authority-data': Buffer.from(caPem).toString('base64'),
      });
      expect(status).toBe(200);
      expect(sim.requests.at(-1)?.user).toBe('ops');
    } finally {
      await sim.close();
    }
  });
});
