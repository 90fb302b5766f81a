/**
 * The bench's "floor": the requests the CLI made, made again by a minimal Node client with plain
 * node:http (one keep-alive agent) and JSON.parse of every response, and nothing else. Its CPU is
 * what those requests cost any Node client; the CLI's CPU over it is what the CLI adds.
 *
 * `planFromLog` turns the CLI's request log into phases with the CLI's own order and concurrency
 * (list pages in sequence, the three gather lists side by side, stats and writes N at a time).
 * This file is also the floor's process: `node dist/bench/floor.js PLAN.json` runs a plan.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RequestLogEntry } from '../sim/index.js';

export interface FloorRequest {
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
}

/** Lanes run `concurrency` at a time; the requests of one lane run in order. */
export interface FloorPhase {
  concurrency: number;
  lanes: FloorRequest[][];
}

export interface FloorPlan {
  url: string;
  phases: FloorPhase[];
}

export const FLOOR_SCRIPT = fileURLToPath(import.meta.url);

function toRequest(entry: RequestLogEntry): FloorRequest {
  const search = new URLSearchParams(entry.query).toString();
  return {
    method: entry.method,
    path: `${entry.path}${search === '' ? '' : `?${search}`}`,
    ...(entry.body === undefined ? {} : { body: entry.body }),
    ...(entry.contentType === undefined ? {} : { contentType: entry.contentType }),
  };
}

/** The PVC a write is for: the PATCH's path, or the Event's involvedObject. */
function writeKey(entry: RequestLogEntry): string {
  const body = entry.body as { involvedObject?: { namespace?: string; name?: string } } | undefined;
  if (entry.method === 'POST' && body?.involvedObject !== undefined)
    return `${body.involvedObject.namespace ?? ''}/${body.involvedObject.name ?? ''}`;
  const match = /namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(entry.path);
  return `${match?.[1] ?? ''}/${match?.[2] ?? ''}`;
}

export function planFromLog(
  url: string,
  log: readonly RequestLogEntry[],
  concurrency: { stats: number; writes: number },
): FloorPlan {
  const gets = log.filter((r) => r.method === 'GET');
  const lists = (test: (path: string) => boolean): FloorRequest[] =>
    gets.filter((r) => test(r.path)).map(toRequest);
  const pvcs = lists((p) => p.endsWith('/persistentvolumeclaims'));
  const gather = [
    lists((p) => p.endsWith('/storageclasses')),
    lists((p) => p.endsWith('/persistentvolumes')),
    lists((p) => p.endsWith('/pods')),
  ];
  const stats = lists((p) => p.endsWith('/proxy/stats/summary')).map((r) => [r]);
  const writes = new Map<string, FloorRequest[]>();
  for (const entry of log.filter((r) => r.method !== 'GET')) {
    const lane = writes.get(writeKey(entry)) ?? [];
    lane.push(toRequest(entry));
    writes.set(writeKey(entry), lane);
  }
  return {
    url,
    phases: [
      { concurrency: 1, lanes: [pvcs] },
      { concurrency: 3, lanes: gather },
      { concurrency: concurrency.stats, lanes: stats },
      { concurrency: concurrency.writes, lanes: [...writes.values()] },
    ],
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function send(base: URL, request: FloorRequest): Promise<unknown> {
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        agent,
        hostname: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        headers:
          payload === undefined
            ? { Accept: 'application/json' }
            : {
                Accept: 'application/json',
                'Content-Type': request.contentType ?? 'application/json',
                'Content-Length': Buffer.byteLength(payload),
              },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        });
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** One request of a plan, answered (parsed) or failed. */
export type FloorSend = (base: URL, request: FloorRequest) => Promise<unknown>;

async function runPhase(base: URL, phase: FloorPhase, through: FloorSend): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < phase.lanes.length) {
      const lane = phase.lanes[next++] ?? [];
      for (const request of lane) await through(base, request);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(phase.concurrency, phase.lanes.length) }, worker),
  );
}

/** The plan in `file`, its phases one after another, each request sent `through`. */
export async function runPlan(file: string, through: FloorSend): Promise<void> {
  const plan = JSON.parse(readFileSync(file, 'utf8')) as FloorPlan;
  const base = new URL(plan.url);
  for (const phase of plan.phases) await runPhase(base, phase, through);
}

async function main(file: string): Promise<void> {
  await runPlan(file, send);
  agent.destroy();
}

if (process.argv[1] === FLOOR_SCRIPT) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node dist/bench/floor.js PLAN.json');
  await main(file);
}
