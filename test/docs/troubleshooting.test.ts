// docs/troubleshooting.md covers the whole vocabulary, read from the source, and its kubectl
// commands run against the simulated cluster where they can.
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { HAVE_KUBECTL, KUBECTL, ROOT, run } from '../chart/tools.js';
import { baseSeed } from '../sim/fixtures.js';

const DOC = readFileSync(join(ROOT, 'docs/troubleshooting.md'), 'utf8');

/** The members of `export type NAME = | 'a' | 'b' ...;` in a source file. */
function unionWords(file: string, type: string): string[] {
  // Comments dropped: they may contain ';' or quotes.
  const source = readFileSync(join(ROOT, file), 'utf8').replace(/\/\/.*$/gm, '');
  // eslint-disable-next-line security/detect-non-literal-regexp -- a type name from this test
  const block = new RegExp(`export type ${type} =([^;]*);`).exec(source)?.[1];
  if (block === undefined) throw new Error(`${file}: no type ${type}`);
  return [...block.matchAll(/'([a-z-]+)'/g)].map((m) => m[1] ?? '');
}

/** The values of `export const EXIT = { ok: 0, ... }` in src/main.ts. */
function exitStatuses(): number[] {
  const source = readFileSync(join(ROOT, 'src/main.ts'), 'utf8');
  const body = /export const EXIT = \{([^}]*)\}/.exec(source)?.[1] ?? '';
  return [...body.matchAll(/:\s*(\d+)/g)].map((m) => Number(m[1]));
}

/** The `### \`word\`` entries, each with its text up to the next heading. */
function entries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of DOC.matchAll(/^### (.+)\n([\s\S]*?)(?=^##)/gm)) out.set(m[1] ?? '', m[2] ?? '');
  // The last entry runs to the end of the file.
  const last = /^### (.+)\n([\s\S]*)$/m.exec(DOC.slice(DOC.lastIndexOf('\n### ') + 1));
  if (last) out.set(last[1] ?? '', last[2] ?? '');
  return out;
}

describe('docs/troubleshooting.md', () => {
  const reasons = unionWords('src/core/outcome.ts', 'Reason');

  it('has an entry that says what to do for every reason word of the source', () => {
    const doc = entries();

    expect(reasons.length).toBeGreaterThanOrEqual(19);
    for (const word of reasons) {
      const text = doc.get(`\`${word}\``);
      expect(text, `docs/troubleshooting.md has no entry "### \`${word}\`"`).toBeDefined();
      expect(text, word).toMatch(/\*\*Means:\*\*/);
    }
  });

  it('has an entry for every exit status of src/main.ts', () => {
    const doc = entries();
    const statuses = exitStatuses();

    expect(statuses).toEqual([0, 1, 2, 3, 4]);
    for (const status of statuses) {
      expect(doc.has(`Exit status ${status.toString()}`), `exit status ${status.toString()}`).toBe(
        true,
      );
    }
  });

  it('documents no word the source does not have', () => {
    const words = [...entries().keys()]
      .filter((h) => h.startsWith('`'))
      .map((h) => h.replaceAll('`', ''));

    expect(words.filter((w) => !reasons.includes(w))).toEqual([]);
  });
});

describe.skipIf(!HAVE_KUBECTL)('docs/troubleshooting.md commands against the sim', () => {
  let sim: SimCluster;
  let kubeconfig: string;
  let cacheDir: string;

  beforeAll(async () => {
    sim = await startSimCluster({
      seed: baseSeed([{ ns: 'db', name: 'data-pg-0', size: '20Gi', node: 'n1', usedGi: 18 }]),
    });
    const dir = await mkdtemp(join(tmpdir(), 'docs-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    cacheDir = join(dir, 'cache');
    await sim.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sim.close();
  });

  /**
   * The single-line kubectl commands of the sh blocks that read or annotate PVCs, events, storage
   * classes and kubelet stats: what the sim serves. NS/PVC/NODE/CLASS become seeded names.
   */
  function runnableCommands(): string[][] {
    const lines = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
      (m[1] ?? '').split('\n'),
    );
    return lines
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('kubectl ') && !/[|\\]|\$\(/.test(l))
      .map((l) =>
        l
          .replace(/\bNS\b/g, 'db')
          .replace(/\bPVC\b/g, 'data-pg-0')
          .replace(/\bNODE\b/g, 'n1')
          .replace(/\bCLASS\b/g, 'fast')
          // The size the seeded claim already has: the patch is valid and changes nothing.
          .replace(/\bSIZE\b/g, '20Gi'),
      )
      .map((l) => [...l.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? ''))
      .filter((argv) => {
        const text = argv.join(' ');
        return (
          /^kubectl (-n db )?(get|annotate|patch) /.test(text) &&
          /(pvc|events|storageclass|--raw)/.test(text) &&
          !/pvcpol|pvcgrp|-n pvc-chonker|resourcequota/.test(text)
        );
      });
  }

  it('runs every such command successfully', async () => {
    const commands = runnableCommands();

    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const argv of commands) {
      const r = await run(KUBECTL, [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        cacheDir,
        ...argv.slice(1),
      ]);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
    }
  });
});
