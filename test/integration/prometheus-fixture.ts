/**
 * Debian's real `prometheus` scraping kubelets' /metrics over HTTPS with a bearer token, for the
 * tests of the prometheus source (the simulator's kubelets, or the real tier's fake kubelets),
 * and the fleet the source tables read through it.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PROMETHEUS_BIN,
  startPrometheusWith,
  type HistorySeries,
  type RunningPrometheus,
} from '../../bench/prometheus-processes.js';
import { seed, type Claim } from './harness.js';

export const HAVE_PROMETHEUS = ((): boolean => {
  try {
    execFileSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** HAVE_PROMETHEUS, writing the skip note of the test file `file` when it is false. */
export function havePrometheus(file: string): boolean {
  if (!HAVE_PROMETHEUS) {
    process.stderr.write(`${file} skipped: no prometheus; run scripts/install-system-deps.sh\n`);
  }
  return HAVE_PROMETHEUS;
}

/** Every verdict the usage drives, in namespace db. */
export const TABLE_FLEET: readonly Claim[] = [
  { name: 'full', usedPercent: 95, node: 'node-a' },
  { name: 'calm', usedPercent: 40, node: 'node-a' },
  { name: 'inodes', usedPercent: 10, inodes: 1000, inodesUsed: 900, node: 'node-a' },
  {
    name: 'quantity',
    usedPercent: 85,
    annotations: { 'pvc-chonker.io/threshold': '2Gi' },
    node: 'node-a',
  },
  {
    name: 'capped',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/max-size': '10Gi' },
    node: 'node-b',
  },
  {
    name: 'cooling',
    usedPercent: 95,
    annotations: { 'pvc-chonker.io/last-expansion': new Date(Date.now() - 60_000).toISOString() },
    node: 'node-b',
  },
  { name: 'resized', usedPercent: 50, sizeGi: 20, node: 'node-b' },
  { name: 'big', usedPercent: 88, sizeGi: 3000, node: 'node-b' },
  { name: 'unmounted', usedPercent: 95, unmounted: true },
];

/**
 * What kube-prometheus-stack grants its Prometheus (the ServiceAccount monitoring/prometheus) to
 * scrape the kubelets.
 */
export const PROMETHEUS_SCRAPE_RBAC: readonly Record<string, unknown>[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'prometheus-kubelet' },
    rules: [{ apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'prometheus-kubelet' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'prometheus-kubelet',
    },
    subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
  },
];

/** The seed of `claims`, a 2 GiB filesystem overhead on `resized` (kubelet capacity lags). */
export function fleetSeed(claims: readonly Claim[]): ReturnType<typeof seed> {
  const fleet = seed([...claims]);
  const resized = fleet.usage.find((u) => u.pvc === 'resized');
  if (resized !== undefined) Object.assign(resized, { fsOverheadBytes: 2 * 1024 ** 3 });
  return fleet;
}

/**
 * A Prometheus that scrapes the kubelets at `targets` (host:port) every second, as job
 * `kubelet`, verifying them with `caPem` (written to dir/caFile) and sending `token`.
 */
export async function startKubeletPrometheus(scrape: {
  dir: string;
  caFile: string;
  caPem: string;
  token: string;
  targets: string[];
  /** Every second unless told: a bench with 200 kubelets asks for less. */
  interval?: string;
  /** Samples from before it started: startPrometheusWith. */
  history?: readonly HistorySeries[];
}): Promise<RunningPrometheus> {
  const caFile = join(scrape.dir, scrape.caFile);
  await writeFile(caFile, scrape.caPem);
  const interval = scrape.interval ?? '1s';
  return startPrometheusWith(
    {
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: 'kubelet',
          honor_labels: true,
          scheme: 'https',
          tls_config: { ca_file: caFile },
          authorization: { credentials: scrape.token },
          static_configs: [{ targets: scrape.targets }],
        },
      ],
    },
    scrape.history,
  );
}

/** A pass that reads Prometheus at `url` for its stats and its 6 h forecast, reported as JSON. */
export function prometheusPassArgs(url: string): string[] {
  return [
    ...['--output', 'json', '--stats-source', 'prometheus'],
    ...['--prometheus-url', url, '--forecast-window', '6h'],
  ];
}

/** The series of an instant query. */
export async function queryPrometheus(
  prometheus: RunningPrometheus,
  expr: string,
): Promise<{ metric: Record<string, string> }[]> {
  const url = new URL('api/v1/query', prometheus.url);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as {
    data: { result: { metric: Record<string, string> }[] };
  };
  return body.data.result;
}

/** Until `done` (polled every 250 ms, for at most `withinMs`, 30 s); then fails naming the targets. */
export async function untilScraped(
  prometheus: RunningPrometheus,
  done: () => Promise<boolean>,
  withinMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await done()) return;
    if (Date.now() > deadline) {
      const targets = await (await fetch(new URL('api/v1/targets', prometheus.url))).text();
      throw new Error(`prometheus did not scrape: ${targets} ${prometheus.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
