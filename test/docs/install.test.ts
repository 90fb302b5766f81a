// The install commands of the docs, run where they can be without a cluster: every `helm install`
// / `helm upgrade` of the chart renders with `helm template`, and the kustomize overlay of
// docs/install.md builds and sets what it says.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_HELM, HAVE_KUBECTL, HELM, KUBECTL, ROOT, parseObjects, run } from '../chart/tools.js';

const DOCS = [
  'README.md',
  'docs/install.md',
  'docs/providers/aws.md',
  'docs/providers/gcp.md',
  'charts/pvc-chonker/README.md',
  'examples/dry-run-rollout/README.md',
];

/** Shell words of one command line (single quotes, backslash escapes), as sh would pass them. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|((?:\\.|[^\s'])+)/g)].map((m) =>
    m[1] !== undefined ? m[1] : (m[2] ?? '').replace(/\\(.)/g, '$1'),
  );
}

/** The `helm install|upgrade ... charts/pvc-chonker ...` commands of the docs, joined lines. */
function helmCommands(): { file: string; argv: string[] }[] {
  return DOCS.flatMap((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/\\\n\s*/g, ' ');
    return [
      ...text.matchAll(/^\s*(helm (?:install|upgrade) [^\n]*charts\/pvc-chonker[^\n]*)$/gm),
    ].map((m) => ({ file, argv: words((m[1] ?? '').replace(/\s+#.*$/, '')) }));
  });
}

describe.skipIf(!HAVE_HELM)('helm commands of the docs', () => {
  it('render with helm template', async () => {
    const commands = helmCommands();

    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const { file, argv } of commands) {
      // install NAME CHART / upgrade [--install] NAME CHART: the same flags work for template.
      const flags = argv
        .slice(2)
        .filter((a) => !['--install', '--create-namespace', '--reuse-values'].includes(a));
      const r = await run(HELM, ['template', ...flags], { cwd: ROOT });
      expect(r.code, `${file}: ${argv.join(' ')}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('kind: ClusterRole');
    }
  });
});

describe.skipIf(!HAVE_KUBECTL)('the kustomize overlay of docs/install.md', () => {
  it('builds, and sets the cluster name', async () => {
    const doc = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
    const overlay = /```yaml\n# my-cluster\/kustomization.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    const dir = await mkdtemp(join(tmpdir(), 'overlay-'));
    await mkdir(join(dir, 'my-cluster'));
    await writeFile(join(dir, 'my-cluster/kustomization.yaml'), overlay ?? '');
    // The overlay refers to ../cronjob, as from a sibling of the repository's cronjob/.
    await run('ln', ['-s', join(ROOT, 'cronjob'), join(dir, 'cronjob')]);

    const r = await run(KUBECTL, ['kustomize', join(dir, 'my-cluster')]);
    const cron = parseObjects(r.stdout).find((o) => o.kind === 'CronJob') as unknown as {
      spec: { jobTemplate: { spec: { template: { spec: { containers: { env: unknown[] }[] } } } } };
    };

    expect(overlay).toBeDefined();
    expect(r.code, r.stderr).toBe(0);
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'PVC_CHONKER_CLUSTER_NAME',
      value: 'prod-eu-1',
    });
  });
});
