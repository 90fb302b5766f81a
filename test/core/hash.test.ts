import { describe, expect, it } from 'vitest';
import { fnv1a } from '../../src/core/hash.js';

/** FNV-1a over the UTF-8 bytes, spelled out: what the ASCII fast path must agree with. */
function reference(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

describe('fnv1a', () => {
  it.each([
    // The published FNV-1a 32-bit test vectors.
    { text: '', expected: 0x811c9dc5 },
    { text: 'a', expected: 0xe40c292c },
    { text: 'foobar', expected: 0xbf9cf968 },
  ])('hashes $text to the published value', ({ text, expected }) => {
    expect(fnv1a(text)).toBe(expected);
  });

  it.each([
    '0c5e1f7a-3b2d-4e8f-9a1b-2c3d4e5f6a7b',
    'fleet-3/data-00042',
    'café',
    'ns/ü-claim',
    'volume-😀',
    '\u007f\u0080',
  ])('hashes %j as its UTF-8 bytes', (text) => {
    expect(fnv1a(text)).toBe(reference(text));
  });
});
