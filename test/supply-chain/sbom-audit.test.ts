// make sbom works offline from the lockfile; make audit (scripts/audit.sh) says in one line that
// the advisory service could not be reached and exits 0, but fails on real findings. A stub npm
// on PATH plays the advisory service's answers.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../chart/tools.js';

function sh(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A directory with an `npm` that prints `json` for `npm audit` and exits with `status`. */
async function stubNpm(json: string, status: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'npm-stub-'));
  await writeFile(join(dir, 'answer.json'), json);
  await writeFile(
    join(dir, 'npm'),
    `#!/bin/sh\ncat "${join(dir, 'answer.json')}"\nexit ${status.toString()}\n`,
  );
  await chmod(join(dir, 'npm'), 0o755);
  return dir;
}

describe('make sbom', () => {
  it('lists exactly the production dependencies of the lockfile, as CycloneDX, offline', async () => {
    const r = await sh(process.execPath, ['scripts/sbom.mjs']);
    const sbom = JSON.parse(r.stdout) as {
      bomFormat: string;
      components: { 'bom-ref': string; name: string }[];
    };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<
        string,
        { name?: string; version?: string; dev?: boolean; devOptional?: boolean }
      >;
    };
    const production = Object.entries(lock.packages)
      .filter(([path, e]) => path !== '' && e.dev !== true && e.devOptional !== true)
      .map(([path, e]) => `${e.name ?? path.replace(/^.*node_modules\//, '')}@${e.version ?? ''}`);

    expect(r.code, r.stderr).toBe(0);
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.components.map((c) => c['bom-ref']).sort()).toEqual(
      [...new Set(production)].sort(),
    );
    // yaml and punycode are production dependencies that `npm sbom --omit=dev` drops.
    expect(sbom.components.map((c) => c.name)).toEqual(
      expect.arrayContaining(['@aws-sdk/client-ec2', 'pino', 'yaml', 'punycode']),
    );
    expect(sbom.components.map((c) => c.name)).not.toContain('vitest');
  });
});

describe('make audit', () => {
  it('says in one line that the advisory service is unreachable, and exits 0', async () => {
    const dir = await stubNpm(
      JSON.stringify({
        message:
          '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
        statusCode: 405,
        error: { summary: '', detail: '' },
      }),
      1,
    );

    const r = await sh('bash', ['scripts/audit.sh'], {
      ...process.env,
      PATH: `${dir}:${process.env['PATH'] ?? ''}`,
    });

    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'npm audit: advisory service unreachable (405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk); skipped',
    ]);
  });

  it('fails when the service reports vulnerabilities', async () => {
    const dir = await stubNpm(
      JSON.stringify({ vulnerabilities: { example: { severity: 'high' } }, metadata: {} }),
      1,
    );

    const r = await sh('bash', ['scripts/audit.sh'], {
      ...process.env,
      PATH: `${dir}:${process.env['PATH'] ?? ''}`,
    });

    expect(r.code).not.toBe(0);
  });
});
