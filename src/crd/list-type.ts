import { formatPath, type PathPart } from './path.js'
import type { CrdProblem } from './problem.js'
import { isObject, type StructuralSchema } from './schema.js'
import { walkWithSchema } from './walk.js'

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

function duplicates (list: readonly unknown[], schema: StructuralSchema, path: readonly PathPart[], problems: CrdProblem[]): void {
  const listType = schema['x-kubernetes-list-type']
  if (listType !== 'set' && listType !== 'map') return
  const keys = listType === 'map' ? schema['x-kubernetes-list-map-keys'] ?? [] : undefined
  const seen = new Set<string>()
  for (const [index, item] of list.entries()) {
    const id = identity(item, keys)
    if (seen.has(id)) problems.push({ field: formatPath([...path, index]), type: 'duplicate', value: duplicateValue(item, keys), detail: '' })
    seen.add(id)
  }
}

export function validateListTypes (object: unknown, schema: StructuralSchema): CrdProblem[] {
  const problems: CrdProblem[] = []
  walkWithSchema(object, schema, (value, node, path) => {
    if (Array.isArray(value)) duplicates(value, node, path, problems)
  })
  return problems
}
