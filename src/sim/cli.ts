// Argument handling for the pvc-chonker-sim binary, kept apart from main.ts so it can be tested
// in-process.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ebsVolumesFromSeed } from './clouds/ebs-from-seed.js';
import { startEc2Fake } from './clouds/ec2.js';
import { loadSeed, startSimCluster, type SimCluster, type SimClusterOptions } from './index.js';

export const SIM_USAGE =
  'usage: pvc-chonker-sim --seed FILE [--port N] [--kubeconfig-out FILE] [--resize-delay-ms N] [--latency-ms N] [--kubelet-lag-ms N] [--ec2] [--crds DIR] [--webhook-service NS/NAME=HOST:PORT]...\n';

export interface SimCliConfig {
  options: SimClusterOptions;
  kubeconfigPath: string;
  /** Also serve the EC2 API for the seed's EBS volumes (the ready line then carries ec2Url). */
  ec2: boolean;
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

type ArgValues = Record<string, string | boolean | string[] | undefined>;

/** The cluster options the flags ask for, or the error naming the bad flag. */
function optionsFrom(values: ArgValues, seed: string, cwd: string): SimClusterOptions | string {
  const options: SimClusterOptions = { seed };
  const crds = values['crds'];
  if (typeof crds === 'string') options.crds = resolve(cwd, crds);
  const services = webhookServices(values['webhook-service']);
  if (!services.ok) return services.error;
  if (Object.keys(services.map).length > 0) options.webhookServices = services.map;
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
  return {
    ok: true,
    config: {
      options,
      kubeconfigPath: resolve(cwd, typeof out === 'string' ? out : 'sim.kubeconfig'),
      ec2: values['ec2'] === true,
    },
  };
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
  if (!config.ec2) {
    writeLine(JSON.stringify({ url: sim.url, kubeconfig: config.kubeconfigPath }));
    return sim;
  }
  const ec2 = await startEc2Fake({ volumes: ebsVolumesFromSeed(seed) });
  writeLine(JSON.stringify({ url: sim.url, kubeconfig: config.kubeconfigPath, ec2Url: ec2.url }));
  // One handle for the caller: closing the cluster closes the EC2 API too.
  return {
    ...sim,
    close: async () => Promise.all([sim.close(), ec2.close()]).then(() => undefined),
  };
}
