import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decision.js';
import { managementOf, pvcLayers, withProviderAnnotations } from '../../src/core/layers.js';
import { parsePvcPolicy, type PvcPolicy } from '../../src/core/pvc-policy.js';
import type { StorageClassInfo } from '../../src/core/pvc.js';
import { formatQuantity } from '../../src/core/quantity.js';
import {
  parseSettingsLayer,
  resolveSettings,
  resolveSettingsOver,
  type SettingName,
  type SettingsLayer,
} from '../../src/core/settings.js';
import { pvc, usage } from '../builders/snapshots.js';

const NOW = new Date('2026-11-26T12:00:00Z');

function flags(texts: Record<string, string>): SettingsLayer {
  const layer = parseSettingsLayer('flag', texts);
  if (!layer.ok) throw new Error('bad flags');
  return layer.value;
}

function cls(annotations: Record<string, string>): StorageClassInfo {
  return {
    name: 'gp3',
    provisioner: 'ebs.csi.aws.com',
    allowVolumeExpansion: true,
    parameters: {},
    annotations,
  };
}

function policy(template: Record<string, unknown>): PvcPolicy {
  const parsed = parsePvcPolicy({
    metadata: { name: 'db', namespace: 'db' },
    spec: { selector: {}, template },
  });
  if (parsed === undefined) throw new Error('no policy');
  return parsed;
}

interface Case {
  name: string;
  flags?: Record<string, string>;
  storageClass?: Record<string, string>;
  policy?: Record<string, unknown>;
  annotations?: Record<string, string>;
  setting: SettingName;
  source: string;
  shown: string;
}

function shown(value: unknown): string {
  if (typeof value === 'bigint') return formatQuantity(value);
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'none';
  const v = value as { text?: string; percent?: { text: string } };
  return v.percent?.text ?? v.text ?? JSON.stringify(value);
}

const cases: Case[] = [
  { name: 'nothing set: the default', setting: 'threshold', source: 'default', shown: '80%' },
  {
    name: 'a flag beats the default',
    flags: { threshold: '70%' },
    setting: 'threshold',
    source: 'flag',
    shown: '70%',
  },
  {
    name: 'a class annotation beats a flag',
    flags: { threshold: '70%' },
    storageClass: { 'pvc-chonker.io/threshold': '75%' },
    setting: 'threshold',
    source: 'storageclass:gp3',
    shown: '75%',
  },
  {
    name: 'a policy beats the class',
    storageClass: { 'pvc-chonker.io/threshold': '75%' },
    policy: { threshold: '85%' },
    setting: 'threshold',
    source: 'policy:db/db',
    shown: '85%',
  },
  {
    name: 'the annotation beats the policy',
    policy: { threshold: '85%' },
    annotations: { 'pvc-chonker.io/threshold': '90%' },
    setting: 'threshold',
    source: 'annotation',
    shown: '90%',
  },
  {
    name: 'per key: a policy maxSize with a flag increase',
    flags: { increase: '20%' },
    policy: { maxSize: '100Gi' },
    setting: 'increase',
    source: 'flag',
    shown: '20%',
  },
  {
    name: 'per key: the policy maxSize',
    flags: { increase: '20%' },
    policy: { maxSize: '100Gi' },
    setting: 'maxSizeBytes',
    source: 'policy:db/db',
    shown: '100Gi',
  },
  {
    name: 'class cooldown',
    storageClass: { 'pvc-chonker.io/cooldown': '1h' },
    setting: 'cooldownMs',
    source: 'storageclass:gp3',
    shown: '3600000',
  },
  {
    name: 'policy minIncrease',
    policy: { minIncrease: '50Gi' },
    setting: 'minIncreaseBytes',
    source: 'policy:db/db',
    shown: '50Gi',
  },
  {
    name: 'wait-for-backups: on by default',
    setting: 'waitForBackups',
    source: 'default',
    shown: 'true',
  },
  {
    name: 'wait-for-backups: a flag switches it off',
    flags: { 'wait-for-backups': 'false' },
    setting: 'waitForBackups',
    source: 'flag',
    shown: 'false',
  },
  {
    name: 'wait-for-backups: the class default',
    storageClass: { 'pvc-chonker.io/wait-for-backups': 'false' },
    setting: 'waitForBackups',
    source: 'storageclass:gp3',
    shown: 'false',
  },
  {
    name: 'wait-for-backups: a policy template field, as a YAML boolean',
    storageClass: { 'pvc-chonker.io/wait-for-backups': 'true' },
    policy: { waitForBackups: false },
    setting: 'waitForBackups',
    source: 'policy:db/db',
    shown: 'false',
  },
  {
    name: 'wait-for-backups: the annotation beats the policy',
    policy: { waitForBackups: false },
    annotations: { 'pvc-chonker.io/wait-for-backups': 'true' },
    setting: 'waitForBackups',
    source: 'annotation',
    shown: 'true',
  },
  {
    name: 'min-runway: none by default',
    setting: 'minRunwayMs',
    source: 'default',
    shown: '0',
  },
  {
    name: 'min-runway: the flag',
    flags: { 'min-runway': '1d' },
    setting: 'minRunwayMs',
    source: 'flag',
    shown: '86400000',
  },
  {
    name: 'min-runway: the class default beats the flag',
    flags: { 'min-runway': '1d' },
    storageClass: { 'pvc-chonker.io/min-runway': '3d' },
    setting: 'minRunwayMs',
    source: 'storageclass:gp3',
    shown: '259200000',
  },
  {
    name: 'min-runway: a policy template field',
    storageClass: { 'pvc-chonker.io/min-runway': '3d' },
    policy: { minRunway: '2d' },
    setting: 'minRunwayMs',
    source: 'policy:db/db',
    shown: '172800000',
  },
  {
    name: 'expand-before-full: the annotation beats the policy',
    policy: { expandBeforeFull: '1d' },
    annotations: { 'pvc-chonker.io/expand-before-full': '2d' },
    setting: 'expandBeforeFullMs',
    source: 'annotation',
    shown: '172800000',
  },
  {
    name: 'policy inodesThreshold',
    policy: { inodesThreshold: '95%' },
    setting: 'inodesThreshold',
    source: 'policy:db/db',
    shown: '95%',
  },
];

