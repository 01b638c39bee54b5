import type { PathPart } from './path.js'
import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * Visits every value of an object together with the structural schema that governs it, parents before children.
 * Values the schema does not describe (pruned or preserved unknown fields) are not visited. Path parts are keys for
 * declared properties and `{ key }` for map entries (additionalProperties), as formatPath spells them.
 */
export function walkWithSchema (value: unknown, schema: StructuralSchema, visit: (value: unknown, schema: StructuralSchema, path: readonly PathPart[]) => void,
  path: readonly PathPart[] = []): void {
  visit(value, schema, path)
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const [index, item] of value.entries()) walkWithSchema(item, schema.items, visit, [...path, index])
    return
  }
  if (!isObject(value)) return
  for (const [key, child] of Object.entries(value)) {
    const next = childSchema(schema, key)
    if (next !== undefined) walkWithSchema(child, next, visit, [...path, schema.properties?.[key] === undefined ? { key } : key])
  }
}
