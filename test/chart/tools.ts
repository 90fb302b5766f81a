// The real helm and kubectl binaries (scripts/fetch-kubectl.sh puts both in .cache/tools) run as
// processes, and YAML streams read into plain objects.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HELM = `${ROOT}.cache/tools/helm`;
export const KUBECTL = `${ROOT}.cache/tools/kubectl`;
export const CHART = `${ROOT}charts/pvc-chonker`;

export const HAVE_HELM = existsSync(HELM);
export const HAVE_KUBECTL = existsSync(KUBECTL);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  bin: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** Every non-empty document of a YAML stream; fails on a YAML error. */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as unknown;
    })
    .filter((o): o is K8sObject => typeof o === 'object' && o !== null);
}

export function keyOf(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** helm template with the chart, release pvc-chonker in namespace pvc-chonker. */
export async function helmTemplate(...args: string[]): Promise<K8sObject[]> {
  const r = await run(HELM, ['template', 'pvc-chonker', CHART, '-n', 'pvc-chonker', ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')}: ${r.stderr}`);
  return parseObjects(r.stdout);
}

export type Validate = (o: unknown) => void;

/** The kubernetes-models class of an apiVersion/kind, as a validate function. */
export async function validatorFor(apiVersion: string, kind: string): Promise<Validate> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const pkg =
    group === 'monitoring.coreos.com'
      ? '@kubernetes-models/prometheus-operator'
      : group === 'cert-manager.io'
        ? '@kubernetes-models/cert-manager'
        : 'kubernetes-models';
  const path = group === '' ? `${pkg}/${version}/${kind}` : `${pkg}/${group}/${version}/${kind}`;
  const mod = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[kind];
  if (Model === undefined) throw new Error(`no model for ${apiVersion} ${kind}`);
  return (o) => {
    new Model(o).validate();
  };
}
