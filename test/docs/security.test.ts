// docs/security.md explains every RBAC rule the manifests grant, and its stats source table
// gives each source the node rules its kustomize component (or the base) really grants.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_KUBECTL, KUBECTL, ROOT, parseObjects, run } from '../chart/tools.js';

interface Rule {
  resources: string[];
  verbs: string[];
}

const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');

function section(from: string, to: string): string {
  return doc.slice(doc.indexOf(from), doc.indexOf(to));
}

function pairs(rules: readonly Rule[]): [string, string][] {
  return rules.flatMap((r) =>
    r.resources.flatMap((res) => r.verbs.map((v): [string, string] => [res, v])),
  );
}

describe('docs/security.md', () => {
  const table = section('## RBAC of the CronJob', '### Where usage is read');

  it('has a row with the verb for every resource and verb of cronjob/rbac.yaml', () => {
    const role = parseObjects(readFileSync(join(ROOT, 'cronjob/rbac.yaml'), 'utf8')).find(
      (o) => o.kind === 'ClusterRole',
    ) as unknown as { rules: Rule[] };
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));

    expect(pairs(role.rules).length).toBeGreaterThanOrEqual(8);
    for (const [resource, verb] of pairs(role.rules)) {
      const row = rows.find((l) => l.includes(`\`${resource}`) && l.includes(`\`${verb}\``));
      expect(row, `no row for ${resource} ${verb}`).toBeDefined();
    }
  });

  it.skipIf(!HAVE_KUBECTL).each([
    ['kubelet', undefined],
    ['kubelet-proxy', 'kubelet-proxy'],
    ['prometheus', 'prometheus'],
  ])(
    'the %s row of the stats source table names exactly the node rules it grants',
    async (source, component) => {
      const dir = await mkdtemp(join(tmpdir(), 'pvc-chonker-security-'));
      await run('ln', ['-s', join(ROOT, 'cronjob'), join(dir, 'cronjob')]);
      await mkdir(join(dir, 'overlay'));
      const components =
        component === undefined ? '' : `components: [../cronjob/components/${component}]\n`;
      await writeFile(
        join(dir, 'overlay/kustomization.yaml'),
        `resources: [../cronjob]\n${components}`,
      );
      const k = await run(KUBECTL, ['kustomize', join(dir, 'overlay')]);
      const role = parseObjects(k.stdout).find((o) => o.kind === 'ClusterRole') as unknown as {
        rules: (Rule & { apiGroups: string[] })[];
      };
      // The source's rules: `get` on core nodes and their subresources (TopoLVM's `list` of
      // nodes is a provider's rule, Longhorn's nodes another group's).
      const granted = pairs(role.rules.filter((r) => r.apiGroups.includes('')))
        .filter(
          ([resource, verb]) =>
            (resource === 'nodes' && verb === 'get') || resource.startsWith('nodes/'),
        )
        .map(([resource, verb]) => `\`${resource}\` \`${verb}\``);
      const sources = section('### Where usage is read', '### The `nodes/proxy` caveat');
      const row = sources.split('\n').find((l) => l.startsWith(`| \`${source}\``)) ?? '';
      const cell = row.split('|')[2]?.trim() ?? '';

      expect(k.code, k.stderr).toBe(0);
      expect(cell === 'none' ? [] : cell.split(', ')).toEqual(granted);
    },
  );
});
