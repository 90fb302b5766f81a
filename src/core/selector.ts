/**
 * Kubernetes label selectors (metav1.LabelSelector): parsed once from JSON, then matched against
 * labels. The pass, `explain` and the admission webhook all match with `selectorMatches`, so a
 * PVC is selected by the same rule wherever the question is asked.
 */
import { isRecord } from './json.js';
import { err, ok, type Result } from './result.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: readonly string[];
}

export interface LabelSelector {
  matchLabels: Readonly<Record<string, string>>;
  matchExpressions: readonly SelectorRequirement[];
}

/** A bad field of a custom resource: its path, the value as written, and what is wrong. */
export interface FieldProblem {
  field: string;
  value: string;
  message: string;
}

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** The value as it appears in a message: strings quoted, everything else as JSON. */
export function showValue(value: unknown): string {
  if (value === undefined) return '<absent>';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function problem(field: string, value: unknown, message: string): FieldProblem {
  return { field, value: showValue(value), message };
}

function parseMatchLabels(
  value: unknown,
  field: string,
): Result<Record<string, string>, FieldProblem> {
  if (value === undefined || value === null) return ok({});
  if (!isRecord(value)) return err(problem(field, value, 'must be a map of label keys to values'));
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(value)) {
    if (typeof labelValue !== 'string')
      return err(problem(`${field}.${key}`, labelValue, 'must be a string'));
    labels[key] = labelValue;
  }
  return ok(labels);
}

function checkValues(
  op: SelectorOperator,
  values: unknown,
  field: string,
): Result<string[], FieldProblem> {
  const list = values ?? [];
  if (!Array.isArray(list) || !list.every((v): v is string => typeof v === 'string'))
    return err(problem(field, values, 'must be a list of strings'));
  // apimachinery's LabelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist take none.
  if ((op === 'In' || op === 'NotIn') && list.length === 0)
    return err(problem(field, values, `must be non-empty when operator is ${op}`));
  if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0)
    return err(problem(field, values, `must be empty when operator is ${op}`));
  return ok(list);
}

function parseRequirement(
  value: unknown,
  field: string,
): Result<SelectorRequirement, FieldProblem> {
  if (!isRecord(value)) return err(problem(field, value, 'must be an object'));
  const { key, operator, values } = value;
  if (typeof key !== 'string' || key === '')
    return err(problem(`${field}.key`, key, 'must be a non-empty string'));
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator))
    return err(problem(`${field}.operator`, operator, `must be one of ${OPERATORS.join(', ')}`));
  const op = operator as SelectorOperator;
  const list = checkValues(op, values, `${field}.values`);
  if (!list.ok) return list;
  return ok({ key, operator: op, values: list.value });
}

/**
 * Parses a LabelSelector from JSON. Absent (undefined or null) gives undefined: the Kubernetes
 * convention (LabelSelectorAsSelector) is that a null selector selects nothing, while an empty
 * one ({}) selects everything; callers decide what "absent" means for their field.
 */
export function parseLabelSelector(
  value: unknown,
  field: string,
): Result<LabelSelector | undefined, FieldProblem> {
  if (value === undefined || value === null) return ok(undefined);
  if (!isRecord(value)) return err(problem(field, value, 'must be a label selector object'));
  const matchLabels = parseMatchLabels(value['matchLabels'], `${field}.matchLabels`);
  if (!matchLabels.ok) return matchLabels;
  const rawExpressions = value['matchExpressions'] ?? [];
  if (!Array.isArray(rawExpressions))
    return err(problem(`${field}.matchExpressions`, rawExpressions, 'must be a list'));
  const matchExpressions: SelectorRequirement[] = [];
  for (const [index, entry] of rawExpressions.entries()) {
    const requirement = parseRequirement(entry, `${field}.matchExpressions[${index}]`);
    if (!requirement.ok) return requirement;
    matchExpressions.push(requirement.value);
  }
  return ok({ matchLabels: matchLabels.value, matchExpressions });
}

function requirementMatches(
  requirement: SelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  switch (requirement.operator) {
    case 'In':
      return present && value !== undefined && requirement.values.includes(value);
    case 'NotIn':
      // As in apimachinery: a PVC without the label is "not in" any set of values.
      return !present || value === undefined || !requirement.values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
  }
}

/**
 * Whether the labels satisfy every matchLabels entry and every matchExpression (AND). An empty
 * selector matches every set of labels; an absent one (undefined) matches none.
 */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return false;
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((requirement) => requirementMatches(requirement, labels));
}
