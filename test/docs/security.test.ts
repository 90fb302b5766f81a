// docs/security.md explains every RBAC rule the manifests grant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, parseObjects } from '../chart/tools.js';

interface Rule {
  resources: string[];
  verbs: string[];
}

describe('docs/security.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const table = doc.slice(
    doc.indexOf('## RBAC of the CronJob'),
    doc.indexOf('### The `nodes/proxy`'),
  );

  it('has a row with the verb for every resource and verb of cronjob/rbac.yaml', () => {
    const role = parseObjects(readFileSync(join(ROOT, 'cronjob/rbac.yaml'), 'utf8')).find(
      (o) => o.kind === 'ClusterRole',
    ) as unknown as { rules: Rule[] };
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    const pairs = role.rules.flatMap((r) =>
      r.resources.flatMap((res) => r.verbs.map((v) => [res, v])),
    );

    expect(pairs.length).toBeGreaterThanOrEqual(8);
    for (const [resource = '', verb = ''] of pairs) {
      const row = rows.find((l) => l.includes(`\`${resource}`) && l.includes(`\`${verb}\``));
      expect(row, `no row for ${resource} ${verb}`).toBeDefined();
    }
  });
});
