import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * Fills in `default` values the way the apiserver does before validating
 * (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go): a missing property gets a copy of its
 * default, and so does an explicit null where the property is not nullable (k8s ≥ 1.20). Defaults are applied top
 * down, so a defaulted object is itself defaulted.
 */
export function applyDefaults (value: unknown, schema: StructuralSchema): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(item, schema.items)
    return
  }
  if (!isObject(value)) return
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (property.default === undefined) continue
    if (!(key in value) || (value[key] === null && property.nullable !== true)) value[key] = structuredClone(property.default)
  }
  for (const key of Object.keys(value)) {
    const child = childSchema(schema, key)
    if (child !== undefined) applyDefaults(value[key], child)
  }
}
