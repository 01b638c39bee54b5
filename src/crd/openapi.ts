import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { formatPath, type PathPart } from './path.js'
import { goValue, type CrdProblem } from './problem.js'
import type { StructuralSchema } from './schema.js'

/**
 * The OpenAPI value validation of a structural schema, run by ajv on a JSON Schema translation and reported in the
 * apiserver's words (k8s.io/apiextensions-apiserver/pkg/apiserver/validation/validation.go
 * kubeOpenAPIResultToFieldErrors, on top of k8s.io/kube-openapi/pkg/validation/errors).
 * `format` is not checked: the apiserver checks only a few formats and none of them is used by rules we test.
 */

type JsonSchema = Record<string, unknown>

// `format` rides along unchecked (validateFormats: false) so type errors can name int32/int64 as kube-openapi does.
const copied = ['format', 'required', 'enum', 'maxItems', 'minItems', 'maxLength', 'minLength', 'maxProperties', 'minProperties',
  'pattern', 'minimum', 'maximum', 'multipleOf'] as const

function translate (schema: StructuralSchema): JsonSchema {
  const out: JsonSchema = {}
  for (const key of copied) if (schema[key] !== undefined) out[key] = schema[key]
  // x-kubernetes-int-or-string replaces `type` (structural schema rule); either JSON type is accepted.
  const types: string[] = schema['x-kubernetes-int-or-string'] === true ? ['integer', 'string'] : schema.type === undefined ? [] : [schema.type]
  if (schema.nullable === true && types.length > 0) types.push('null')
  if (types.length > 0) out['type'] = types.length === 1 ? types[0] : types
  if (schema.nullable === true && Array.isArray(schema.enum)) out['enum'] = [...schema.enum, null]
  // OpenAPI 3.0 has boolean exclusive bounds; JSON Schema draft 7 (ajv's default) has numeric ones.
  if (schema.exclusiveMinimum === true && schema.minimum !== undefined) { out['exclusiveMinimum'] = schema.minimum; delete out['minimum'] }
  if (schema.exclusiveMaximum === true && schema.maximum !== undefined) { out['exclusiveMaximum'] = schema.maximum; delete out['maximum'] }
  if (schema.properties !== undefined) out['properties'] = Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, translate(value)]))
  if (typeof schema.additionalProperties === 'object') out['additionalProperties'] = translate(schema.additionalProperties)
  if (schema.items !== undefined) out['items'] = translate(schema.items)
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key]
    if (list !== undefined) out[key] = list.map(translate)
  }
  if (schema.not !== undefined) out['not'] = translate(schema.not)
  return out
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, verbose: true })
const stringKeywords = ['maxLength', 'minLength', 'pattern']
const compiled = new WeakMap<StructuralSchema, ValidateFunction>()

function validatorFor (schema: StructuralSchema): ValidateFunction {
  let validate = compiled.get(schema)
  if (validate === undefined) {
    validate = ajv.compile(translate(schema))
    compiled.set(schema, validate)
  }
  return validate
}

function pathOf (pointer: string): PathPart[] {
  if (pointer === '') return []
  // RFC 6901 §4: unescape ~1 before ~0.
  return pointer.slice(1).split('/').map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => /^(0|[1-9]\d*)$/.test(part) ? Number(part) : part)
}

