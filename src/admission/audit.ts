import { LRUCache } from 'lru-cache'
import type { Staleness } from '../registry/stale.js'

/**
 * Audit annotations. The apiserver prefixes each key with `<webhook name>/` and drops, with only a log line, any key
 * that then is not a valid qualified name (apiserver pkg/admission/attributes.go checkKeyFormat), so keys are built from
 * a safe alphabet and checked before they leave.
 */

const namePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const maxNamePartLength = 63

export function isValidAuditKey (key: string): boolean {
  return key.length <= maxNamePartLength && namePart.test(key)
}

// Every admission asks for the keys of the same few fields; field paths are ours (bounded by the container limit).
const fieldKeys = new LRUCache<string, string>({ max: 512 })

function fieldAuditKey (prefix: string, field: string): string {
  const cacheKey = `${prefix}\0${field}`
  let key = fieldKeys.get(cacheKey)
  if (key === undefined) {
    key = `${prefix}.${field.replaceAll('[', '.').replaceAll(']', '')}`.replace(/[^-A-Za-z0-9_.]/g, '_').slice(0, maxNamePartLength)
    fieldKeys.set(cacheKey, key)
  }
  return key
}

/** `spec.containers[1].image` → `pin.spec.containers.1.image` */
export function pinAuditKey (field: string): string {
  return fieldAuditKey('pin', field)
}

/** `spec.containers[1].image` → `stale.spec.containers.1.image`: an auditor can find every pin that rode out an outage. */
export function staleAuditKey (field: string): string {
  return fieldAuditKey('stale', field)
}

/** `resolved 2026-12-02T17:00:00.000Z, 240s before; REGISTRY_UNAVAILABLE (503)`: when the digest was true, and why it was not asked again. */
export function staleAuditValue (stale: Staleness): string {
  const status = stale.error.status === undefined ? '' : ` (${stale.error.status})`
  return `resolved ${new Date(stale.resolvedAtMs).toISOString()}, ${Math.round(stale.ageMs / 1000)}s before; ${stale.error.code}${status}`
}

export function auditAnnotations (entries: Iterable<readonly [string, string]>): Record<string, string> | undefined {
  let annotations: Record<string, string> | undefined
  for (const [key, value] of entries) {
    if (!isValidAuditKey(key)) continue
    annotations ??= {}
    annotations[key] = value
  }
  return annotations
}
