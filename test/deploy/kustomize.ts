import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'

export const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url))
export const OVERLAYS = ['cert-manager', 'validating-webhook', 'dev'] as const

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [field: string]: unknown
}

/** `kubectl kustomize DIR` (kubectl's built-in kustomize, what `kubectl apply -k` uses), parsed. */
export async function build (dir: string, kubectl: string = process.env['ATW_KUBECTL'] ?? 'kubectl'): Promise<K8sObject[]> {
  const { stdout } = await promisify(execFile)(kubectl, ['kustomize', dir], { maxBuffer: 16 << 20 })
  return parseAllDocuments(stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(`kustomize output does not parse: ${document.errors.join('; ')}`)
    return document.toJS() as K8sObject
  })
}

export function only (objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : `/${name}`}, found ${found.length}`)
  return found[0] as K8sObject
}
