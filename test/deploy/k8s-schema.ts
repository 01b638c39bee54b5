import * as k8s from '@kubernetes/client-node'

/**
 * Structural validation of Kubernetes objects against the API types of @kubernetes/client-node (generated from the
 * Kubernetes OpenAPI): every field must exist in its type (a typo is an error, as with `kubectl --validate=strict`)
 * and hold the right JSON type. Required fields and value rules are asserted by the tests, and the apiserver's own
 * validation runs in the e2e suite (server-side dry-run).
 */

interface Attribute { baseName: string, type: string }
type Model = { attributeTypeMap?: Attribute[] } | undefined

const models = k8s as unknown as Record<string, Model>

/** apiVersion + kind → the client-node model name, e.g. apps/v1 Deployment → V1Deployment. */
export function modelName (apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').at(-1) ?? apiVersion
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`
}

export function hasModel (apiVersion: string, kind: string): boolean {
  return models[modelName(apiVersion, kind)]?.attributeTypeMap !== undefined
}

function typeOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function check (value: unknown, type: string, path: string, problems: string[]): void {
  const array = /^Array<(.+)>$/.exec(type)
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (array?.[1] !== undefined) {
    if (!Array.isArray(value)) { problems.push(`${path}: expected an array, got ${typeOf(value)}`); return }
    value.forEach((item, index) => { check(item, array[1] ?? '', `${path}[${index}]`, problems) })
    return
  }
  if (map?.[1] !== undefined) {
    if (typeOf(value) !== 'object') { problems.push(`${path}: expected a map, got ${typeOf(value)}`); return }
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) check(item, map[1], `${path}.${key}`, problems)
    return
  }
  switch (type) {
    case 'string':
    case 'Date':
      if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${typeOf(value)}`)
      return
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${typeOf(value)}`)
      return
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean, got ${typeOf(value)}`)
      return
    case 'IntOrString':
      if (typeof value !== 'string' && typeof value !== 'number') problems.push(`${path}: expected an int or a string, got ${typeOf(value)}`)
      return
    case 'any':
    case 'object':
      return
  }
  const attributes = models[type]?.attributeTypeMap
  if (attributes === undefined) { problems.push(`${path}: no API type ${type} to check against`); return }
  if (typeOf(value) !== 'object') { problems.push(`${path}: expected an object (${type}), got ${typeOf(value)}`); return }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const attribute = attributes.find((candidate) => candidate.baseName === key)
    if (attribute === undefined) problems.push(`${path}.${key}: unknown field in ${type}`)
    else check(item, attribute.type, `${path}.${key}`, problems)
  }
}

/** Problems with one object, each prefixed with its kind/name and the JSON path; empty when it conforms. */
export function validateObject (object: { apiVersion: string, kind: string, metadata?: { name?: string } }): string[] {
  const problems: string[] = []
  check(object, modelName(object.apiVersion, object.kind), `${object.kind}/${object.metadata?.name ?? '?'}`, problems)
  return problems
}
