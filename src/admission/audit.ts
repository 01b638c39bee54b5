import { LRUCache } from 'lru-cache'

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
const pinKeys = new LRUCache<string, string>({ max: 256 })

/** `spec.containers[1].image` → `pin.spec.containers.1.image` */
export function pinAuditKey (field: string): string {
  let key = pinKeys.get(field)
  if (key === undefined) {
    key = `pin.${field.replaceAll('[', '.').replaceAll(']', '')}`.replace(/[^-A-Za-z0-9_.]/g, '_').slice(0, maxNamePartLength)
    pinKeys.set(field, key)
  }
  return key
}

export function auditAnnotations (entries: Iterable<readonly [string, string]>): Record<string, string> | undefined {
  const valid = [...entries].filter(([key]) => isValidAuditKey(key))
  return valid.length === 0 ? undefined : Object.fromEntries(valid)
}
