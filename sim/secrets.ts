// Secret semantics of the real API server: stringData merged into data on every write, data
// values checked as base64, the type defaulted to Opaque and immutable, and the key rules of
// kubernetes.io/tls (pkg/apis/core/validation ValidateSecret / ValidateSecretUpdate).
import { isObject, nameOf, obj, type JsonObject } from './json.js';
import { badRequest, invalid, invalidValue, required, type FieldError } from './status.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
/** Standard base64 with padding, as Go's decoder accepts it for []byte fields. */
// eslint-disable-next-line security/detect-unsafe-regex -- fixed-width groups with disjoint tails: linear
export const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The byte offset Go's base64 decoder names for the first character it cannot use. */
function badBase64Offset(value: string): number {
  const i = value.search(/[^A-Za-z0-9+/=]/);
  return i === -1 ? Math.max(0, value.length - (value.length % 4)) : i;
}

/** Decoding: data values must be base64 (a 400 before validation, as the codec fails). */
function decodeData(secret: JsonObject): void {
  const data = obj(secret['data']);
  for (const value of Object.values(data)) {
    if (typeof value !== 'string' || !BASE64.test(value)) {
      const offset = typeof value === 'string' ? badBase64Offset(value) : 0;
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${offset}`,
      );
    }
  }
  const stringData = secret['stringData'];
  if (isObject(stringData)) {
    for (const [key, value] of Object.entries(stringData)) {
      data[key] = Buffer.from(typeof value === 'string' ? value : '', 'utf8').toString('base64');
    }
  }
  delete secret['stringData'];
  if (Object.keys(data).length > 0) secret['data'] = data;
  else delete secret['data'];
}

function validateSecret(secret: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const data = obj(secret['data']);
  for (const key of Object.keys(data)) {
    if (!CONFIG_KEY.test(key)) {
      errs.push(
        invalidValue(
          `data[${key}]`,
          key,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
      );
    }
  }
  if (secret['type'] === 'kubernetes.io/tls') {
    for (const key of ['tls.crt', 'tls.key']) {
      if (data[key] === undefined) errs.push(required(`data[${key}]`));
    }
  }
  return errs;
}

/** Normalises and validates a Secret about to be stored; `existing` on update. */
export function prepareSecret(secret: JsonObject, existing: JsonObject | undefined): void {
  decodeData(secret);
  secret['type'] ??= existing?.['type'] ?? 'Opaque';
  const errs = validateSecret(secret);
  if (existing !== undefined && existing['type'] !== secret['type']) {
    errs.push(invalidValue('type', String(secret['type']), 'field is immutable'));
  }
  if (errs.length > 0) throw invalid('Secret', nameOf(secret), errs);
}
