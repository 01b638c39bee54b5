/**
 * The differential corpus of issue 15 §2, built from the CRD itself so that a CRD change is followed: every constraint
 * of the served version's openAPIV3Schema (type, enum, lengths, pattern, bounds, int32, item and property counts,
 * required, unknown fields) and every x-kubernetes-validations rule is broken at least once, on each base template
 * where the constrained value is present. The schema is read here, independently of src/crd, so the test does not
 * share the code it judges. Pure: no I/O.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }
type Segment = string | number

export interface Schema {
  type?: string
  properties?: Record<string, Schema>
  items?: Schema
  additionalProperties?: Schema | boolean
  required?: string[]
  enum?: Json[]
  maxLength?: number
  minLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  format?: string
  maxItems?: number
  minItems?: number
  maxProperties?: number
  minProperties?: number
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-validations'?: Array<{ rule: string, message?: string }>
}

/** One constraint of the schema, named by its schema path (`spec.containers[].name`) and keyword. */
export interface Constraint {
  path: string
  keyword: string
}

export interface Mutant {
  /** base name, constraint broken and how */
  label: string
  constraint: Constraint
  object: JsonObject
  /** where the base was changed, and to what: for composing two mutants */
  path: Segment[]
  replacement: Json
}

/** `first`'s change applied on top of `second`'s object; undefined when one path contains the other. */
export function combined (first: Mutant, second: Mutant): JsonObject | undefined {
  const prefix = (a: Segment[], b: Segment[]): boolean => a.every((segment, index) => b[index] === segment)
  if (first.path.length === 0 || second.path.length === 0 || prefix(first.path, second.path) || prefix(second.path, first.path)) return undefined
  return replaced(second.object, first.path, first.replacement)
}

/**
 * How to break a CEL rule, keyed by the rule's text: each function gets the value the rule sees as `self` and returns
 * a replacement for it. A rule missing here is reported as uncovered, which fails the test until a breaker is added.
 */
export type RuleBreakers = Record<string, Array<(self: Json) => Json>>

/** Transition rules read oldSelf and only run on update: a create cannot break them. */
export const isTransitionRule = (rule: string): boolean => /\boldSelf\b/.test(rule)

// apiVersion, kind and metadata route the request (kubectl reads them before anything reaches the CRD's schema);
// breaking their types tests kubectl's decoder, not the CRD.
const routingFields = new Set(['apiVersion', 'kind', 'metadata'])

const patternCandidates = ['', ' ', '=', '?', 'a b', 'A_B', '%zz', '/', 'x', '-']

function wrongTypeValue (type: string | undefined): Json | undefined {
  switch (type) {
    case 'string': return 12345
    case 'integer': return 'eighty'
    case 'number': return 'many'
    case 'boolean': return 'yes'
    case 'array': return 'not-a-list'
    case 'object': return 'not-an-object'
    default: return undefined
  }
}

function patternBreaker (schema: Schema): string | undefined {
  if (schema.pattern === undefined) return undefined
  const pattern = new RegExp(schema.pattern, 'u')
  return patternCandidates.find((candidate) => !pattern.test(candidate) &&
    candidate.length >= (schema.minLength ?? 0) && candidate.length <= (schema.maxLength ?? Infinity))
}

/** One array element more than maxItems: copies of the first, names made unique so only the count is wrong. */
function oneTooMany (items: Json[], maxItems: number): Json[] | undefined {
  const first = items[0]
  if (first === undefined) return undefined
  return Array.from({ length: maxItems + 1 }, (_, index) => {
    const copy = structuredClone(first)
    if (copy !== null && typeof copy === 'object' && !Array.isArray(copy) && typeof copy['name'] === 'string') copy['name'] = `${copy['name']}-${index}`
    return copy
  })
}

