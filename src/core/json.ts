import { err, ok, type Result } from './result.js';

/** A plain JSON object (not null, not an array): the first check on untrusted JSON. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Optional<T> = {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
} & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] };

/**
 * The object without its undefined fields: what an optional field must be under
 * exactOptionalPropertyTypes, without a conditional spread per field.
 */
export function withoutUndefined<T extends object>(object: T): Optional<T> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) copy[key] = value;
  return copy as Optional<T>;
}

/**
 * JSON.parse as a value: text from outside (an annotation, an answer, a request body) that is not
 * JSON is an expected failure. The error is the parser's own message, which says where it broke.
 */
export function parseJson(text: string): Result<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch (error) {
    return err(error instanceof Error ? error.message : String(error));
  }
}
