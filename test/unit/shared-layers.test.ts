import { describe, expect, it } from 'vitest';
import { govern, layersFor, NO_GOVERNANCE, sharedLayers } from '../../src/governance.js';
import type { StorageClassInfo } from '../../src/core/pvc.js';
import type { SettingsLayer } from '../../src/core/settings.js';
import { pvc } from '../builders/snapshots.js';

const BASE: readonly SettingsLayer[] = [{ source: 'flag', values: { cooldownMs: 60_000 } }];

function cls(name: string, annotations: Record<string, string> = {}): StorageClassInfo {
  return {
    name,
    provisioner: 'ebs.csi.aws.com',
    allowVolumeExpansion: true,
    parameters: {},
    annotations,
  };
}

describe('sharedLayers', () => {
  const gp3 = cls('gp3', { 'pvc-chonker.io/threshold': '90%', 'pvc-chonker.io/provider': 'aws' });
  const io2 = cls('io2');

  it.each([
    { name: 'a PVC with no annotation of its own', annotations: {}, storageClass: gp3 },
    { name: 'a PVC without a class', annotations: {}, storageClass: undefined },
    {
      name: 'a PVC that sets its provider',
      annotations: { 'pvc-chonker.io/provider': 'generic' },
      storageClass: gp3,
    },
    {
      name: 'a PVC that sets its volume type',
      annotations: { 'pvc-chonker.io/aws-volume-type': 'io2' },
      storageClass: io2,
    },
  ])('$name: the layers layersFor builds', ({ annotations, storageClass }) => {
    const claim = pvc({ annotations });
    const governed = govern(NO_GOVERNANCE, claim, storageClass);

    const layers = sharedLayers(BASE)(governed, claim, storageClass);

    expect(layers).toEqual(layersFor(BASE, governed, claim, storageClass));
  });

  it('PVCs of one class that set no provider key share one PvcLayers; other classes have theirs', () => {
    const layersOf = sharedLayers(BASE);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => pvc({ name }));
    if (a === undefined || b === undefined || c === undefined) throw new Error('no PVCs');
    const of = (claim: typeof a, storageClass: StorageClassInfo) =>
      layersOf(govern(NO_GOVERNANCE, claim, storageClass), claim, storageClass);

    const first = of(a, gp3);

    expect(of(b, gp3)).toBe(first);
    expect(of(c, io2)).not.toBe(first);
  });

  it('a PVC that sets a provider key gets layers of its own', () => {
    const layersOf = sharedLayers(BASE);
    const plain = pvc({ name: 'plain' });
    const own = pvc({ name: 'own', annotations: { 'pvc-chonker.io/provider': 'generic' } });

    const shared = layersOf(govern(NO_GOVERNANCE, plain, gp3), plain, gp3);
    const its = layersOf(govern(NO_GOVERNANCE, own, gp3), own, gp3);

    expect(its).not.toBe(shared);
    expect(its.providerAnnotations).toEqual({ 'pvc-chonker.io/provider': 'generic' });
    expect(shared.providerAnnotations).toEqual({ 'pvc-chonker.io/provider': 'aws' });
  });
});
