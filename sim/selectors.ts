// labelSelector / fieldSelector parsing and matching with the apiserver's supported field labels.
import { badRequest } from './status.js';
import { readPath, stringMap, meta, str, type JsonObject } from './json.js';
import type { SimKind } from './resources.js';

export type Predicate = (o: JsonObject) => boolean;

/** Splits on commas that are not inside `in (a,b)` parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim() !== '') terms.push(cur.trim());
  return terms.filter((t) => t !== '');
}

function labelTerm(term: string): Predicate {
  const setMatch = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const [, key = '', op, list = ''] = setMatch;
    const values = list.split(',').map((v) => v.trim());
    return (o) => {
      const labels = stringMap(meta(o)['labels']);
      const v = labels[key];
      return op === 'in'
        ? v !== undefined && values.includes(v)
        : v === undefined || !values.includes(v);
    };
  }
  const eq = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (eq) {
    const [, key = '', op, value = ''] = eq;
    return (o) => {
      const v = stringMap(meta(o)['labels'])[key];
      return op === '!=' ? v !== value : v === value;
    };
  }
  const exists = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)$/.exec(term);
  if (exists) {
    const [, not, key = ''] = exists;
    return (o) => key in stringMap(meta(o)['labels']) !== (not === '!');
  }
  throw badRequest(
    `unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`,
  );
}

export function parseLabelSelector(selector: string | undefined): Predicate {
  if (selector === undefined || selector.trim() === '') return () => true;
  const preds = splitTerms(selector).map(labelTerm);
  return (o) => preds.every((p) => p(o));
}

/** Field labels each kind supports (pkg/registry/.../strategy.go ToSelectableFields). */
const FIELD_LABELS: Partial<Record<SimKind, string[]>> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  PersistentVolumeClaim: [],
  PersistentVolume: [],
  StorageClass: [],
  Secret: ['type'],
  MutatingWebhookConfiguration: [],
  ValidatingWebhookConfiguration: [],
  CustomResourceDefinition: [],
  PVCPolicy: [],
  PVCGroup: [],
};

function fieldValue(kind: SimKind, o: JsonObject, field: string): string {
  if (field === 'source') return str(readPath(o, 'source.component')) ?? '';
  if (kind === 'Pod' && field === 'spec.hostNetwork') return String(readPath(o, field) === true);
  if (kind === 'Node' && field === 'spec.unschedulable') return String(readPath(o, field) === true);
  const v = readPath(o, field);
  return typeof v === 'string' ? v : '';
}

export function parseFieldSelector(kind: SimKind, selector: string | undefined): Predicate {
  if (selector === undefined || selector.trim() === '') return () => true;
  const preds = splitTerms(selector).map((term): Predicate => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    if (
      field !== 'metadata.name' &&
      field !== 'metadata.namespace' &&
      !(FIELD_LABELS[kind] ?? []).includes(field)
    ) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return (o) =>
      op === '!=' ? fieldValue(kind, o, field) !== value : fieldValue(kind, o, field) === value;
  });
  return (o) => preds.every((p) => p(o));
}
