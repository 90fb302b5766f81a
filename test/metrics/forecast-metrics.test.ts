/**
 * pvc_chonker_days_until_full and pvc_chonker_days_until_max_size: per PVC, only while the
 * volume grows, and under the --pvc-metrics switch like every per-PVC series.
 */
import { describe, expect, it } from 'vitest';
import type { ForecastFigures } from '../../src/core/outcome.js';
import { NO_PREVIOUS_VALUES } from '../../src/metrics/series.js';
import { outcome, summary } from './builders.js';
import { buildFamilies, samples } from './exposition-text.js';

function figures(daysUntilFull?: number, daysUntilMaxSize?: number): ForecastFigures {
  return {
    growthBytesPerDay: daysUntilFull === undefined ? 0 : 2 ** 30,
    daysUntilFull,
    daysUntilMaxSize,
    summary: '',
  };
}

const fleet = [
  outcome({ name: 'growing', forecast: figures(12.5, 40) }),
  outcome({ name: 'no-max-size', forecast: figures(30) }),
  outcome({ name: 'flat', forecast: figures() }),
  outcome({ name: 'no-forecast' }),
  // Quiet by every other measure: kept under problems for its forecast alone.
  outcome({ name: 'full-tomorrow', forecast: figures(0.5) }),
  outcome({ name: 'max-size-soon', forecast: figures(20, 6) }),
];

describe('forecast metrics', () => {
  it('all: one series per growing PVC, none for flat volumes or without a forecast', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'all');

    expect(samples(families, 'pvc_chonker_days_until_full')).toEqual([
      { labels: { pvc: 'growing', namespace: 'default' }, value: 12.5 },
      { labels: { pvc: 'no-max-size', namespace: 'default' }, value: 30 },
      { labels: { pvc: 'full-tomorrow', namespace: 'default' }, value: 0.5 },
      { labels: { pvc: 'max-size-soon', namespace: 'default' }, value: 20 },
    ]);
    expect(samples(families, 'pvc_chonker_days_until_max_size')).toEqual([
      { labels: { pvc: 'growing', namespace: 'default' }, value: 40 },
      { labels: { pvc: 'max-size-soon', namespace: 'default' }, value: 6 },
    ]);
  });

  it('problems: only PVCs full within a day or at max-size within a week', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'problems');

    expect(samples(families, 'pvc_chonker_days_until_full').map((s) => s.labels['pvc'])).toEqual([
      'full-tomorrow',
      'max-size-soon',
    ]);
  });

  it('none: no forecast series', () => {
    const families = buildFamilies(summary(fleet), NO_PREVIOUS_VALUES, 'none');

    expect(samples(families, 'pvc_chonker_days_until_full')).toEqual([]);
  });
});
