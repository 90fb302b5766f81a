// Event create handling. Decoding mirrors metav1.MicroTime.UnmarshalJSON, which parses with the
// fixed layout RFC3339Micro ("2006-01-02T15:04:05.000000Z07:00"): Go's ".000000" demands exactly
// six fractional digits, so JavaScript's Date#toISOString() (three) is a 400 before validation
// runs (kubernetes/kubernetes#89156). Validation is pkg/apis/core/validation/events.go:
// core/v1 gets only legacyValidateEvent; events.k8s.io/v1 gets the strict checks on top.
import { badRequest, invalidValue, required, type FieldError } from './status.js';
import { deepEqual, meta, obj, readPath, str, type JsonObject } from './json.js';

export const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';

interface LayoutElem {
  layout: string;
  match: RegExp;
  literal: boolean;
}

const ELEMS: LayoutElem[] = [
  { layout: '2006', match: /^\d{4}/, literal: false },
  { layout: '-', match: /^-/, literal: true },
  { layout: '01', match: /^\d{2}/, literal: false },
  { layout: '-', match: /^-/, literal: true },
  { layout: '02', match: /^\d{2}/, literal: false },
  { layout: 'T', match: /^T/, literal: true },
  { layout: '15', match: /^\d{2}/, literal: false },
  { layout: ':', match: /^:/, literal: true },
  { layout: '04', match: /^\d{2}/, literal: false },
  { layout: ':', match: /^:/, literal: true },
  { layout: '05', match: /^\d{2}/, literal: false },
  { layout: '.000000', match: /^[.,]\d{6}/, literal: false },
  { layout: 'Z07:00', match: /^(Z|[+-]\d{2}:\d{2})/, literal: false },
];

/** Go's time.Parse(RFC3339Micro, value) error text, or undefined when the value parses. */
export function microTimeParseError(value: string): string | undefined {
  let rest = value;
  const prefix = `parsing time ${JSON.stringify(value)} as ${JSON.stringify(RFC3339_MICRO)}`;
  for (const elem of ELEMS) {
    const m = elem.match.exec(rest);
    if (!m)
      return `${prefix}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(elem.layout)}`;
    rest = rest.slice(m[0].length);
  }
  if (rest !== '')
    return `parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(rest)}`;
  if (Number.isNaN(Date.parse(value)))
    return `parsing time ${JSON.stringify(value)}: day out of range`;
  return undefined;
}

function decodeError(kind: string, version: string, detail: string): Error {
  return badRequest(
    `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${detail}`,
  );
}

/** Rejects MicroTime fields that the apiserver's JSON decoder would refuse. */
export function checkEventDecodes(body: JsonObject, version: string): void {
  for (const path of ['eventTime', 'series.lastObservedTime']) {
    // Decoding also runs on the result of a PATCH, so a bad time in a patch is a 400 too.
    const value = readPath(body, path);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string')
      throw decodeError(
        'Event',
        version,
        `json: cannot unmarshal ${typeof value} into Go value of type string`,
      );
    const err = microTimeParseError(value);
    if (err !== undefined) throw decodeError('Event', version, err);
  }
}

// eslint-disable-next-line security/detect-unsafe-regex -- anchored, no ambiguous nested repetition: linear time
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

export function qualifiedNameErrors(value: string, field: string): FieldError[] {
  const parts = value.split('/');
  const name = parts.length === 2 ? (parts[1] ?? '') : value;
  const errs: FieldError[] = [];
  if (name === '') errs.push(invalidValue(field, value, 'name part must be non-empty'));
  else if (name.length > 63)
    errs.push(invalidValue(field, value, 'name part must be no more than 63 characters'));
  if (!QUALIFIED_NAME_RE.test(name)) errs.push(invalidValue(field, value, QUALIFIED_NAME_MSG));
  return errs;
}

// eslint-disable-next-line security/detect-unsafe-regex -- Kubernetes' own DNS-1123 pattern; labels are split by literal dots: linear time
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The internal (core) Event fields validation reads. */
export interface EventFields {
  namespace: string;
  involvedNamespace: string;
  eventTime: string | undefined;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  message: string;
}

function lengthErrors(e: EventFields): FieldError[] {
  const errs: FieldError[] = [];
  if (e.reportingInstance.length > 128)
    errs.push(invalidValue('reportingInstance', '', 'can have at most 128 characters'));
  if (e.action.length > 128)
    errs.push(invalidValue('action', '', 'can have at most 128 characters'));
  if (e.reason.length > 128)
    errs.push(invalidValue('reason', '', 'can have at most 128 characters'));
  if (e.message.length > 1024)
    errs.push(invalidValue('message', '', 'can have at most 1024 characters'));
  return errs;
}

function newStyleErrors(e: EventFields, controllerField: string): FieldError[] {
  const errs: FieldError[] = [];
  if (e.involvedNamespace === '' && e.namespace !== 'default' && e.namespace !== 'kube-system') {
    errs.push(
      invalidValue(
        'involvedObject.namespace',
        e.involvedNamespace,
        'does not match event.namespace',
      ),
    );
  }
  if (e.reportingController === '') errs.push(required(controllerField));
  errs.push(...qualifiedNameErrors(e.reportingController, controllerField));
  if (e.reportingInstance === '') errs.push(required('reportingInstance'));
  if (e.action === '') errs.push(required('action'));
  if (e.reason === '') errs.push(required('reason'));
  return [...errs, ...lengthErrors(e)];
}