describe('layer resolution', () => {
  it.each(cases)('$name', (c) => {
    const claim = pvc({ annotations: c.annotations ?? {} });
    const layers = pvcLayers({
      flags: flags(c.flags ?? {}),
      storageClass: c.storageClass === undefined ? undefined : cls(c.storageClass),
      policy: c.policy === undefined ? undefined : policy(c.policy),
      pvc: claim,
    });

    const decision = decide({
      pvc: claim,
      storageClass: cls(c.storageClass ?? {}),
      stats: usage({ usedPercent: 10 }, '10Gi'),
      layers: layers.layers,
      layerProblem: layers.problem,
      now: NOW,
    });

    expect(decision.settings.sources[c.setting]).toBe(c.source);
    expect(shown(decision.settings.settings[c.setting])).toBe(c.shown);
  });

  it('an invalid policy is reported invalid-policy, naming the policy, the field and the value', () => {
    const claim = pvc();
    const layers = pvcLayers({
      flags: flags({}),
      storageClass: undefined,
      policy: policy({ threshold: 'eighty' }),
      pvc: claim,
    });

    const decision = decide({
      pvc: claim,
      storageClass: cls({}),
      stats: usage({ usedPercent: 95 }, '10Gi'),
      layers: layers.layers,
      layerProblem: layers.problem,
      now: NOW,
    });

    expect(decision).toMatchObject({ action: 'error', reason: 'invalid-policy' });
    expect(decision.detail).toContain('PVCPolicy db/db');
    expect(decision.detail).toContain('spec.template.threshold');
    expect(decision.detail).toContain('"eighty"');
  });

  it.each([
    ['an annotation', { 'pvc-chonker.io/wait-for-backups': 'no' }, 'invalid-annotation'],
  ] as const)(
    'a wait-for-backups that is not "true" or "false" (%s) is an error',
    (_, annotations, reason) => {
      const decision = decide({
        pvc: pvc({ annotations }),
        storageClass: cls({}),
        stats: usage({ usedPercent: 95 }, '10Gi'),
        layers: [],
        now: NOW,
      });

      expect(decision).toMatchObject({ action: 'error', reason });
      expect(decision.detail).toBe(
        'pvc-chonker.io/wait-for-backups: "no" is not "true" or "false"',
      );
    },
  );

  it('a policy waitForBackups that is neither a boolean nor "true"/"false" makes the policy invalid', () => {
    const parsed = policy({ waitForBackups: 'off' });

    expect(parsed.problems).toEqual([
      {
        field: 'spec.template.waitForBackups',
        value: '"off"',
        message: '"off" is not "true" or "false"',
      },
    ]);
  });

  it('a bad class annotation names the class', () => {
    const layers = pvcLayers({
      flags: flags({}),
      storageClass: cls({ 'pvc-chonker.io/increase': 'lots' }),
      policy: undefined,
      pvc: pvc(),
    });

    expect(layers.problem?.reason).toBe('invalid-annotation');
    expect(layers.problem?.detail).toContain('StorageClass gp3: pvc-chonker.io/increase');
  });

  it('provider keys layer like the settings, the PVC winning', () => {
    const claim = pvc({ annotations: { 'pvc-chonker.io/aws-volume-type': 'io2' } });
    const layers = pvcLayers({
      flags: flags({}),
      storageClass: cls({ 'pvc-chonker.io/provider': 'gcp' }),
      policy: policy({ provider: 'aws', providerConfig: { volumeType: 'gp3' } }),
      pvc: claim,
    });

    expect(layers.providerSources).toEqual({
      'pvc-chonker.io/provider': 'policy:db/db',
      'pvc-chonker.io/aws-volume-type': 'annotation',
    });
    expect(withProviderAnnotations(claim, layers).annotations).toMatchObject({
      'pvc-chonker.io/provider': 'aws',
      'pvc-chonker.io/aws-volume-type': 'io2',
    });
  });
});

