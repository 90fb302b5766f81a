/** An expected failure is a value, not an exception. */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

type Values<C> = { [K in keyof C]: C[K] extends Result<infer T> ? T : never };

/** All the named results' values, or the first error (in key order). */
export function combine<C extends Record<string, Result<unknown>>>(checks: C): Result<Values<C>> {
  const values: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(checks)) {
    if (!check.ok) return check;
    values[key] = check.value;
  }
  return ok(values as Values<C>);
}