/** legacyValidateEvent; `coreV1` picks the JSON name reportingComponent for the error path. */
export function legacyValidateEvent(e: EventFields, coreV1: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (e.eventTime === undefined) {
    const mismatch =
      e.involvedNamespace === ''
        ? e.namespace !== '' && e.namespace !== 'default'
        : e.namespace !== e.involvedNamespace;
    if (mismatch)
      errs.push(
        invalidValue(
          'involvedObject.namespace',
          e.involvedNamespace,
          'does not match event.namespace',
        ),
      );
  } else {
    errs.push(...newStyleErrors(e, coreV1 ? 'reportingComponent' : 'reportingController'));
  }
  if (!DNS1123_SUBDOMAIN_RE.test(e.namespace) || e.namespace.length > 253) {
    errs.push(
      invalidValue(
        'namespace',
        e.namespace,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
  return errs;
}

/** validateV1EventSeries: a series is a repetition, so it counts at least 2 and says when. */
export function seriesErrors(core: JsonObject): FieldError[] {
  const series = core['series'];
  if (series === undefined || series === null) return [];
  const errs: FieldError[] = [];
  const count = readPath(core, 'series.count');
  if (typeof count !== 'number' || count < 2)
    errs.push(invalidValue('series.count', '', 'should be at least 2'));
  const last = readPath(core, 'series.lastObservedTime');
  if (last === undefined || last === null) errs.push(required('series.lastObservedTime'));
  return errs;
}

/** Extra checks for events.k8s.io/v1 creates (ValidateEventCreate past the core/v1 early return). */
export function strictEventErrors(core: JsonObject): FieldError[] {
  const errs: FieldError[] = [...seriesErrors(core)];
  if (readPath(core, 'eventTime') === undefined || readPath(core, 'eventTime') === null)
    errs.push(required('eventTime'));
  const type = str(core['type']) ?? '';
  if (type !== 'Normal' && type !== 'Warning')
    errs.push(invalidValue('type', '', `has invalid value: ${type}`));
  if (core['firstTimestamp'] != null)
    errs.push(invalidValue('firstTimestamp', '', 'needs to be unset'));
  if (core['lastTimestamp'] != null)
    errs.push(invalidValue('lastTimestamp', '', 'needs to be unset'));
  if (typeof core['count'] === 'number' && core['count'] !== 0)
    errs.push(invalidValue('count', '', 'needs to be unset'));
  const source = obj(core['source']);
  if (str(source['component']) || str(source['host']))
    errs.push(invalidValue('source', '', 'needs to be unset'));
  return errs;
}

/**
 * Fields an events.k8s.io/v1 update may not change (ValidateEventUpdate; paths are the internal
 * core names). Through core/v1 an update gets only legacyValidateEvent, so there, message, count,
 * lastTimestamp and series may all change: that is how the core/v1 recorder aggregates.
 */
const IMMUTABLE_ON_EVENTS_V1 = [
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'type',
  'eventTime',
  'action',
  'related',
  'reportingComponent',
  'reportingInstance',
] as const;

const JSON_NAMES: Partial<Record<string, string>> = { reportingComponent: 'reportingController' };

function valueText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** ValidateEventUpdate: legacy checks always; series and immutability via events.k8s.io/v1. */
export function validateEventUpdate(
  next: JsonObject,
  previous: JsonObject,
  eventsV1: boolean,
): FieldError[] {
  const errs = legacyValidateEvent(eventFields(next), !eventsV1);
  if (!eventsV1) return errs;
  if (!deepEqual(next['series'] ?? null, previous['series'] ?? null))
    errs.push(...seriesErrors(next));
  for (const key of IMMUTABLE_ON_EVENTS_V1) {
    if (!deepEqual(next[key] ?? null, previous[key] ?? null))
      errs.push(invalidValue(JSON_NAMES[key] ?? key, valueText(next[key]), 'field is immutable'));
  }
  return errs;
}

export function eventFields(core: JsonObject): EventFields {
  const eventTime = core['eventTime'];
  return {
    namespace: str(meta(core)['namespace']) ?? '',
    involvedNamespace: str(readPath(core, 'involvedObject.namespace')) ?? '',
    eventTime: typeof eventTime === 'string' ? eventTime : undefined,
    reportingController: str(core['reportingComponent']) ?? '',
    reportingInstance: str(core['reportingInstance']) ?? '',
    action: str(core['action']) ?? '',
    reason: str(core['reason']) ?? '',
    message: str(core['message']) ?? '',
  };
}

/** Normalises MicroTime to UTC with six digits, as the server serialises it back. */
export function normalizeMicroTime(value: string): string {
  const ms = Date.parse(value);
  const micros = /[.,](\d{6})/.exec(value)?.[1] ?? '000000';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${micros}Z`);
}

const RENAMES: [events: string, core: string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(input: JsonObject, from: 0 | 1, apiVersion: string): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(input)) {
    const pair = RENAMES.find((r) => r[from] === key);
    out[pair ? pair[from === 0 ? 1 : 0] : key] = value;
  }
  out['apiVersion'] = apiVersion;
  out['kind'] = 'Event';
  return out;
}

export function eventsV1ToCore(e: JsonObject): JsonObject {
  return rename(e, 0, 'v1');
}

export function coreToEventsV1(e: JsonObject): JsonObject {
  return rename(e, 1, 'events.k8s.io/v1');
}
