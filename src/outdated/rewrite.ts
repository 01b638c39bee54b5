import { isRecord, imageSlots } from '../admission/images.js'
import { ImageStatus, type TemplateFindings } from './compare.js'

/**
 * The new manifest `outdated --write` proposes for an outdated template (issue 18). The stored spec cannot change
 * (the CRD's `self == oldSelf`), so the proposal is a new template under a new name, with the moved images pinned to
 * today's digests. Pure.
 */

/**
 * What the apiserver fills in and a create must not carry (it would be rejected or meaningless), and two annotations:
 * the pinned-images record, because the webhook owns it and drops whatever a request brings (issue 13 §4), and
 * kubectl's last-applied-configuration, which describes the old object under the old name.
 */
const serverFields = new Set(['resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'])
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration'

// metadata.name is a DNS subdomain (RFC 1123): at most 253 characters, lowercase alphanumerics, '-' and '.'.
const maxNameLength = 253
const suffixPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export class SuffixError extends Error {
  override readonly name = 'SuffixError'
}

export function checkSuffix (suffix: string): string {
  if (!suffixPattern.test(suffix) || suffix.length > 63) {
    throw new SuffixError(`--suffix must be lowercase letters, digits and '-', start and end with a letter or digit, at most 63 characters, not ${JSON.stringify(suffix)}`)
  }
  return suffix
}

/** `<name>-<suffix>`, or `<name>-<12 hex of the first moved image's new digest>`; the name is cut to fit 253. */
export function newName (name: string, findings: TemplateFindings, suffix?: string): string {
  const moved = findings.images.find((image) => image.status === ImageStatus.moved)
  const tail = suffix ?? (moved?.currentDigest ?? '').replace(/^[^:]*:/, '').slice(0, 12)
  const head = name.slice(0, maxNameLength - tail.length - 1).replace(/[-.]+$/, '')
  return `${head}-${tail}`
}

export interface Proposal { namespace: string | undefined, name: string, object: Record<string, unknown> }

/** The template with moved images pinned anew and server fields gone; undefined when nothing moved. */
export function proposeTemplate (findings: TemplateFindings, annotationKey: string, suffix?: string): Proposal | undefined {
  const moved = new Map(findings.images.filter((image) => image.status === ImageStatus.moved).map((image) => [image.field, image.currentImage]))
  if (moved.size === 0) return undefined
  const object = Object.fromEntries(Object.entries(structuredClone(findings.object)).filter(([key]) => key !== 'status'))
  const stored = isRecord(object['metadata']) ? object['metadata'] : {}
  const metadata = Object.fromEntries(Object.entries(stored).filter(([key]) => !serverFields.has(key)))
  const dropped = new Set([annotationKey, lastApplied])
  const annotations = isRecord(metadata['annotations'])
    ? Object.fromEntries(Object.entries(metadata['annotations']).filter(([key]) => !dropped.has(key)))
    : {}
  if (Object.keys(annotations).length === 0) delete metadata['annotations']
  else metadata['annotations'] = annotations
  const name = newName(findings.template.name, findings, suffix)
  metadata['name'] = name
  object['metadata'] = metadata
  for (const slot of imageSlots(object)) {
    const image = moved.get(slot.field)
    if (image === undefined) continue
    let parent: unknown = object
    for (const key of slot.path.slice(0, -1)) parent = isRecord(parent) || Array.isArray(parent) ? (parent as Record<string | number, unknown>)[key] : undefined
    const last = slot.path.at(-1)
    if (last !== undefined && (isRecord(parent) || Array.isArray(parent))) (parent as Record<string | number, unknown>)[last] = image
  }
  return { namespace: findings.template.namespace, name, object }
}

/** The file a proposal is written to: `<namespace>_<name>.yaml`, or `<name>.yaml` without a namespace. */
export function proposalFileName (proposal: Proposal): string {
  return `${proposal.namespace === undefined ? '' : `${proposal.namespace}_`}${proposal.name}.yaml`
}
