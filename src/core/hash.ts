/** FNV-1a, 32 bit, over the UTF-8 bytes: stable across runs, processes and Node versions. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  // Runs once per PVC of a pass (its sample slot, its shard): ASCII text (a uid, a name) is its
  // own UTF-8, so it is hashed without an encoder and a byte array per call.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return fnv1aBytes(new TextEncoder().encode(text));
    hash = Math.imul(hash ^ code, 0x01000193) >>> 0;
  }
  return hash;
}

function fnv1aBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}
