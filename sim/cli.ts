// Argument handling for the pvc-chonker-sim binary, kept apart from main.ts so it can be tested
// in-process.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ebsVolumesFromSeed } from './clouds/ebs-from-seed.js';
import { startEc2Fake } from './clouds/ec2.js';
import { loadSeed, startSimCluster, type SimCluster, type SimClusterOptions } from './index.js';

export const SIM_USAGE =
  'usage: pvc-chonker-sim --seed FILE [--port N] [--kubeconfig-out FILE] [--resize-delay-ms N] [--latency-ms N] [--kubelet-lag-ms N] [--ec2] [--crds DIR] [--webhook-service NS/NAME=HOST:PORT]... [--tls [--ca-out FILE]] [--token USER=TOKEN]... [--anonymous-auth true|false] [--rbac] [--kubelets]\n';

export interface SimCliConfig {
  options: SimClusterOptions;
  kubeconfigPath: string;
  /** Also serve the EC2 API for the seed's EBS volumes (the ready line then carries ec2Url). */
  ec2: boolean;
  /** With --tls, where to write the CA's PEM (the ready line then carries `ca`). */
  caPath?: string;
}

export type SimCliParse =
  { ok: true; config: SimCliConfig } | { ok: false; help: boolean; error: string };

const NUMERIC: [flag: string, key: 'port' | 'resizeDelayMs' | 'latencyMs' | 'kubeletLagMs'][] = [
  ['port', 'port'],
  ['resize-delay-ms', 'resizeDelayMs'],
  ['latency-ms', 'latencyMs'],
  ['kubelet-lag-ms', 'kubeletLagMs'],
];

/** `--webhook-service NS/NAME=HOST:PORT`: where the sim calls a webhook's Service. */
function webhookServices(
  raw: unknown,
): { ok: true; map: Record<string, string> } | { ok: false; error: string } {
  const map: Record<string, string> = {};
  for (const entry of Array.isArray(raw) ? (raw as string[]) : []) {
    const match = /^([a-z0-9-]+\/[a-z0-9-]+)=([^:\s]+:\d+)$/.exec(entry);
    if (!match?.[1] || !match[2])
      return {
        ok: false,
        error: `--webhook-service must be NAMESPACE/SERVICE=HOST:PORT, got ${JSON.stringify(entry)}`,
      };
    map[match[1]] = match[2];
  }
  return { ok: true, map };
}

/** `--token USER=TOKEN` (repeatable) → the token → user map of a static token file. */
function tokens(raw: unknown): Record<string, string> | string {
  const map: Record<string, string> = {};
  for (const entry of Array.isArray(raw) ? (raw as string[]) : []) {
    const match = /^([^=\s]+)=(\S+)$/.exec(entry);
    if (!match?.[1] || !match[2]) return `--token must be USER=TOKEN, got ${JSON.stringify(entry)}`;
    map[match[2]] = match[1];
  }
  return map;
}

type ArgValues = Record<string, string | boolean | string[] | undefined>;

/** `--token` or `--anonymous-auth` turn authentication on, as kube-apiserver's flags would. */
function authenticationFrom(
  values: ArgValues,
): SimClusterOptions['authentication'] | string | undefined {
  const map = tokens(values['token']);
  if (typeof map === 'string') return map;
  const anonymous = values['anonymous-auth'];
  if (anonymous !== undefined && anonymous !== 'true' && anonymous !== 'false')
    return `--anonymous-auth must be true or false, got ${JSON.stringify(anonymous)}`;
  if (Object.keys(map).length === 0 && anonymous === undefined) return undefined;
  return anonymous === undefined
    ? { tokens: map }
    : { tokens: map, anonymous: anonymous === 'true' };
}

/** Authentication (`--token`, `--anonymous-auth`) and authorization (`--rbac`) options. */
function securityFrom(
  values: ArgValues,
): Pick<SimClusterOptions, 'authentication' | 'rbac'> | string {
  const authentication = authenticationFrom(values);
  if (typeof authentication === 'string') return authentication;
  if (values['rbac'] === true && authentication === undefined)
    return '--rbac needs authentication (--token or --anonymous-auth)';
  return {
    ...(authentication === undefined ? {} : { authentication }),
    ...(values['rbac'] === true ? { rbac: true } : {}),
  };
}

