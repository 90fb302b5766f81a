/**
 * V8 CPU profiles (`node --cpu-prof`) in source terms: bundle positions mapped back to the
 * sources through the bundle's source map. Shared by profile-top.ts and profile-phases.ts.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Source maps by bundle URL, loaded once; undefined when the file has none. */
const maps = new Map<string, SourceMap | undefined>();

function mapFor(url: string): SourceMap | undefined {
  if (maps.has(url)) return maps.get(url);
  let map: SourceMap | undefined;
  try {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
  } catch {
    map = undefined;
  }
  maps.set(url, map);
  return map;
}

export interface Place {
  name: string;
  file: string;
}

export function place(frame: CallFrame): Place {
  const fallback = { name: frame.functionName || '(anonymous)', file: frame.url };
  if (frame.url === '') return { name: fallback.name, file: '' };
  const map = mapFor(frame.url);
  if (map === undefined) return fallback;
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
    originalSource?: string;
    name?: string;
  };
  if (entry.originalSource === undefined) return fallback;
  return {
    name: entry.name ?? fallback.name,
    file: entry.originalSource.replace(/^.*?\/(node_modules|src)\//, '$1/'),
  };
}
