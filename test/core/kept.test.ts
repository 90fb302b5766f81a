import { describe, expect, it } from 'vitest';
import { kept } from '../../src/core/kept.js';

describe('kept (a value made once per key and shared)', () => {
  it.each([
    ['a Map', new Map<object, number>()],
    ['a WeakMap', new WeakMap<object, number>()],
  ])('%s: made the first time, the same value after', (_name, store) => {
    const key = {};
    let made = 0;
    const make = (): number => ++made;
    expect(kept(store, key, make)).toBe(1);
    expect(kept(store, key, make)).toBe(1);
    expect(kept(store, {}, make)).toBe(2);
    expect(made).toBe(2);
  });
});