/** kube-openapi names JSON types as Go sees them: a non-integral number is "number". */
function jsonType (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function param (error: ErrorObject, name: string): unknown {
  return (error.params as Record<string, unknown>)[name]
}

function toProblem (error: ErrorObject): CrdProblem {
  const path = pathOf(error.instancePath)
  const field = formatPath(path)
  const value: unknown = error.data
  const where = `${field} in body`
  const limit = String(param(error, 'limit'))
  switch (error.keyword) {
    case 'required': return { field: formatPath([...path, String(param(error, 'missingProperty'))]), type: 'required', detail: '' }
    case 'type': {
      // With an integer format, kube-openapi names the format and the Go type: `must be of type int32: "float64"`.
      const format: unknown = (error.parentSchema as JsonSchema | undefined)?.['format']
      const sized = typeof value === 'number' && (format === 'int32' || format === 'int64')
      const actual = goValue(sized ? 'float64' : jsonType(value))
      const expected = sized ? String(format) : String(param(error, 'type')).replace(',null', '')
      return { field, type: 'typeInvalid', value: actual, detail: `${where} must be of type ${expected}: ${actual}` }
    }
    case 'enum': return { field, type: 'notSupported', value: goValue(value), detail: `supported values: ${(param(error, 'allowedValues') as unknown[]).map(goValue).join(', ')}` }
    case 'maxLength': return { field, type: 'tooLong', detail: `may not be more than ${limit} bytes` }
    case 'maxItems': return { field, type: 'tooMany', value: String((value as unknown[]).length), detail: `must have at most ${limit} items` }
    case 'maxProperties': return { field, type: 'tooMany', value: String(Object.keys(value as object).length), detail: `must have at most ${limit} items` }
    case 'pattern': return { field, type: 'invalid', value: goValue(value), detail: `${where} should match '${String(param(error, 'pattern'))}'` }
    case 'minLength': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be at least ${limit} chars long` }
    case 'minItems': return { field, type: 'invalid', value: goValue(value), detail: `${where} should have at least ${limit} items` }
    case 'minProperties': return { field, type: 'invalid', value: goValue(value), detail: `${where} should have at least ${limit} properties` }
    case 'minimum': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be greater than or equal to ${limit}` }
    case 'exclusiveMinimum': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be greater than ${limit}` }
    case 'maximum': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be less than or equal to ${limit}` }
    case 'exclusiveMaximum': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be less than ${limit}` }
    case 'multipleOf': return { field, type: 'invalid', value: goValue(value), detail: `${where} should be a multiple of ${String(param(error, 'multipleOf'))}` }
    // kube-openapi reports a failed combinator at no field (`<nil>`), naming the path in the message.
    case 'anyOf': return { field: '', type: 'invalid', value: '""', detail: `${JSON.stringify(field)} must validate at least one schema (anyOf)` }
    case 'oneOf': return { field: '', type: 'invalid', value: '""', detail: `${JSON.stringify(field)} must validate one and only one schema (oneOf)` }
    case 'not': return { field: '', type: 'invalid', value: '""', detail: `${JSON.stringify(field)} must not validate the schema (not)` }
    default: return { field, type: 'invalid', value: goValue(value), detail: `${where} ${error.message ?? 'is invalid'}` }
  }
}

export function validateOpenApi (object: unknown, schema: StructuralSchema): CrdProblem[] {
  const validate = validatorFor(schema)
  if (validate(object)) return []
  // kube-openapi merges the failures of one anyOf/oneOf branch only (the best one; with equal standing the first),
  // where ajv lists every branch's: keep branch 0's (k8s.io/kube-openapi/pkg/validation/validate/schema_props.go).
  const errors = (validate.errors ?? []).filter((error) => !/\/(anyOf|oneOf)\/[1-9]\d*\//.test(error.schemaPath))
  const problems = errors.map(toProblem)
  const seen = new Set<string>()
  return problems.filter((problem, index) => {
    const key = JSON.stringify(problem)
    if (seen.has(key)) return false
    seen.add(key)
    // kube-openapi's stringValidator returns at the first of maxLength, minLength, pattern that fails (seen on
    // kube-apiserver 1.37: an empty name that also misses the pattern gets only the minLength error).
    const error = errors[index]
    const rank = stringKeywords.indexOf(error?.keyword ?? '')
    return error === undefined || rank < 0 ||
      !errors.some((other) => other.instancePath === error.instancePath && stringKeywords.indexOf(other.keyword) >= 0 && stringKeywords.indexOf(other.keyword) < rank)
  })
}
