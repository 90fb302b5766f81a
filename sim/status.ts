// metav1.Status builders. Messages follow k8s.io/apimachinery/pkg/api/errors so clients that
// match on reason, code or message behave as they would against a real API server.
import type { JsonObject } from './json.js';

export type StatusReason =
  | 'NotFound'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'BadRequest'
  | 'AlreadyExists'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'Unauthorized'
  | '';

/** An error response the HTTP layer writes as-is. */
export class ApiError extends Error {
  readonly code: number;
  readonly status: JsonObject;
  readonly headers: Record<string, string>;

  constructor(code: number, status: JsonObject, headers: Record<string, string> = {}) {
    super(typeof status['message'] === 'string' ? status['message'] : `HTTP ${code}`);
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** Field-level cause, as in k8s.io/apimachinery/pkg/util/validation/field.Error. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueForbidden'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate';
  field: string;
  /** ErrorBody(): e.g. `Forbidden: field can not be less than status.capacity`. */
  body: string;
}

export function statusBody(
  code: number,
  reason: StatusReason,
  message: string,
  details?: JsonObject,
): JsonObject {
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
  };
  if (reason !== '') body['reason'] = reason;
  if (details !== undefined) body['details'] = details;
  body['code'] = code;
  return body;
}

export function apiError(
  code: number,
  reason: StatusReason,
  message: string,
  details?: JsonObject,
): ApiError {
  return new ApiError(code, statusBody(code, reason, message, details));
}

function resourceDetails(resource: string, name: string, group: string): JsonObject {
  const details: JsonObject = { name };
  if (group !== '') details['group'] = group;
  details['kind'] = resource;
  return details;
}

export function notFound(resource: string, name: string, group = ''): ApiError {
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return apiError(
    404,
    'NotFound',
    `${qualified} "${name}" not found`,
    resourceDetails(resource, name, group),
  );
}

export function alreadyExists(resource: string, name: string, group = ''): ApiError {
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return apiError(
    409,
    'AlreadyExists',
    `${qualified} "${name}" already exists`,
    resourceDetails(resource, name, group),
  );
}

export function conflict(resource: string, name: string, group = ''): ApiError {
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return apiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    resourceDetails(resource, name, group),
  );
}

export function forbidden(resource: string, name: string, reason: string, group = ''): ApiError {
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return apiError(
    403,
    'Forbidden',
    `${qualified} "${name}" is forbidden: ${reason}`,
    resourceDetails(resource, name, group),
  );
}

export function badRequest(message: string): ApiError {
  return apiError(400, 'BadRequest', message);
}

export function fieldErrorText(e: FieldError): string {
  return `${e.field}: ${e.body}`;
}

/** errors.NewInvalid: one error is printed bare, several as `[a, b]` (utilerrors.Aggregate). */
export function invalid(kind: string, name: string, errs: FieldError[], group = ''): ApiError {
  const qualified = group === '' ? kind : `${kind}.${group}`;
  const texts = errs.map(fieldErrorText);
  const joined = texts.length === 1 ? (texts[0] ?? '') : `[${texts.join(', ')}]`;
  const details: JsonObject = { name };
  if (group !== '') details['group'] = group;
  details['kind'] = kind;
  details['causes'] = errs.map((e) => ({ reason: e.type, message: e.body, field: e.field }));
  return apiError(422, 'Invalid', `${qualified} "${name}" is invalid: ${joined}`, details);
}

/** Go's strconv.Quote is close enough to JSON string quoting for the values we echo back. */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}

export function required(field: string, detail = ''): FieldError {
  return {
    type: 'FieldValueRequired',
    field,
    body: detail === '' ? 'Required value' : `Required value: ${detail}`,
  };
}

export function invalidValue(field: string, value: string, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, body: `Invalid value: ${goQuote(value)}: ${detail}` };
}

export function forbiddenField(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, body: `Forbidden: ${detail}` };
}

/** Reason and default message for an injected status code (apiserver wording where one exists). */
export function reasonForCode(code: number): { reason: StatusReason; message: string } {
  const table: Record<number, { reason: StatusReason; message: string }> = {
    400: { reason: 'BadRequest', message: 'the server rejected our request for an unknown reason' },
    401: { reason: 'Unauthorized', message: 'Unauthorized' },
    403: { reason: 'Forbidden', message: 'forbidden' },
    404: { reason: 'NotFound', message: 'the server could not find the requested resource' },
    409: { reason: 'Conflict', message: 'the server reported a conflict' },
    410: { reason: 'Expired', message: 'the resource version is too old' },
    429: { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
    500: { reason: 'InternalError', message: 'Internal error occurred: injected fault' },
    503: {
      reason: 'ServiceUnavailable',
      message: 'the server is currently unable to handle the request',
    },
    504: {
      reason: 'Timeout',
      message:
        'the server was unable to return a response in the time allotted, but may still be processing the request',
    },
  };
  return table[code] ?? { reason: '', message: `injected HTTP ${code}` };
}
