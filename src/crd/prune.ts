import { type FieldPath, formatPath } from './path.js'
import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * Removes the fields the schema does not know, as the apiserver does on decode
 * (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning), and returns their paths. kubectl asks for strict
 * field validation by default (--validate=strict), which turns each into `strict decoding error: unknown field "…"`;
 * with --validate=false they are dropped silently. apiVersion, kind and metadata are the apiserver's own business at
 * the root (ObjectMeta is checked separately), so they are left alone here.
 */
export function pruneUnknown (object: Record<string, unknown>, schema: StructuralSchema): string[] {
  const unknown: string[] = []
  for (const key of Object.keys(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue
    visit(object, key, schema, [key], unknown)
  }
  return unknown
}

function visit (parent: Record<string, unknown>, key: string, parentSchema: StructuralSchema, path: FieldPath, unknown: string[]): void {
  const schema = childSchema(parentSchema, key)
  if (schema === undefined) {
    if (parentSchema['x-kubernetes-preserve-unknown-fields'] === true) return
    unknown.push(formatPath(path))
    // Deleting rather than copying keeps the pruned object identical to what the apiserver goes on to validate.
    Reflect.deleteProperty(parent, key)
    return
  }
  pruneValue(parent[key], schema, path, unknown)
}

function pruneValue (value: unknown, schema: StructuralSchema, path: FieldPath, unknown: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items === undefined) return
    for (const [index, item] of value.entries()) pruneValue(item, schema.items, [...path, index], unknown)
    return
  }
  if (!isObject(value)) return
  if (schema['x-kubernetes-embedded-resource'] === true) return
  for (const key of Object.keys(value)) visit(value, key, schema, [...path, key], unknown)
}