/** The breaking replacements of one schema node's value; keywords the schema node lacks give nothing. */
function keywordBreakers (schema: Schema, value: Json, rules: RuleBreakers): Array<{ keyword: string, how: string, replace: Json }> {
  const found: Array<{ keyword: string, how: string, replace: Json }> = []
  const wrong = wrongTypeValue(schema.type)
  if (wrong !== undefined) found.push({ keyword: 'type', how: `${JSON.stringify(wrong)} for a ${String(schema.type)}`, replace: wrong })
  if (schema.enum !== undefined) found.push({ keyword: 'enum', how: 'a value outside the enum', replace: 'NotInTheEnum' })
  if (schema.maxLength !== undefined) found.push({ keyword: 'maxLength', how: `${schema.maxLength + 1} characters`, replace: 'a'.repeat(schema.maxLength + 1) })
  if (schema.minLength !== undefined && schema.minLength > 0) found.push({ keyword: 'minLength', how: 'too short', replace: 'a'.repeat(schema.minLength - 1) })
  const unmatched = patternBreaker(schema)
  if (unmatched !== undefined) found.push({ keyword: 'pattern', how: `${JSON.stringify(unmatched)}`, replace: unmatched })
  if (schema.minimum !== undefined) found.push({ keyword: 'minimum', how: `${schema.minimum - 1}`, replace: schema.minimum - 1 })
  if (schema.maximum !== undefined) found.push({ keyword: 'maximum', how: `${schema.maximum + 1}`, replace: schema.maximum + 1 })
  if (schema.format === 'int32') found.push({ keyword: 'format', how: '2^31', replace: 2 ** 31 })
  if (schema.format === 'int64') found.push({ keyword: 'format', how: '2^63 as a float', replace: 2 ** 64 })
  if (schema.maxItems !== undefined && Array.isArray(value)) {
    const many = oneTooMany(value, schema.maxItems)
    if (many !== undefined) found.push({ keyword: 'maxItems', how: `${schema.maxItems + 1} items`, replace: many })
  }
  if (schema.minItems !== undefined && schema.minItems > 0) found.push({ keyword: 'minItems', how: 'empty', replace: [] })
  if (schema.minProperties !== undefined && schema.minProperties > 0) found.push({ keyword: 'minProperties', how: 'empty object', replace: {} })
  if (schema.maxProperties !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const extra = Object.fromEntries(Array.from({ length: schema.maxProperties + 1 }, (_, index) => [`extra${index}`, 'x']))
    found.push({ keyword: 'maxProperties', how: `${schema.maxProperties + 1} properties`, replace: { ...value, ...extra } })
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const key of schema.required ?? []) {
      if (key in value) found.push({ keyword: `required:${key}`, how: `without ${key}`, replace: withoutKey(value, key) })
    }
    if (schema.properties !== undefined && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      found.push({ keyword: 'unknown-field', how: 'an undeclared field', replace: { ...value, undeclaredField: 'x' } })
    }
  }
  for (const { rule } of schema['x-kubernetes-validations'] ?? []) {
    if (isTransitionRule(rule)) continue
    for (const [index, breaker] of (rules[rule] ?? []).entries()) found.push({ keyword: `rule:${rule}`, how: `breaker ${index + 1}`, replace: breaker(value) })
  }
  return found
}

function withoutKey (value: JsonObject, key: string): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== key))
}

function replaced (root: JsonObject, path: readonly Segment[], replacement: Json): JsonObject {
  if (path.length === 0) return replacement as JsonObject
  const copy = structuredClone(root)
  let parent: Json = copy
  for (const segment of path.slice(0, -1)) parent = (parent as Record<Segment, Json>)[segment] ?? null
  ;(parent as Record<Segment, Json>)[path.at(-1) ?? ''] = replacement
  return copy
}

function schemaPath (path: readonly Segment[]): string {
  return path.map((segment) => typeof segment === 'number' ? '[]' : `.${segment}`).join('').replace(/^\./, '')
}

/**
 * Values where an offline validator is most likely to differ from the apiserver, whatever the verdict: JSON null,
 * lengths counted in characters (Go and CEL count runes, JavaScript's .length UTF-16 units: an emoji is one rune and
 * two units), a fraction for an integer.
 */
function edgeValues (schema: Schema): Array<{ keyword: string, how: string, replace: Json }> {
  const found: Array<{ keyword: string, how: string, replace: Json }> = [{ keyword: 'null', how: 'JSON null', replace: null }]
  if (schema.type === 'string') {
    const limit = schema.maxLength ?? 8
    found.push({ keyword: 'runes-at-limit', how: `${limit} emoji`, replace: '\u{1F600}'.repeat(limit) })
    found.push({ keyword: 'runes-over-limit', how: `${limit + 1} emoji`, replace: '\u{1F600}'.repeat(limit + 1) })
    found.push({ keyword: 'path-of-runes', how: `/ and ${limit - 1} emoji`, replace: `/${'\u{1F600}'.repeat(Math.max(0, limit - 1))}` })
    found.push({ keyword: 'control-character', how: 'a newline inside', replace: 'a\nb' })
  }
  if (schema.type === 'integer') {
    found.push({ keyword: 'fraction', how: '80.5', replace: 80.5 })
  }
  return found
}

