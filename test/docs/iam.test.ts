// The IAM files users apply (docs/providers/) grant exactly the cloud calls the source makes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../chart/tools.js';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

describe('IAM policy files', () => {
  it('aws-iam-policy.json allows each EC2 call of src/providers/aws.ts, and nothing else', () => {
    const calls = [...read('src/providers/aws.ts').matchAll(/new sdk\.(\w+)Command\(/g)].map(
      (m) => `ec2:${m[1] ?? ''}`,
    );
    const policy = JSON.parse(read('docs/providers/aws-iam-policy.json')) as {
      Statement: { Effect: string; Action: string[]; Resource: string }[];
    };

    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual([...new Set(calls)].sort());
    expect(policy.Statement.every((s) => s.Effect === 'Allow' && s.Resource === '*')).toBe(true);
  });

  it('aws-irsa-trust-policy.json trusts the service account the chart and cronjob/ create', () => {
    const trust = read('docs/providers/aws-irsa-trust-policy.json');

    expect(() => JSON.parse(trust) as unknown).not.toThrow();
    expect(trust).toContain('"system:serviceaccount:pvc-chonker:pvc-chonker"');
    expect(trust).toContain('sts:AssumeRoleWithWebIdentity');
  });

  it('gcp-role.yaml has each Compute permission src/providers/gcp.ts names, and nothing else', () => {
    const needed = [...read('src/providers/gcp.ts').matchAll(/'(compute\.\w+\.get)'/g)].map(
      (m) => m[1] ?? '',
    );
    const role = parse(read('docs/providers/gcp-role.yaml')) as { includedPermissions: string[] };

    expect(needed.length).toBeGreaterThanOrEqual(2);
    expect([...role.includedPermissions].sort()).toEqual([...new Set(needed)].sort());
  });
});