describe('managementOf', () => {
  it.each([
    [
      'annotation true',
      { 'pvc-chonker.io/enabled': 'true' },
      {},
      false,
      undefined,
      'managed',
      ['annotation'],
    ],
    ['nothing', {}, {}, false, undefined, 'not-enabled', []],
    [
      'class enabled',
      {},
      { 'pvc-chonker.io/enabled': 'true' },
      false,
      undefined,
      'managed',
      ['storageclass:gp3'],
    ],
    ['policy selects', {}, {}, true, undefined, 'managed', ['policy:db/db']],
    ['group member', {}, {}, false, 'es', 'managed', ['group:es']],
    [
      'false wins over everything',
      { 'pvc-chonker.io/enabled': 'false' },
      { 'pvc-chonker.io/enabled': 'true' },
      true,
      'es',
      'disabled',
      [],
    ],
  ] as const)('%s', (_name, annotations, classAnnotations, selected, group, state, by) => {
    const verdict = managementOf({
      pvc: pvc({ enabled: false, annotations: { ...annotations } }),
      storageClass: cls({ ...classAnnotations }),
      policy: selected ? policy({}) : undefined,
      group,
    });

    expect(verdict.state).toBe(state);
    expect(verdict.optedInBy).toEqual(by);
  });
});

describe('resolveSettingsOver', () => {
  const below = [flags({ threshold: '85%' }), { source: 'storageclass:gp3', values: {} } as const];

  it.each([
    { name: 'the PVC sets nothing', own: {} },
    { name: 'the PVC sets its threshold', own: { threshold: '90%' } },
    { name: 'the PVC sets a setting the layers below do not', own: { cooldown: '1h' } },
  ])('$name: the same settings and sources as resolving every layer', ({ own }) => {
    const layer = parseSettingsLayer('annotation', own);
    if (!layer.ok) throw new Error('bad annotations');

    const resolved = resolveSettingsOver(below, layer.value);

    expect(resolved).toEqual(resolveSettings([...below, layer.value]));
  });

  it('PVCs that set nothing share one resolution of the same layers below', () => {
    const first = resolveSettingsOver(below, { source: 'annotation', values: {} });

    const second = resolveSettingsOver(below, { source: 'annotation', values: {} });

    expect(second).toBe(first);
    expect(resolveSettingsOver([...below], { source: 'annotation', values: {} })).not.toBe(first);
  });
});

describe('managementOf, why', () => {
  it.each([
    [{ 'pvc-chonker.io/enabled': 'true' }, false, 'opted in by annotation'],
    [{ 'pvc-chonker.io/enabled': 'true' }, true, 'opted in by annotation, policy:db/db'],
    [{}, true, 'opted in by policy:db/db'],
  ] as const)('%j, policy %s: %s', (annotations, selected, why) => {
    const verdict = managementOf({
      pvc: pvc({ enabled: false, annotations: { ...annotations } }),
      storageClass: cls({}),
      policy: selected ? policy({}) : undefined,
      group: undefined,
    });

    expect(verdict.why).toBe(why);
  });
});
