import type { CelInput } from '@bufbuild/cel'
import { childSchema, isObject, type StructuralSchema } from './schema.js'

/**
 * A JSON value as the apiserver hands it to CEL (k8s.io/apiserver/pkg/cel/common/values.go UnstructuredToVal):
 * objects become maps, integer-typed numbers become CEL int (bigint here), `number` stays double. Under
 * x-kubernetes-preserve-unknown-fields there is no type, and integral JSON numbers decode as int64.
 */
export function toCel (value: unknown, schema: StructuralSchema | undefined): CelInput {
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items))
  if (isObject(value)) {
    return new Map(Object.entries(value).map(([key, child]) => [key, toCel(child, schema === undefined ? undefined : childSchema(schema, key))]))
  }
  if (typeof value === 'number') {
    const integral = schema === undefined || schema.type === undefined ? Number.isInteger(value) : schema.type === 'integer' || schema['x-kubernetes-int-or-string'] === true
    return integral && Number.isInteger(value) ? BigInt(value) : value
  }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value
  return null
}
