import { describe, expect, it } from 'vitest';
import { secureContextFor } from '../../src/kube/transport.js';
import { createSimCa } from '../../sim/tls.js';

describe('secureContextFor (one TLS context per set of keys, shared by every transport)', () => {
  it('gives the same context for the same keys, read again into new objects', async () => {
    const { caPem } = await createSimCa();
    const first = secureContextFor({ ca: caPem });
    // A client per kubelet builds its options anew: equal keys, new objects.
    expect(secureContextFor({ ca: caPem })).toBe(first);
  });

  it('gives a new context for other keys, and keeps the last four', async () => {
    const pems = await Promise.all([1, 2, 3, 4, 5].map(async () => (await createSimCa()).caPem));
    const contexts = pems.map((ca) => secureContextFor({ ca }));
    expect(new Set(contexts).size).toBe(5);
    // The four newest are still there; the oldest was dropped and is built again.
    for (const [i, ca] of pems.entries())
      if (i > 0) expect(secureContextFor({ ca })).toBe(contexts[i]);
    expect(secureContextFor({ ca: pems[0] ?? '' })).not.toBe(contexts[0]);
  });
});
