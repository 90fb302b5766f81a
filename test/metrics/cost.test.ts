// The cost families: sums by provider and counts by kind, never a per-PVC cost series.
import { describe, expect, it } from 'vitest';
import type { PvcOutcome } from '../../src/core/outcome.js';
import { SHIPPED_PRICES } from '../../src/core/prices.js';
import { GiB } from '../../src/core/quantity.js';
import { volumeCost } from '../../src/core/volume-cost.js';
import type { VolumeType } from '../../src/core/volume-type.js';
import { renderExposition } from '../../src/metrics/exposition.js';
import { NO_PREVIOUS_VALUES, planMetrics } from '../../src/metrics/series.js';
import { expanded, outcome, summary } from './builders.js';

function priced(type: VolumeType, o: PvcOutcome): PvcOutcome {
  const expanding = o.action === 'expand' || o.action === 'would-expand';
  return {
    ...o,
    cost: volumeCost(
      {
        volumeType: type,
        driver: 'ebs.csi.aws.com',
        currentClass: undefined,
        volumeClasses: [],
        prices: SHIPPED_PRICES,
      },
      {
        sizeBytes: o.requestBytes,
        expansion:
          expanding && o.currentBytes !== undefined && o.newBytes !== undefined
            ? { fromBytes: o.currentBytes, toBytes: o.newBytes }
            : undefined,
      },
    ),
  };
}

const GP2: VolumeType = { provider: 'aws', type: 'gp2', source: 'test' };
const PD: VolumeType = { provider: 'gcp', type: 'pd-ssd', source: 'test' };

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('cost metrics', () => {
  it('sums the managed fleet and the expansions by provider, and counts recommendations by kind', () => {
    const pvcs = [
      // 10Gi -> 12Gi of gp2: $1.20 a month, $0.20 added.
      priced(GP2, expanded('a')),
      priced(GP2, outcome({ name: 'b', requestBytes: 100n * GiB })),
      priced(PD, outcome({ name: 'c' })),
      // A would-be expansion adds nothing to the metric (a dry run changes nothing).
      priced(PD, expanded('d', { action: 'would-expand', requestBytes: 10n * GiB })),
      outcome({ name: 'unknown-type' }),
    ];

    const text = renderExposition(planMetrics(summary(pvcs), NO_PREVIOUS_VALUES, 'all'));

    expect(lines(text, 'pvc_chonker_monthly_cost_usd')).toEqual([
      'pvc_chonker_monthly_cost_usd{provider="aws"} 11.2',
      'pvc_chonker_monthly_cost_usd{provider="gcp"} 3.4',
    ]);
    expect(lines(text, 'pvc_chonker_monthly_cost_added_usd')).toEqual([
      'pvc_chonker_monthly_cost_added_usd{provider="aws"} 0.2',
      'pvc_chonker_monthly_cost_added_usd{provider="gcp"} 0',
    ]);
    expect(lines(text, 'pvc_chonker_recommendations')).toEqual([
      'pvc_chonker_recommendations{kind="gp2-to-gp3"} 2',
      'pvc_chonker_recommendations{kind="io1-to-io2"} 0',
      'pvc_chonker_recommendations{kind="volume-attributes-class"} 0',
    ]);
    expect(text).not.toMatch(/^pvc_chonker_(monthly_cost|recommendations)\S*\{[^}]*pvc=/m);
  });

  it('writes no cost family for a fleet without a priced volume', () => {
    const text = renderExposition(
      planMetrics(summary([outcome({ name: 'a' })]), NO_PREVIOUS_VALUES, 'all'),
    );

    expect(text).not.toContain('pvc_chonker_monthly_cost');
    expect(text).not.toContain('pvc_chonker_recommendations');
  });
});