/** The cluster options the flags ask for, or the error naming the bad flag. */
function optionsFrom(values: ArgValues, seed: string, cwd: string): SimClusterOptions | string {
  const options: SimClusterOptions = { seed };
  const crds = values['crds'];
  if (typeof crds === 'string') options.crds = resolve(cwd, crds);
  const services = webhookServices(values['webhook-service']);
  if (!services.ok) return services.error;
  if (Object.keys(services.map).length > 0) options.webhookServices = services.map;
  if (values['tls'] === true) options.tls = true;
  if (values['kubelets'] === true) options.kubelets = true;
  const security = securityFrom(values);
  if (typeof security === 'string') return security;
  Object.assign(options, security);
  for (const [flag, key] of NUMERIC) {
    const raw = values[flag];
    if (typeof raw !== 'string') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) return `--${flag} must be a non-negative integer`;
    options[key] = n;
  }
  return options;
}

export function parseSimArgs(argv: string[], cwd: string = process.cwd()): SimCliParse {
  let values: ArgValues;
  try {
    values = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        port: { type: 'string' },
        'kubeconfig-out': { type: 'string' },
        'resize-delay-ms': { type: 'string' },
        'latency-ms': { type: 'string' },
        'kubelet-lag-ms': { type: 'string' },
        ec2: { type: 'boolean' },
        crds: { type: 'string' },
        'webhook-service': { type: 'string', multiple: true },
        tls: { type: 'boolean' },
        'ca-out': { type: 'string' },
        token: { type: 'string', multiple: true },
        'anonymous-auth': { type: 'string' },
        rbac: { type: 'boolean' },
        kubelets: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return { ok: false, help: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (values['help'] === true) return { ok: false, help: true, error: '' };
  const seed = values['seed'];
  if (typeof seed !== 'string') return { ok: false, help: false, error: '--seed FILE is required' };
  const options = optionsFrom(values, resolve(cwd, seed), cwd);
  if (typeof options === 'string') return { ok: false, help: false, error: options };
  const out = values['kubeconfig-out'];
  const caOut = values['ca-out'];
  if (typeof caOut === 'string' && options.tls !== true)
    return { ok: false, help: false, error: '--ca-out needs --tls' };
  const config: SimCliConfig = {
    options,
    kubeconfigPath: resolve(cwd, typeof out === 'string' ? out : 'sim.kubeconfig'),
    ec2: values['ec2'] === true,
  };
  if (typeof caOut === 'string') config.caPath = resolve(cwd, caOut);
  return { ok: true, config };
}

/** Starts the sim, writes the kubeconfig, and emits the single ready line. */
export async function startFromConfig(
  config: SimCliConfig,
  writeLine: (line: string) => void,
): Promise<SimCluster> {
  const seed =
    typeof config.options.seed === 'string'
      ? await loadSeed(config.options.seed)
      : config.options.seed;
  const sim = await startSimCluster({ ...config.options, seed });
  await sim.writeKubeconfig(config.kubeconfigPath);
  const ready: Record<string, string> = { url: sim.url, kubeconfig: config.kubeconfigPath };
  if (config.caPath !== undefined && sim.tls !== undefined) {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the --ca-out path the operator of the simulator named
    await writeFile(config.caPath, sim.tls.caPem);
    ready['ca'] = config.caPath;
  }
  if (!config.ec2) {
    writeLine(JSON.stringify(ready));
    return sim;
  }
  const ec2 = await startEc2Fake({ volumes: ebsVolumesFromSeed(seed) });
  writeLine(JSON.stringify({ ...ready, ec2Url: ec2.url }));
  // One handle for the caller: closing the cluster closes the EC2 API too.
  return {
    ...sim,
    close: async () => Promise.all([sim.close(), ec2.close()]).then(() => undefined),
  };
}
