/** A Map or WeakMap, as far as keeping made values in it goes. */
interface Keeps<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/**
 * The value kept in `store` for `key`, made by `make` the first time: the per-class, per-policy
 * and per-layers caches of a pass share one value among the thousands of PVCs that ask.
 */
export function kept<K, V>(store: Keeps<K, V>, key: K, make: () => V): V {
  let value = store.get(key);
  if (value === undefined) {
    value = make();
    store.set(key, value);
  }
  return value;
}
