import { parseReference, pinnedReference } from '../images/reference.js'
import type { ImageSlot } from './images.js'
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
 */

export interface PinRecord {
  original: string
  digest: string
  mediaType: string
  /** RFC 3339 time of the registry answer */
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

/**
 * Records for the object after the patch: this request's pins, plus earlier records for untouched fields that still
 * describe their image (a record for an image the user has since replaced would be a lie). Document order.
 */
export function mergePinRecords (slots: readonly ImageSlot[], pins: readonly Pin[], existing: PinRecords,
  resolvedAt: string, previous: PinRecords = {}): PinRecords {
  const byField = new Map(pins.map((pin) => [pin.field, pin]))
  const merged: PinRecords = {}
  for (const slot of slots) {
    const pin = byField.get(slot.field)
    if (pin === undefined) {
      const record = existing[slot.field]
      if (record !== undefined && recordMatches(record, slot.reference)) merged[slot.field] = record
      continue
    }
    // An image kept from the stored object keeps the stored record, so re-applying a manifest changes nothing.
    const kept = previous[slot.field]
    merged[slot.field] = pin.source === 'old-object' && kept !== undefined && recordMatches(kept, pin.pinned)
      ? kept
      : { original: pin.original, digest: pin.digest, mediaType: pin.mediaType, resolvedAt, source: pin.source }
  }
  return merged
}

export function formatPinRecords (records: PinRecords): string {
  return JSON.stringify(records)
}
