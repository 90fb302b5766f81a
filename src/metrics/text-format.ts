/**
 * The pieces of the Prometheus text format 0.0.4 that pvc-chonker writes and reads back. Label
 * text is kept escaped end to end: a series read back from the Pushgateway is matched against
 * this run's series by its label text, so both sides must order and escape labels the same way.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NEEDS_ESCAPE = /[\\"\n]/;

/** Backslash, double quote and newline are escaped in label values (as Go's expfmt does). */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and newline only. */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat reads JS number text, except the infinities, which the format spells +Inf/-Inf. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/**
 * The order of labels in a series' label text: namespace, then pvc, then the rest by name.
 * One order for what is written and what is read back, so label text works as a map key, and
 * a PVC's series all start with the same `namespace="…",pvc="…"` prefix.
 */
export function canonicalOrder(names: readonly string[]): string[] {
  const rank = (name: string): number => (name === 'namespace' ? 0 : name === 'pvc' ? 1 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** `namespace="ns",pvc="web"`: the label text of one PVC, the prefix of all its series. */
export function pvcLabelText(namespace: string, pvc: string): string {
  return `namespace="${escapeLabelValue(namespace)}",pvc="${escapeLabelValue(pvc)}"`;
}

export function namespaceLabelText(namespace: string): string {
  return `namespace="${escapeLabelValue(namespace)}"`;
}

/** Appends one more label (its name sorts after namespace and pvc) to label text. */
export function withLabel(labelText: string, name: string, value: string): string {
  const pair = `${name}="${escapeLabelValue(value)}"`;
  return labelText === '' ? pair : `${labelText},${pair}`;
}

/** The label text that starts a series' key: `namespace="…"` or `namespace="…",pvc="…"`. */
// eslint-disable-next-line security/detect-unsafe-regex -- anchored; each quoted value is consumed by disjoint alternatives, so matching is linear
const IDENTITY = /^namespace="(?:[^"\\]|\\.)*"(?:,pvc="(?:[^"\\]|\\.)*")?/;

/** The namespace (and pvc) part of a counter series' label text; '' for series of the job. */
export function identityOf(labelText: string): string {
  return IDENTITY.exec(labelText)?.[0] ?? '';
}
