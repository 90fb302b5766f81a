/**
 * The bodies of the core/v1 Events a pass records, and how a Warning that repeats run after run
 * becomes one Event with a series instead of a new Event each time.
 *
 * client-go's recorders aggregate inside one long-lived process (an in-memory cache keyed by the
 * object, reason and action). A pass is a new process every run, so the key is the Event's name
 * instead: deterministic per PVC (uid), type, reason and action. On a repetition the Event is
 * patched like tools/record's EventCorrelator patches a core/v1 Event (count, lastTimestamp and
 * the latest message) and, like tools/events, given a series (count >= 2, lastObservedTime), which
 * `kubectl describe` and `kubectl get events` show as "(x3 over 10m)".
 */
import { createHash, randomBytes } from 'node:crypto';
import { isRecord } from '../core/json.js';
import type { PvcEvent } from '../ports.js';

/** The API server's limit on an Event's message (note). */
const MESSAGE_LIMIT = 1024;
/** Event names are object names: at most 253 characters. */
const NAME_LIMIT = 253;

/**
 * An Event's eventTime must carry microseconds (RFC 3339, six fractional digits); the API server
 * rejects JavaScript's three-digit Date serialisation (kubernetes#89156).
 */
export function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** metav1.Time: RFC 3339 in whole seconds, as the API server stores it. */
function secondsTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withSuffix(pvcName: string, suffix: string): string {
  // A cut name must still end in an alphanumeric character.
  const head = pvcName.slice(0, NAME_LIMIT - suffix.length - 1).replace(/[-.]+$/, '');
  return `${head}.${suffix}`;
}

/** The one Event a repeating Warning lives in: same PVC (uid), type, reason and action. */
export function seriesEventName(event: PvcEvent): string {
  const key = [event.pvc.uid, event.type, event.reason, event.action].join('\u0000');
  return withSuffix(event.pvc.name, createHash('sha256').update(key).digest('hex').slice(0, 16));
}

/** Random once per process (two runs at once must not collide), then a counter: no crypto per Event. */
const PROCESS_TAG = randomBytes(4).toString('hex');
let eventsNamed = 0;

/** A name of its own, as client-go gives every new Event (object name, then time in hex). */
export function uniqueEventName(event: PvcEvent, now: Date): string {
  eventsNamed++;
  return withSuffix(
    event.pvc.name,
    `${now.getTime().toString(16)}${PROCESS_TAG}${eventsNamed.toString(16)}`,
  );
}

export interface EventSource {
  reportingController: string;
  reportingInstance: string;
}

/** A new core/v1 Event, seen once. */
export function newEventBody(
  event: PvcEvent,
  name: string,
  source: EventSource,
  now: Date,
): Record<string, unknown> & { metadata: { name: string; namespace: string } } {
  const { pvc } = event;
  return {
    metadata: { name, namespace: pvc.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: pvc.namespace,
      name: pvc.name,
      uid: pvc.uid,
      resourceVersion: pvc.resourceVersion,
    },
    type: event.type,
    reason: event.reason,
    action: event.action,
    message: event.message.slice(0, MESSAGE_LIMIT),
    eventTime: microTime(now),
    reportingComponent: source.reportingController,
    reportingInstance: source.reportingInstance,
    source: { component: source.reportingController },
    firstTimestamp: secondsTime(now),
    lastTimestamp: secondsTime(now),
    count: 1,
  };
}

/** How many times the stored Event has been seen: its series count, else its legacy count. */
export function timesSeen(stored: unknown): number {
  if (!isRecord(stored)) return 1;
  const series = stored['series'];
  const seriesCount = isRecord(series) ? series['count'] : undefined;
  const count = typeof seriesCount === 'number' ? seriesCount : stored['count'];
  return typeof count === 'number' && count >= 1 ? count : 1;
}

/**
 * A merge patch recording one more occurrence of `stored`, guarded by its resourceVersion so two
 * runs cannot both count from the same number.
 */
export function repeatPatch(
  stored: unknown,
  event: PvcEvent,
  now: Date,
): Record<string, unknown> | undefined {
  const metadata = isRecord(stored) ? stored['metadata'] : undefined;
  const resourceVersion = isRecord(metadata) ? metadata['resourceVersion'] : undefined;
  if (typeof resourceVersion !== 'string') return undefined;
  const count = timesSeen(stored) + 1;
  return {
    metadata: { resourceVersion },
    message: event.message.slice(0, MESSAGE_LIMIT),
    count,
    lastTimestamp: secondsTime(now),
    series: { count, lastObservedTime: microTime(now) },
  };
}
