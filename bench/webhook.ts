/**
 * Admission latency of the webhook: 200 requests/s over TLS (keep-alive, as the API server
 * calls), with 1,000 PVCPolicies in the cache, all in the namespace of the PVCs (the worst case:
 * every request runs the selector of all 1,000). Half /mutate, half /validate. Prints p50, p99
 * and max. `make bench` runs it after the scale benchmark.
 */
import { Agent, request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { admissionSnapshot } from '../src/core/admission.js';
import { parsePvcPolicy, type PvcPolicy } from '../src/core/pvc-policy.js';
import { createWebhookServer } from '../src/webhook/server.js';
import { generateTls, serviceDnsNames } from '../src/webhook/tls.js';

const POLICIES = 1000;
const RATE = 200;
const SECONDS = Number(process.env['BENCH_WEBHOOK_SECONDS'] ?? '15');
const SERVICE = { namespace: 'pvc-chonker', name: 'pvc-chonker-webhook' };

function policies(): PvcPolicy[] {
  const out: PvcPolicy[] = [];
  for (let i = 0; i < POLICIES; i++) {
    const parsed = parsePvcPolicy({
      metadata: { name: `policy-${String(i).padStart(4, '0')}`, namespace: 'db' },
      spec: {
        priority: i % 7,
        selector: {
          matchLabels: { app: `app-${i}` },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }],
        },
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

async function main(): Promise<void> {
  const material = await generateTls(SERVICE, new Date());
  const list = policies();
  // The snapshot the cache builds: the same indexes serve the bench.
  const snapshot = admissionSnapshot(list, []);
  const webhook = createWebhookServer(
    { cert: material.certPem, key: material.keyPem },
    {
      snapshot: () => snapshot,
      ready: () => true,
      log: pino({ level: 'silent' }),
      deadlineMs: 4000,
    },
  );
  await new Promise<void>((resolve) => webhook.server.listen(0, '127.0.0.1', resolve));
  const address = webhook.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
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
  // To tell the server's own work from a busy machine: the CPU this process used per request,
  // and how late the event loop ran (a descheduled process is late without using CPU).
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
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
  loopDelay.disable();
  const cpuPerRequestMs = (cpu.user + cpu.system) / 1000 / sorted.length;
  agent.destroy();
  await webhook.shutdown();
  const out = [
    `webhook admission latency over TLS (keep-alive), ${POLICIES} PVCPolicies in the cache`,
    `requests: ${sorted.length} in ${elapsed.toFixed(1)} s (${(sorted.length / elapsed).toFixed(0)}/s target ${RATE}/s), half /mutate, half /validate`,
    // The tail is sensitive to CPU contention: say how busy the machine was.
    `machine: ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1) ?? '?'} (client and server share this process)`,
    `this process: ${cpuPerRequestMs.toFixed(2)} ms CPU per request (client and server), event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(2)} ms max ${(loopDelay.max / 1e6).toFixed(2)} ms`,
    `p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms  max ${(sorted[sorted.length - 1] ?? 0).toFixed(2)} ms  (target p99 < 10 ms)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
