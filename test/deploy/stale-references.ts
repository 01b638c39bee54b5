/**
 * Finds every string in rendered objects that still names the default namespace or an object's default name after
 * a customisation (issue 14 §1): the install would then point at something that does not exist. The config file in
 * the ConfigMap is parsed and walked too. A string is stale when it, or a part of it between '.' and '/', is stale:
 * "<service>.<namespace>.svc" and "<namespace>/<certificate>" are caught.
 */
import { parse } from 'yaml'
import type { K8sObject } from './kustomize.js'

export interface Finding { object: string, path: string, value: string }

/** Where an old name is right. Each entry says why; the test prints them. */
export const ALLOWED: ReadonlyArray<{ path: RegExp, why: string }> = [
  { path: /(^|\.)(labels|matchLabels|selector)\.app\.kubernetes\.io\/(name|part-of)$/, why: 'the app\'s label value (selectors match it), not an object name' },
  { path: /^webhooks\.\d+\.name$/, why: 'a webhook\'s name inside its configuration: not an object, unique only within the configuration' },
  { path: /^spec\.(secretName|ca\.secretName)$/, why: 'Secrets cert-manager creates are not kustomize objects and keep their names (in the new namespace)' }
]

const STRING_FIELDS_HOLDING_FILES = /^data\.[^.]+\.yaml$/

function walk (value: unknown, path: string, visit: (path: string, value: string) => void): void {
  if (typeof value === 'string') {
    visit(path, value)
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => { walk(item, path === '' ? String(index) : `${path}.${index}`, visit) })
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`, visit)
  }
}

function isStale (value: string, stale: ReadonlySet<string>): boolean {
  // Paths in the container's file system (mounts, config file, certificate files) are not names.
  if (value.startsWith('/')) return false
  return stale.has(value) || value.split(/[./]/).some((part) => stale.has(part))
}

function walkObjects (objects: readonly K8sObject[], visit: (object: string, path: string, value: string, inFile: boolean) => void): void {
  for (const object of objects) {
    const where = `${object.kind}/${object.metadata.name}`
    walk(object, '', (path, value) => {
      if (STRING_FIELDS_HOLDING_FILES.test(path)) walk(parse(value) as unknown, path, (inner, text) => { visit(where, inner, text, true) })
      else visit(where, path, value, false)
    })
  }
}

/**
 * Without a prefix the default object names equal the default namespace, so only fields that hold a namespace can
 * be told apart: every `namespace` field, in objects and in the config file, must hold the new one.
 */
export function staleNamespaceFields (objects: readonly K8sObject[], namespace: string): Finding[] {
  const findings: Finding[] = []
  walkObjects(objects, (object, path, value) => {
    if (/(^|\.)namespace$/.test(path) && value !== namespace) findings.push({ object, path, value })
  })
  return findings
}

export function staleReferences (objects: readonly K8sObject[], stale: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = []
  walkObjects(objects, (object, path, value, inFile) => {
    if (isStale(value, stale) && (inFile || !ALLOWED.some((allowed) => allowed.path.test(path)))) findings.push({ object, path, value })
  })
  return findings
}
