import { parseReference, pinnedReference } from '../images/reference.js'
import { isRecord, type ImageSlot } from './images.js'
import { annotationOperation, removeAnnotationOperation, type PatchOperation } from './patch.js'
import type { Pin, PinSource } from './pin.js'

/**
 * The annotation that records what the mutator resolved (config admission.annotationKey, default
 * `ate.dev/pinned-images`). Its value is JSON keyed by field path, in document order:
 *
 *   {"spec.containers[0].image":{"original":"ghcr.io/acme/agent:1.4","digest":"sha256:…",
 *     "mediaType":"application/vnd.oci.image.index.v1+json","resolvedAt":"2026-11-29T03:00:00.000Z","source":"registry"}}
 *
 * The stored image already shows the digest; this keeps the tag the user asked for, when it was resolved and whether
 * the answer was an index, where people look (`kubectl get -o yaml`).
 *
 * The webhook owns this annotation (issue 13 §4): whatever the request carries under the key is never copied, because a
 * user could pre-set invented entries (`source: registry`, a zero digest) and have the webhook vouch for them. Records
 * come only from this request's pins and from the stored object (oldObject on UPDATE), which the webhook wrote.
 */

export interface PinRecord {
  original: string
  digest: string
  mediaType: string
  /** RFC 3339 time of the registry answer (for source stale: the earlier answer that stood in) */
  resolvedAt: string
  source: PinSource
}

export type PinRecords = Record<string, PinRecord>

function isPinRecord (value: unknown): value is PinRecord {
  if (value === null || typeof value !== 'object') return false
  const record = value as Record<string, unknown>
  return ['original', 'digest', 'mediaType', 'resolvedAt', 'source'].every((key) => typeof record[key] === 'string')
}

/** The records in an annotation value; anything unreadable counts as no record rather than an error. */
export function parsePinRecords (value: unknown): PinRecords {
  if (typeof value !== 'string') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return {}
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
  return Object.fromEntries(Object.entries(parsed).filter(([, record]) => isPinRecord(record))) as PinRecords
}

/** True when `record` still describes `image`: pinning its original with its digest gives exactly that string. */
export function recordMatches (record: PinRecord, image: string): boolean {
  try {
    return pinnedReference(parseReference(record.original), record.digest) === image
  } catch {
    return false
  }
}

/** A stale pin records when the registry really gave its digest, not this request's time (issue 16 §3). */
function answeredAt (pin: Pin, resolvedAt: string): string {
  return pin.stale === undefined ? resolvedAt : new Date(pin.stale.resolvedAtMs).toISOString()
}

/**
 * Records for the object after the patch: this request's pins, plus trusted earlier records (the stored object's, or
 * our own from an earlier round) for untouched fields that still describe their image. Document order.
 */
export function ownedPinRecords (slots: readonly ImageSlot[], pins: readonly Pin[], resolvedAt: string,
  previous: PinRecords = {}): PinRecords {
  const byField = new Map(pins.map((pin) => [pin.field, pin]))
  const merged: PinRecords = {}
  for (const slot of slots) {
    const pin = byField.get(slot.field)
    if (pin === undefined) {
      const record = previous[slot.field]
      if (record !== undefined && recordMatches(record, slot.reference)) merged[slot.field] = record
      continue
    }
    // An image kept from the stored object keeps the stored record, so re-applying a manifest changes nothing.
    const kept = previous[slot.field]
    merged[slot.field] = pin.source === 'old-object' && kept !== undefined && recordMatches(kept, pin.pinned)
      ? kept
      : { original: pin.original, digest: pin.digest, mediaType: pin.mediaType, resolvedAt: answeredAt(pin, resolvedAt), source: pin.source }
  }
  return merged
}

export function formatPinRecords (records: PinRecords): string {
  return JSON.stringify(records)
}

function annotationsOf (object: unknown): Record<string, unknown> {
  const metadata = isRecord(object) ? object['metadata'] : undefined
  const annotations = isRecord(metadata) ? metadata['annotations'] : undefined
  return isRecord(annotations) ? annotations : {}
}

export interface AnnotationInput {
  object: Record<string, unknown>
  oldObject?: unknown
  annotationKey: string
  /** RFC 3339, recorded for this request's pins */
  resolvedAt: string
  /** true for a record this webhook wrote itself in an earlier round of the same request (see issued-records.ts) */
  issuedByUs?: ((field: string, record: PinRecord) => boolean) | undefined
}

export interface OwnedAnnotation {
  records: PinRecords
  operations: PatchOperation[]
}

/**
 * The records the webhook vouches for and the patch that makes the annotation say exactly that: set when it differs,
 * removed when there is nothing to record but the request carries the key (a user's entries for images we never saw).
 */
export function ownedAnnotation (slots: readonly ImageSlot[], pins: readonly Pin[], input: AnnotationInput): OwnedAnnotation {
  const annotations = annotationsOf(input.object)
  const current = annotations[input.annotationKey]
  const ours = Object.entries(parsePinRecords(current)).filter(([field, record]) => input.issuedByUs?.(field, record) === true)
  // The stored object's records win over anything the request carries.
  const trusted = { ...Object.fromEntries(ours), ...parsePinRecords(annotationsOf(input.oldObject)[input.annotationKey]) }
  const records = ownedPinRecords(slots, pins, input.resolvedAt, trusted)
  if (Object.keys(records).length === 0) {
    return { records, operations: Object.hasOwn(annotations, input.annotationKey) ? [removeAnnotationOperation(input.annotationKey)] : [] }
  }
  const value = formatPinRecords(records)
  return { records, operations: value === current ? [] : [annotationOperation(input.object, input.annotationKey, value)] }
}

/**
 * For an UPDATE that leaves the spec as stored: the annotation goes back to exactly what the stored object says (or
 * away, if it said nothing), so a metadata change cannot add or alter entries.
 */
export function restoreStoredAnnotation (object: Record<string, unknown>, oldObject: unknown, annotationKey: string): PatchOperation[] {
  const annotations = annotationsOf(object)
  const stored = annotationsOf(oldObject)[annotationKey]
  if (typeof stored !== 'string') return Object.hasOwn(annotations, annotationKey) ? [removeAnnotationOperation(annotationKey)] : []
  return annotations[annotationKey] === stored ? [] : [annotationOperation(object, annotationKey, stored)]
}
