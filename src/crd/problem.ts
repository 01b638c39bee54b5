/**
 * One validation failure, shaped like k8s.io/apimachinery/pkg/util/validation/field.Error so that `check` prints
 * what `kubectl create` prints: `spec.containers[0].name: Invalid value: "Agent_1": Name must be a valid DNS label`.
 */
export const ErrorType = {
  required: 'Required value',
  invalid: 'Invalid value',
  notSupported: 'Unsupported value',
  tooLong: 'Too long',
  tooMany: 'Too many',
  duplicate: 'Duplicate value',
  forbidden: 'Forbidden',
  typeInvalid: 'Invalid value'
} as const
export type ErrorTypeName = keyof typeof ErrorType

export interface CrdProblem {
  /** apiserver spelling, e.g. `spec.containers[0].name`; '' for the whole object */
  field: string
  type: ErrorTypeName
  /** the Go-printed bad value (`"Agent_1"`, `11`, or the schema type for a rule that errs), when the apiserver prints one */
  value?: string
  detail: string
}

/** A rule the offline checker could not run; never counted as passed. */
export interface UncheckedRule {
  field: string
  rule: string
  why: string
  /** transition rules are not run on create by the apiserver either */
  transition: boolean
}

/** Go's %q is close to JSON for the strings in CRDs; numbers and booleans print bare. */
export function goValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return 'null'
  return JSON.stringify(JSON.stringify(value))
}

export function formatCrdProblem (problem: CrdProblem): string {
  const value = problem.value === undefined ? '' : `${problem.value}${problem.detail === '' ? '' : ': '}`
  const detail = `${value}${problem.detail}`
  return `${problem.field === '' ? '<nil>' : problem.field}: ${ErrorType[problem.type]}${detail === '' ? '' : `: ${detail}`}`
}

export function formatUnchecked (unchecked: UncheckedRule): string {
  return `${unchecked.field === '' ? '<root>' : unchecked.field}: rule ${JSON.stringify(unchecked.rule)} not checked offline: ${unchecked.why}`
}
