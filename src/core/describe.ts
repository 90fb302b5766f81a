import type { FieldProblem } from './selector.js';

/** "spec.template.threshold: \"eighty\" is not a percentage", for reports and conditions. */
export function describeFieldProblem(problem: FieldProblem): string {
  const text = problem.message.includes(problem.value)
    ? `${problem.field}: ${problem.message}`
    : `${problem.field}: ${problem.value} ${problem.message}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
