import { Counter, Gauge, Registry } from 'prom-client';
import type { Family } from './series.js';

/**
 * A registry of the run's own, never prom-client's global one: each run is a fresh picture,
 * and tests can build many side by side. No default process metrics: a batch job's memory and
 * CPU are not worth keeping in the Pushgateway after it exits.
 */
export function buildRegistry(families: readonly Family[]): Registry {
  const registry = new Registry();
  for (const { definition, samples } of families) {
    const options = {
      name: definition.name,
      help: definition.help,
      labelNames: [...definition.labelNames],
      registers: [registry],
    };
    if (definition.type === 'counter') {
      const counter = new Counter(options);
      for (const sample of samples) counter.inc(sample.labels, sample.value);
    } else {
      const gauge = new Gauge(options);
      for (const sample of samples) gauge.set(sample.labels, sample.value);
    }
  }
  return registry;
}

/** Prometheus text format 0.0.4, as pushed and as written to --metrics-file. */
export async function renderExposition(
  families: readonly Family[],
): Promise<{ text: string; contentType: string }> {
  const registry = buildRegistry(families);
  return { text: await registry.metrics(), contentType: registry.contentType };
}
