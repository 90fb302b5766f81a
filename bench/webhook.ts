/**
 * Admission latency of the webhook: 200 requests/s over TLS (keep-alive, as the API server
 * calls), with 1,000 PVCPolicies in the cache, all in the namespace of the PVCs. Twice: with
 * selectors by matchLabels (the index narrows a request to the policies with its label), and
 * with the same selections written as matchExpressions only (the worst case: every request runs
 * all 1,000 selectors). Half /mutate, half /validate. The server runs in a worker thread (its
 * own event loop and heap, as it would be apart from the API server); besides p50, p99 and max,
 * the bench prints how busy and how late the server's loop was, which tells the server's own
 * work from a machine too busy to schedule it. The process runs with the image's node flags (the
 * ENTRYPOINT's, which the webhook's pods run with too): started without them, it starts itself
 * again with them. `make bench` runs it after the scale benchmark.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { admissionSnapshot } from '../src/core/admission.js';
import { parsePvcPolicy, type PvcPolicy } from '../src/core/pvc-policy.js';
import { createWebhookServer } from '../src/webhook/server.js';
import { generateTls, serviceDnsNames, type TlsMaterial } from '../src/webhook/tls.js';
import { imageNodeFlags } from './pushgateway.js';

const POLICIES = 1000;
const RATE = 200;
const SECONDS = Number(process.env['BENCH_WEBHOOK_SECONDS'] ?? '15');
const SERVICE = { namespace: 'pvc-chonker', name: 'pvc-chonker-webhook' };

type Selectors = 'matchLabels' | 'matchExpressions';

function selectorOf(selectors: Selectors, i: number): Record<string, unknown> {
  const tier = { key: 'tier', operator: 'In', values: ['db', 'cache'] };
  return selectors === 'matchLabels'
    ? { matchLabels: { app: `app-${i}` }, matchExpressions: [tier] }
    : { matchExpressions: [{ key: 'app', operator: 'In', values: [`app-${i}`] }, tier] };
}

function policies(selectors: Selectors): PvcPolicy[] {
  const out: PvcPolicy[] = [];
  for (let i = 0; i < POLICIES; i++) {
    const parsed = parsePvcPolicy({
      metadata: { name: `policy-${String(i).padStart(4, '0')}`, namespace: 'db' },
      spec: {
        priority: i % 7,
        selector: selectorOf(selectors, i),
        template: { threshold: '85%', initialSize: '20Gi', maxSize: '1Ti' },
      },
    });
    if (parsed) out.push(parsed);
  }
  return out;
}

function reviewBody(i: number): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${i}`,
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      namespace: 'db',
      operation: 'CREATE',
      object: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: `data-${i}`,
          namespace: 'db',
          labels: { app: `app-${i % (POLICIES * 2)}`, tier: 'db' },
          annotations: { 'pvc-chonker.io/threshold': '90%' },
        },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
      },
    },
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

interface ServerData {
  selectors: Selectors;
  cert: string;
  key: string;
}

/** The server thread's loop over the measured window. */
interface ServerStats {
  /** Fraction of the window the loop was running (eventLoopUtilization). */
  busy: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

/** The worker: serves until asked for its stats, then shuts down. */
async function serve(data: ServerData): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  // The snapshot the cache builds: the same indexes serve the bench.
  const snapshot = admissionSnapshot(policies(data.selectors), []);
  const webhook = createWebhookServer(
    { cert: data.cert, key: data.key },
    {
      snapshot: () => snapshot,
      ready: () => true,
      log: pino({ level: 'silent' }),
      deadlineMs: 4000,
    },
  );
  await new Promise<void>((resolve) => webhook.server.listen(0, '127.0.0.1', resolve));
  const address = webhook.server.address();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let elu = performance.eventLoopUtilization();
  port.on('message', (message: string) => {
    if (message === 'start') {
      delay.enable();
      elu = performance.eventLoopUtilization();
      return;
    }
    const stats: ServerStats = {
      busy: performance.eventLoopUtilization(elu).utilization,
      delayP99Ms: delay.percentile(99) / 1e6,
      delayMaxMs: delay.max / 1e6,
    };
    delay.disable();
    void webhook.shutdown().then(() => {
      port.postMessage(stats);
    });
  });
  port.postMessage(typeof address === 'object' && address !== null ? address.port : 0);
}

async function startServer(
  selectors: Selectors,
  material: TlsMaterial,
): Promise<{ worker: Worker; port: number }> {
  const data: ServerData = { selectors, cert: material.certPem, key: material.keyPem };
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  const [port] = (await once(worker, 'message')) as [number];
  return { worker, port };
}

async function measure(selectors: Selectors, material: TlsMaterial): Promise<string[]> {
  const { worker, port } = await startServer(selectors, material);
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: material.caPem });
  const servername = serviceDnsNames(SERVICE)[0] ?? '';

  const call = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const body = reviewBody(i);
      const started = process.hrtime.bigint();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: i % 2 === 0 ? '/mutate' : '/validate',
          agent,
          servername,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode ?? 0}`));
            else resolve(Number(process.hrtime.bigint() - started) / 1e6);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  // Warm-up (TLS handshakes, JIT), not measured.
  await Promise.all(Array.from({ length: 50 }, (_, i) => call(i)));
  const total = RATE * SECONDS;
  const latencies: Promise<number>[] = [];
  worker.postMessage('start');
  const cpuBefore = process.cpuUsage();
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    latencies.push(call(i));
  }
  const sorted = (await Promise.all(latencies)).sort((a, b) => a - b);
  const elapsed = (Date.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  worker.postMessage('stop');
  const [server] = (await once(worker, 'message')) as [ServerStats];
  await worker.terminate();
  const cpuPerRequestMs = (cpu.user + cpu.system) / 1000 / sorted.length;
  return [
    `webhook admission latency over TLS (keep-alive), ${POLICIES} PVCPolicies selecting by ${selectors}`,
    `requests: ${sorted.length} in ${elapsed.toFixed(1)} s (${(sorted.length / elapsed).toFixed(0)}/s target ${RATE}/s), half /mutate, half /validate`,
    // The tail is sensitive to CPU contention: say how busy the machine was.
    `machine: ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1) ?? '?'}; ${cpuPerRequestMs.toFixed(2)} ms CPU per request (client and server threads)`,
    `server thread: busy ${(server.busy * 100).toFixed(1)}% of the time, event-loop delay p99 ${server.delayP99Ms.toFixed(2)} ms max ${server.delayMaxMs.toFixed(2)} ms`,
    `p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms  max ${(sorted[sorted.length - 1] ?? 0).toFixed(2)} ms  (target p99 < 10 ms)`,
  ];
}

const IMAGE_FLAGS = imageNodeFlags();

if (isMainThread && !IMAGE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  // V8's flags are the process's: a worker cannot be given its own.
  const again = spawnSync(
    process.execPath,
    [...process.execArgv, ...IMAGE_FLAGS, fileURLToPath(import.meta.url)],
    { stdio: 'inherit' },
  );
  process.exit(again.status ?? 1);
} else if (isMainThread) {
  process.stdout.write(`node flags: ${process.execArgv.join(' ')} (the image's)\n\n`);
  const material = await generateTls(SERVICE, new Date());
  for (const selectors of ['matchLabels', 'matchExpressions'] as const) {
    process.stdout.write(`${(await measure(selectors, material)).join('\n')}\n\n`);
  }
} else {
  await serve(workerData as ServerData);
}
