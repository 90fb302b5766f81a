// `?watch=true` on any collection, with the watch cache's semantics: a bounded history of
// events per kind, replay from a resourceVersion, an ERROR event with a 410 Status once that
// resourceVersion has left the history (client-go reflectors re-list on it), synthetic ADDED
// events for a watch without a resourceVersion (or "0"), label and field selectors applied to
// both sides of an update (an object leaving the selector is DELETED for the watcher), and
// timeoutSeconds closing the stream.
import type { ServerResponse } from 'node:http';
import { namespaceOf, type JsonObject } from './json.js';
import { watchFrame, WATCH_CONTENT_TYPES, type MediaFormat } from './negotiation.js';
import type { ResourceInfo, SimKind } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { statusBody } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';

/** Events kept per kind for replay; older resourceVersions get 410 Gone. */
const HISTORY_PER_KIND = 1000;

export interface WatchRequest {
  info: ResourceInfo;
  namespace: string | undefined;
  query: Record<string, string>;
  /** The object as served for this resource (the events.k8s.io view differs from storage). */
  view(stored: JsonObject): JsonObject;
  /** Newline-delimited JSON events, or length-prefixed protobuf WatchEvents (negotiation.ts). */
  format: MediaFormat;
}

export interface WatchHub {
  serve(request: WatchRequest, res: ServerResponse): void;
  /** Ends every open watch stream (the sim is closing). */
  close(): void;
}

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Replay {
  matches(o: JsonObject | undefined): boolean;
  write(type: WatchType | 'ERROR', object: JsonObject): void;
  send(event: StoreEvent): void;
}

interface Watcher {
  kind: SimKind;
  deliver(event: StoreEvent): void;
  end(): void;
}

/** The event a selective watcher sees: an update moving an object across its selector is
 * ADDED or DELETED for it, as the watch cache reports it. */
function typeFor(
  event: StoreEvent,
  matches: (o: JsonObject | undefined) => boolean,
): WatchType | undefined {
  const now = matches(event.object);
  if (event.type !== 'MODIFIED') return now ? event.type : undefined;
  const before = matches(event.previous);
  if (before && !now) return 'DELETED';
  if (!now) return undefined;
  return before ? 'MODIFIED' : 'ADDED';
}

export function createWatchHub(store: ObjectStore): WatchHub {
  const history = new Map<SimKind, StoreEvent[]>();
  // Per kind: the oldest revision a watch can still start after.
  const horizon = new Map<SimKind, number>();
  const watchers = new Set<Watcher>();

  store.subscribe((event) => {
    let events = history.get(event.kind);
    if (!events) {
      events = [];
      history.set(event.kind, events);
    }
    events.push(event);
    if (events.length > HISTORY_PER_KIND) {
      const dropped = events.splice(0, events.length - HISTORY_PER_KIND);
      horizon.set(event.kind, dropped[dropped.length - 1]?.revision ?? 0);
    }
    for (const w of watchers) if (w.kind === event.kind) w.deliver(event);
  });

  function oldestResumable(kind: SimKind): number {
    return Math.max(horizon.get(kind) ?? 0, store.compactedRevision());
  }

  /** The events before the live ones; false (after an ERROR event) when it cannot resume. */
  function replay(request: WatchRequest, out: Replay): boolean {
    const { info, namespace, query } = request;
    const rvText = query['resourceVersion'] ?? '';
    const since = Number(rvText);
    if (rvText === '' || rvText === '0') {
      for (const o of store.list(info.kind, namespace))
        if (out.matches(o)) out.write('ADDED', request.view(o));
      return true;
    }
    if (!Number.isInteger(since) || since < oldestResumable(info.kind)) {
      const current = store.revision();
      const message = `too old resource version: ${rvText} (${current})`;
      out.write('ERROR', statusBody(410, 'Expired', message));
      return false;
    }
    for (const e of history.get(info.kind) ?? []) if (e.revision > since) out.send(e);
    return true;
  }

  function serve(request: WatchRequest, res: ServerResponse): void {
    const { info, namespace, query } = request;
    const labels = parseLabelSelector(query['labelSelector']);
    const fields = parseFieldSelector(info.kind, query['fieldSelector']);
    const matches = (o: JsonObject | undefined): boolean =>
      o !== undefined &&
      (namespace === undefined || namespaceOf(o) === namespace) &&
      labels(o) &&
      fields(o);
    res.writeHead(200, {
      'Content-Type': WATCH_CONTENT_TYPES[request.format],
      'Transfer-Encoding': 'chunked',
    });
    const write = (type: WatchType | 'ERROR', object: JsonObject): void => {
      res.write(
        request.format === 'protobuf'
          ? watchFrame(type, object)
          : `${JSON.stringify({ type, object })}\n`,
      );
    };
    const send = (event: StoreEvent): void => {
      const type = typeFor(event, matches);
      if (type !== undefined) write(type, request.view(event.object));
    };

    if (!replay(request, { matches, write, send })) {
      res.end();
      return;
    }

    const watcher: Watcher = {
      kind: info.kind,
      deliver: send,
      end() {
        watchers.delete(watcher);
        clearTimeout(timer);
        if (!res.writableEnded) res.end();
      },
    };
    const seconds = Number(query['timeoutSeconds'] ?? '0');
    const timer =
      seconds > 0
        ? setTimeout(() => {
            watcher.end();
          }, seconds * 1000)
        : undefined;
    watchers.add(watcher);
    res.on('close', () => {
      watcher.end();
    });
  }

  return {
    serve,
    close() {
      for (const w of [...watchers]) w.end();
    },
  };
}
