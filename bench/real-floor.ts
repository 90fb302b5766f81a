/**
 * `make bench-real`'s floor: the reads of one quiet pass, made again by a bare Node client over
 * TLS (node:https, one keep-alive agent, the CLI's bearer token) and nothing else. The lists are
 * paged as the CLI pages them and asked for in the same encoding (protobuf for PVCs, PVs and
 * pods), but not decoded: only each page's `continue` token is read (with the CLI's
 * bounds-checked WireReader, which skips the items by their length). Other answers (the node
 * proxy's summaries, the small lists) go through JSON.parse. Its CPU is what the pass's requests
 * cost before any decoding or deciding: the part of a pass no client code can remove.
 *
 * `realFloorPlan` turns the pass's audit-log entries into the plan; this file is also the
 * floor's process: `node dist/bench/real-floor.js PLAN.json`.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fieldText, WireReader } from '../src/kube/protobuf.js';
import type { AuditEntry } from '../test/real/cluster.js';

export const REAL_FLOOR_SCRIPT = fileURLToPath(import.meta.url);

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
/** The kinds the CLI lists as protobuf (src/kube/cluster.ts). */
const PROTOBUF_LISTS = new Set(['persistentvolumeclaims', 'persistentvolumes', 'pods']);

export interface RealFloorPlan {
  url: string;
  caPem: string;
  token: string;
  /** First page of each list, all paged side by side. */
  lists: { path: string; protobuf: boolean }[];
  /** The other reads, `concurrency` at a time. */
  gets: string[];
  concurrency: number;
}

/** The reads of a pass: lists by their first page (later pages carry the run's own tokens). */
export function realFloorPlan(
  entries: readonly AuditEntry[],
  access: { url: string; caPem: string; token: string; concurrency: number },
): RealFloorPlan {
  const lists: RealFloorPlan['lists'] = [];
  const gets: string[] = [];
  for (const entry of entries) {
    if (entry.verb === 'list') {
      if (!entry.uri.includes('continue='))
        lists.push({ path: entry.uri, protobuf: PROTOBUF_LISTS.has(entry.resource ?? '') });
    } else if (entry.verb === 'get') gets.push(entry.uri);
  }
  return { ...access, lists, gets };
}

/** The `continue` token of a protobuf list: raw (field 2 of the envelope) → ListMeta (1) → 3. */
export function protobufContinue(bytes: Buffer): string {
  const r = new WireReader(bytes, 4); // after "k8s\0"
  const enter = (end: number, wanted: number): number | undefined => {
    for (let field = r.next(end); field !== 0; field = r.next(end)) {
      if (field === wanted) return r.valueEnd;
      r.skipValue();
    }
    return undefined;
  };
  const raw = enter(bytes.length, 2);
  const meta = raw === undefined ? undefined : enter(raw, 1);
  return meta === undefined ? '' : fieldText(r, meta, 3);
}

/** A JSON list's `continue` token; '' for the last page or an answer that is not a list (a 404). */
function jsonContinue(body: Buffer): string {
  try {
    const list = JSON.parse(body.toString('utf8')) as { metadata?: { continue?: string } };
    return list.metadata?.continue ?? '';
  } catch {
    return '';
  }
}

function main(file: string): Promise<void> {
  const plan = JSON.parse(readFileSync(file, 'utf8')) as RealFloorPlan;
  const base = new URL(plan.url);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: plan.caPem });
  const get = (path: string, accept: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const request = https.request(
        {
          agent,
          hostname: base.hostname,
          port: base.port,
          path,
          headers: { Authorization: `Bearer ${plan.token}`, Accept: accept },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            resolve(Buffer.concat(chunks));
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end();
    });
  const list = async ({ path, protobuf }: RealFloorPlan['lists'][number]): Promise<void> => {
    for (let token = ''; ;) {
      const page = `${path}${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`;
      const body = await get(page, protobuf ? `${PROTOBUF}, application/json` : 'application/json');
      token = protobuf ? protobufContinue(body) : jsonContinue(body);
      if (token.length === 0) return;
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.gets.length) {
      const path = plan.gets[next++] ?? '';
      const text = (await get(path, 'application/json')).toString('utf8');
      try {
        JSON.parse(text);
      } catch {
        // not JSON (a proxied plain-text answer): read all the same
      }
    }
  };
  return Promise.all(plan.lists.map(list))
    .then(() => Promise.all(Array.from({ length: plan.concurrency }, worker)))
    .then(() => {
      agent.destroy();
    });
}

if (process.argv[1] === REAL_FLOOR_SCRIPT) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node dist/bench/real-floor.js PLAN.json');
  await main(file);
}
