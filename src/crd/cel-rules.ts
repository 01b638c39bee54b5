import { type CelInput, isCelError, run } from '@bufbuild/cel'
import { kubernetesLibrary } from './cel-library/index.js'
import { optionalNone } from './cel-library/optional.js'
import { toCel } from './cel-value.js'
import { formatPath, type PathPart } from './path.js'
import { goValue, type CrdProblem, type ErrorTypeName, type UncheckedRule } from './problem.js'
import { childSchema, isObject, type StructuralSchema, type ValidationRule } from './schema.js'

/**
 * Runs every x-kubernetes-validations rule at the node it is declared on, with `self` bound to that node, as
 * k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go does on create: every array item and map
 * value is visited, absent or null values are not. Transition rules (those reading oldSelf) run only on update, so
 * on create the apiserver skips them too; they are still listed as not checked offline so nobody mistakes them for
 * checked ones.
 */
export interface RuleResults { problems: CrdProblem[], unchecked: UncheckedRule[] }

// `reason` names a field.ErrorType (apiextensions v1 ValidationRule.Reason); the default is FieldValueInvalid.
const reasons: Readonly<Record<string, ErrorTypeName>> = {
  FieldValueInvalid: 'invalid',
  FieldValueForbidden: 'forbidden',
  FieldValueRequired: 'required',
  FieldValueDuplicate: 'duplicate'
}

function isTransition (rule: string): boolean {
  const code = rule.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '""')
  return /\boldSelf\b/.test(code)
}

/** What @bufbuild/cel cannot run (an unbound function or a syntax it lacks), as opposed to a rule that errs. */
function notSupportedOffline (message: string): boolean {
  return /unbound function|unsupported|syntax error|parse/i.test(message)
}

/** `fieldPath: .spec.x` or `.x['y']` (relative JSONPath, apiextensions ValidationRule.FieldPath). */
function fieldPathParts (fieldPath: string | undefined): PathPart[] {
  if (fieldPath === undefined || fieldPath === '') return []
  return [...fieldPath.matchAll(/\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\]/g)].map((match) => match[3] !== undefined ? Number(match[3]) : match[1] ?? match[2] ?? '')
}

type Bindings = Record<string, CelInput>

function message (rule: ValidationRule, bindings: Bindings): string {
  if (rule.messageExpression !== undefined) {
    const result = run(rule.messageExpression, bindings, { funcs: [...kubernetesLibrary] })
    // The apiserver falls back to `message` when messageExpression errs or yields an empty string.
    if (typeof result === 'string' && result.trim() !== '') return result
  }
  return rule.message !== undefined && rule.message.trim() !== '' ? rule.message : `failed rule: ${rule.rule.trim()}`
}

function evaluate (rule: ValidationRule, value: unknown, schema: StructuralSchema, path: readonly PathPart[], results: RuleResults): void {
  const field = formatPath(path)
  // optionalOldSelf (k8s ≥ 1.30) makes a transition rule run on create too, with oldSelf = optional.none().
  if (isTransition(rule.rule) && rule.optionalOldSelf !== true) {
    results.unchecked.push({ field, rule: rule.rule, why: 'transition rule (it reads oldSelf; the apiserver runs it only on update)', transition: true })
    return
  }
  const bindings: Bindings = { self: toCel(value, schema), ...rule.optionalOldSelf === true ? { oldSelf: optionalNone() } : {} }
  const result = run(rule.rule, bindings, { funcs: [...kubernetesLibrary] })
  if (isCelError(result)) {
    if (notSupportedOffline(result.message)) {
      results.unchecked.push({ field, rule: rule.rule, why: result.message, transition: false })
      return
    }
    // validation.go: the schema type as the value, then `<error> evaluating rule: <message or rule>` (seen on
    // kube-apiserver 1.37: `Invalid value: "object": no such key: must evaluating rule: must is x`). cel-go says
    // "no such key" where @bufbuild/cel says "field not found"; other runtime errors keep @bufbuild/cel's words.
    const type = JSON.stringify(schema['x-kubernetes-int-or-string'] === true ? 'string' : schema.type ?? 'object')
    const error = result.message.replace(/^field not found: /, 'no such key: ')
    const ruleText = rule.message !== undefined && rule.message.trim() !== '' ? rule.message : rule.rule.trim()
    results.problems.push({ field, type: 'invalid', value: type, detail: `${error} evaluating rule: ${ruleText}` })
    return
  }
  if (result === true) return
  if (typeof result !== 'boolean') {
    results.unchecked.push({ field, rule: rule.rule, why: `rule returned ${typeof result}, not bool`, transition: false })
    return
  }
  const errorType = reasons[rule.reason ?? 'FieldValueInvalid'] ?? 'invalid'
  // field.Invalid prints a scalar bad value (`Invalid value: "Agent_1": …`) and omits objects and lists
  // (field.OmitValueType); field.Forbidden and field.Required carry none (`spec.owner: Forbidden: …`). All seen on
  // kube-apiserver 1.37 by test/cli/check-crd-apiserver.test.ts.
  const scalar = !isObject(value) && !Array.isArray(value)
  const printed = errorType === 'forbidden' || errorType === 'required' || !scalar ? undefined : goValue(value)
  results.problems.push({ field: formatPath([...path, ...fieldPathParts(rule.fieldPath)]), type: errorType, value: printed, detail: message(rule, bindings) })
}

function walk (value: unknown, schema: StructuralSchema, path: readonly PathPart[], results: RuleResults): void {
  if (value === undefined || value === null) return
  for (const rule of schema['x-kubernetes-validations'] ?? []) evaluate(rule, value, schema, path, results)
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const [index, item] of value.entries()) walk(item, schema.items, [...path, index], results)
    return
  }
  if (!isObject(value)) return
  for (const [key, child] of Object.entries(value)) {
    const property = schema.properties?.[key]
    const next = property ?? childSchema(schema, key)
    if (next !== undefined) walk(child, next, [...path, property === undefined ? { key } : key], results)
  }
}

export function validateRules (object: unknown, schema: StructuralSchema): RuleResults {
  const results: RuleResults = { problems: [], unchecked: [] }
  walk(object, schema, [], results)
  return results
}
