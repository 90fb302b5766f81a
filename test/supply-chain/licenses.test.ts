// scripts/check-licenses.mjs (make licenses): the production tree's licences against the allow-list.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['scripts/check-licenses.mjs', ...args],
      { cwd: ROOT },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('licence allow-list', () => {
  it("accepts the project's production dependencies and lists their licences", async () => {
    const r = await check('--list');

    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\tMIT$/m);
    expect(r.stdout).toMatch(/^\d+\tApache-2.0$/m);
    expect(r.stderr).toMatch(/licences: \d+ production packages, all on the allow-list/);
  });

  it('fails on a copyleft or unlabelled production dependency, naming it', async () => {
    const r = await check('--lockfile', 'test/fixtures/licenses/package-lock.json');

    expect(r.code).toBe(1);
    expect(r.stderr).toContain('copyleft@4.1.0: AGPL-3.0-or-later');
    expect(r.stderr).toContain('unlabelled@0.1.0: (none)');
    // A dual licence with a permissive choice, a dev-only package and the project itself pass.
    expect(r.stderr).not.toMatch(/dual|dev-only-gpl|licence-fixture/);
  });
});
