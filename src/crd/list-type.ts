import { formatPath, type PathPart } from './path.js'
import type { CrdProblem } from './problem.js'
import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * x-kubernetes-list-type set and map invariants (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype):
 * a set has no two equal items, a map no two items with the same list-map-keys. Each repeat is a `Duplicate value`
 * at its index.
 */
function identity (item: unknown, keys: readonly string[] | undefined): string {
  if (keys === undefined) return JSON.stringify(item)
  return JSON.stringify(keys.map((key) => isObject(item) ? item[key] ?? null : null))
}

function duplicateValue (item: unknown, keys: readonly string[] | undefined): string {
  if (keys === undefined) return typeof item === 'string' ? JSON.stringify(item) : JSON.stringify(JSON.stringify(item))
  // The key fields as JSON, in key order (seen on kube-apiserver 1.37: `Duplicate value: {"name":"http"}`).
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, isObject(item) ? item[key] ?? null : null])))
}

function walk (value: unknown, schema: StructuralSchema, path: readonly PathPart[], problems: CrdProblem[]): void {
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type']
    if (listType === 'set' || listType === 'map') {
      const keys = listType === 'map' ? schema['x-kubernetes-list-map-keys'] ?? [] : undefined
      const seen = new Set<string>()
      for (const [index, item] of value.entries()) {
        const id = identity(item, keys)
        if (seen.has(id)) problems.push({ field: formatPath([...path, index]), type: 'duplicate', value: duplicateValue(item, keys), detail: '' })
        seen.add(id)
      }
    }
    if (schema.items !== undefined) for (const [index, item] of value.entries()) walk(item, schema.items, [...path, index], problems)
    return
  }
  if (!isObject(value)) return
  for (const [key, child] of Object.entries(value)) {
    const next = childSchema(schema, key)
    if (next !== undefined) walk(child, next, [...path, schema.properties?.[key] === undefined ? { key } : key], problems)
  }
}

export function validateListTypes (object: unknown, schema: StructuralSchema): CrdProblem[] {
  const problems: CrdProblem[] = []
  walk(object, schema, [], problems)
  return problems
}