/** Every constraint the schema states, whether or not any base template reaches it. */
export function constraintsOf (schema: Schema, path: Segment[] = []): Constraint[] {
  const at = schemaPath(path)
  const own: Constraint[] = []
  if (path.length === 0) {
    for (const key of schema.required ?? []) own.push({ path: at, keyword: `required:${key}` })
  } else {
    const keywords = ['type', 'enum', 'maxLength', 'pattern', 'minimum', 'maximum', 'maxItems', 'minItems', 'minProperties', 'maxProperties'] as const
    for (const keyword of keywords) if (schema[keyword] !== undefined) own.push({ path: at, keyword })
    if (schema.minLength !== undefined && schema.minLength > 0) own.push({ path: at, keyword: 'minLength' })
    if (schema.format === 'int32' || schema.format === 'int64') own.push({ path: at, keyword: 'format' })
    for (const key of schema.required ?? []) own.push({ path: at, keyword: `required:${key}` })
    if (schema.properties !== undefined && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true && path.length > 0) {
      own.push({ path: at, keyword: 'unknown-field' })
    }
    for (const { rule } of schema['x-kubernetes-validations'] ?? []) if (!isTransitionRule(rule)) own.push({ path: at, keyword: `rule:${rule}` })
  }
  const children = [
    ...Object.entries(schema.properties ?? {}).filter(([key]) => path.length > 0 || !routingFields.has(key)).map(([key, child]) => constraintsOf(child, [...path, key])),
    ...(schema.items === undefined ? [] : [constraintsOf(schema.items, [...path, 0])]),
    ...(typeof schema.additionalProperties === 'object' ? [constraintsOf(schema.additionalProperties, [...path, '*'])] : [])
  ]
  return [...own, ...children.flat()]
}

/** The mutants of one base: each constraint reached by a value of `base`, broken once per way of breaking it. */
export function mutantsOf (name: string, base: JsonObject, schema: Schema, rules: RuleBreakers, edgeProbes = false): Mutant[] {
  const mutants: Mutant[] = []
  const visit = (node: Schema, value: Json | undefined, path: Segment[]): void => {
    if (value === undefined) return
    if (path.length > 0 && routingFields.has(String(path[0]))) return
    // The root's own type and unknown fields are the request's envelope, not the template.
    if (path.length > 0) {
      for (const breaker of keywordBreakers(node, value, rules)) {
        const constraint = { path: schemaPath(path), keyword: breaker.keyword }
        mutants.push({ label: `${name}: ${constraint.path} ${breaker.keyword} (${breaker.how})`, constraint, object: replaced(base, path, breaker.replace), path, replacement: breaker.replace })
      }
      if (edgeProbes) {
        for (const probe of edgeValues(node)) {
          const constraint = { path: schemaPath(path), keyword: `probe:${probe.keyword}` }
          mutants.push({ label: `${name}: ${constraint.path} ${probe.keyword} (${probe.how})`, constraint, object: replaced(base, path, probe.replace), path, replacement: probe.replace })
        }
      }
    } else {
      for (const key of node.required ?? []) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && key in value) {
          const constraint = { path: '', keyword: `required:${key}` }
          mutants.push({ label: `${name}: required ${key}`, constraint, object: withoutKey(value, key), path: [], replacement: withoutKey(value, key) })
        }
      }
    }
    if (value === null || typeof value !== 'object') return
    if (Array.isArray(value)) {
      // The first and the last element: enough to reach every item constraint without one mutant per element.
      const indexes = [...new Set([0, value.length - 1])].filter((index) => index >= 0)
      if (node.items !== undefined) for (const index of indexes) visit(node.items, value[index], [...path, index])
      return
    }
    for (const [key, child] of Object.entries(node.properties ?? {})) visit(child, value[key], [...path, key])
    if (typeof node.additionalProperties === 'object') {
      const first = Object.keys(value).find((key) => !(key in (node.properties ?? {})))
      if (first !== undefined) visit(node.additionalProperties, value[first], [...path, first])
    }
  }
  visit(schema, base, [])
  return mutants
}

/** `a.b[].c` keyword for a mutant's constraint, with concrete keys of additionalProperties folded into `*`. */
export function constraintKey (constraint: Constraint, schema: Schema): string {
  const segments = constraint.path === '' ? [] : constraint.path.replaceAll('[]', '.[]').split('.')
  let node: Schema | undefined = schema
  const folded: string[] = []
  for (const segment of segments) {
    if (segment === '[]') {
      node = node?.items
      folded.push('[]')
    } else if (node?.properties?.[segment] !== undefined) {
      node = node.properties[segment]
      folded.push(`.${segment}`)
    } else {
      node = typeof node?.additionalProperties === 'object' ? node.additionalProperties : undefined
      folded.push('.*')
    }
  }
  return `${folded.join('').replace(/^\./, '').replaceAll('.[]', '[]')} ${constraint.keyword}`
}
