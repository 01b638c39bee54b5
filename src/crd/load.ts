import { parseAllDocuments } from 'yaml'
import { isObject, type StructuralSchema } from './schema.js'

/** A CRD reduced to what offline validation needs: the schema of each served version, by apiVersion. */
export interface LoadedCrd {
  /** `actortemplates.ate.dev` */
  name: string
  group: string
  kind: string
  /** `ate.dev/v1alpha1` → its openAPIV3Schema */
  versions: ReadonlyMap<string, StructuralSchema>
  /** the served version that is also the storage version */
  storageVersion: string
  /** apiVersions with the status subresource, whose create ignores the status the client sent */
  statusSubresource: ReadonlySet<string>
}

export class CrdLoadError extends Error {}

function text (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function fromObject (object: Record<string, unknown>, where: string): LoadedCrd {
  const metadata = isObject(object['metadata']) ? object['metadata'] : {}
  const spec = isObject(object['spec']) ? object['spec'] : {}
  const names = isObject(spec['names']) ? spec['names'] : {}
  const group = text(spec['group'])
  const kind = text(names['kind'])
  if (group === undefined || kind === undefined) throw new CrdLoadError(`${where}: spec.group and spec.names.kind are required`)
  const versions = new Map<string, StructuralSchema>()
  let storageVersion: string | undefined
  const statusSubresource = new Set<string>()
  // Top-level spec.validation (apiextensions v1beta1) is gone in v1; each version carries its own schema.
  for (const version of Array.isArray(spec['versions']) ? spec['versions'] : []) {
    if (!isObject(version) || version['served'] !== true) continue
    const name = text(version['name'])
    const schema = isObject(version['schema']) ? version['schema']['openAPIV3Schema'] : undefined
    if (name === undefined || !isObject(schema)) throw new CrdLoadError(`${where}: served version ${String(name)} has no schema.openAPIV3Schema`)
    versions.set(`${group}/${name}`, schema as StructuralSchema)
    if (version['storage'] === true) storageVersion = `${group}/${name}`
    if (isObject(version['subresources']) && isObject(version['subresources']['status'])) statusSubresource.add(`${group}/${name}`)
  }
  if (storageVersion === undefined) throw new CrdLoadError(`${where}: no version is both served and storage`)
  return { name: text(metadata['name']) ?? `${String(names['plural'])}.${group}`, group, kind, versions, storageVersion, statusSubresource }
}

/** Every CustomResourceDefinition in a YAML (or JSON) text; other documents are ignored. */
export function parseCrds (source: string, where: string): LoadedCrd[] {
  const crds: LoadedCrd[] = []
  for (const document of parseAllDocuments(source)) {
    const error = document.errors[0]
    if (error !== undefined) throw new CrdLoadError(`${where}: not valid YAML: ${error.message}`)
    const object: unknown = document.toJS()
    if (isObject(object) && object['kind'] === 'CustomResourceDefinition' && String(object['apiVersion']).startsWith('apiextensions.k8s.io/')) {
      crds.push(fromObject(object, where))
    }
  }
  if (crds.length === 0) throw new CrdLoadError(`${where}: no CustomResourceDefinition found`)
  return crds
}
