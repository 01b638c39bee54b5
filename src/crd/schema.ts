/**
 * The parts of a structural OpenAPI v3 schema (apiextensions.k8s.io/v1 JSONSchemaProps) that validation reads.
 * A CRD served by the apiserver must be structural (k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation),
 * so every node names its type, and properties/items describe the whole tree.
 */
export interface ValidationRule {
  rule: string
  message?: string
  messageExpression?: string
  reason?: string
  fieldPath?: string
  optionalOldSelf?: boolean
}

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean'
  format?: string
  properties?: Record<string, StructuralSchema>
  additionalProperties?: StructuralSchema | boolean
  items?: StructuralSchema
  required?: string[]
  enum?: unknown[]
  default?: unknown
  nullable?: boolean
  maxItems?: number
  minItems?: number
  maxLength?: number
  minLength?: number
  maxProperties?: number
  minProperties?: number
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: boolean
  exclusiveMaximum?: boolean
  multipleOf?: number
  allOf?: StructuralSchema[]
  anyOf?: StructuralSchema[]
  oneOf?: StructuralSchema[]
  not?: StructuralSchema
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-int-or-string'?: boolean
  'x-kubernetes-embedded-resource'?: boolean
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map'
  'x-kubernetes-list-map-keys'?: string[]
  'x-kubernetes-map-type'?: 'atomic' | 'granular'
  'x-kubernetes-validations'?: ValidationRule[]
}

/** The schema of a property or map value of an object node, if the schema describes one. */
export function childSchema (schema: StructuralSchema, key: string): StructuralSchema | undefined {
  const property = schema.properties?.[key]
  if (property !== undefined) return property
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined
}

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
