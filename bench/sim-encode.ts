/**
 * What the sim's answers cost it on make bench's fleet (10,000 managed + 10,000 unmanaged PVCs
 * on 1,000 nodes): start-up, then every PVC, PV and Pod listed in pages of 500 as JSON and as
 * protobuf, twice each, with and without `preserialize`. CPU of this process (the sim is in
 * it; the client only collects the bytes and finds the continue token).
 *
 *   node --expose-gc dist/bench/sim-encode.js
 */
import http from 'node:http';
import { startSimCluster, type SimCluster } from '../sim/index.js';
import { benchFleet } from './fleet.js';

const FLEET = { managed: 10_000, unmanaged: 10_000, nodes: 1_000, overThreshold: 0.1 };
const ACCEPTS = {
  json: 'application/json',
  protobuf: 'application/vnd.kubernetes.protobuf, application/json',
};
const LISTS = ['persistentvolumeclaims', 'persistentvolumes', 'pods'];

function get(url: string, accept: string): Promise<{ body: Buffer; contentType: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { accept } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ body: Buffer.concat(chunks), contentType: res.headers['content-type'] ?? '' });
        });
      })
      .on('error', reject);
  });
}

/** Pages through one list; the continue token is found in the bytes (no parse on this side). */
async function listAll(sim: SimCluster, resource: string, accept: string): Promise<number> {
  let bytes = 0;
  let token: string | undefined;
  do {
    const query = `limit=500${token === undefined ? '' : `&continue=${encodeURIComponent(token)}`}`;
    const answer = await get(`${sim.url}/api/v1/${resource}?${query}`, accept);
    bytes += answer.body.length;
    token = continueToken(answer.body, answer.contentType);
  } while (token !== undefined);
  return bytes;
}

function continueToken(body: Buffer, contentType: string): string | undefined {
  // The list metadata comes first in both formats; the sim's tokens are base64url JSON.
  const head = body.subarray(0, 1024).toString('latin1');
  if (contentType === 'application/json') return /"continue":"([\w-]+)"/.exec(head)?.[1];
  return /eyJ2IjoibWV0YS5rOHMuaW8vdjEi[\w-]*/.exec(head)?.[0];
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / 1000);
}

async function measure(preserialize: boolean): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const startCpu = process.cpuUsage();
  const sim = await startSimCluster({ seed: benchFleet(FLEET), preserialize });
  const line = [`preserialize=${String(preserialize)}`, `start-up ${cpuMs(startCpu)} ms`];
  for (const [format, accept] of Object.entries(ACCEPTS)) {
    for (const pass of [1, 2]) {
      const cpu = process.cpuUsage();
      let bytes = 0;
      for (const resource of LISTS) bytes += await listAll(sim, resource, accept);
      line.push(`${format} pass ${pass}: ${cpuMs(cpu)} ms, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    }
  }
  await sim.close();
  process.stdout.write(`${line.join('; ')}\n`);
}

await measure(false);
await measure(true);
