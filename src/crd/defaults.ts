import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * Fills in `default` values the way the apiserver does before validating
 * (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go): a missing property gets a copy of its
 * default, and so does an explicit null where the property is not nullable (k8s ≥ 1.20); a null with no default
 * where null is not allowed is dropped (structural pruning of nulls, seen on kube-apiserver 1.37), in properties and in
 * the values of a map. Defaults are
 * applied top down, so a defaulted object is itself defaulted.
 */
export function applyDefaults (value: unknown, schema: StructuralSchema): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applyDefaults(item, schema.items)
    return
  }
  if (!isObject(value)) return
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const nullNotAllowed = value[key] === null && property.nullable !== true
    if (property.default !== undefined && (!(key in value) || nullNotAllowed)) value[key] = structuredClone(property.default)
    else if (nullNotAllowed) Reflect.deleteProperty(value, key)
  }
  // The values of a map (additionalProperties) are pruned the same way (defaulting/prunenulls.go): `tier: null` in
  // matchLabels is dropped, not "must be of type string" (found by the differential corpus, test/cli/check-crd-corpus).
  const entries = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined
  if (entries !== undefined) {
    const pruned = entries.nullable !== true && entries.default === undefined
    for (const key of Object.keys(value)) {
      if (pruned && value[key] === null && schema.properties?.[key] === undefined) Reflect.deleteProperty(value, key)
    }
  }
  for (const key of Object.keys(value)) {
    const child = childSchema(schema, key)
    if (child !== undefined) applyDefaults(value[key], child)
  }
}
