import { InvalidReferenceError } from '../errors.js'
import { parseReference, pinnedReference } from '../images/reference.js'
import type { Resolution } from '../registry/types.js'
import { ownedAnnotation, type AnnotationInput, type PinRecords } from './annotation.js'
import { pinAuditKey, staleAuditKey, staleAuditValue } from './audit.js'
import { imageSlots, type ImageSlot } from './images.js'
import { limitProblems, type AdmissionLimits } from './limits.js'
import type { PatchOperation } from './patch.js'
import { PinSource, type Pin } from './pin.js'
import type { Problem } from './problem.js'
import { problemFromError } from './response.js'
import { pinWarning } from './warnings.js'

/**
 * The pinning decision, without I/O: planPins says which references need the registry, decideMutation turns the
 * resolver's answers into a patch or a denial. Already pinned references are never touched (the CRD's
 * `self == oldSelf` would reject any respelling, spec-checklist §0).
 */

export interface PinPlan {
  slots: ImageSlot[]
  /** tag references equal to the stored object's pinned reference at the same field: its digest is reused (issue #3) */
  reused: Pin[]
  toResolve: ImageSlot[]
  /** references that do not parse, or more of them than the CRD allows; either way nothing is looked up */
  problems: Problem[]
}

/** The stored pinned reference at the same field, if pinning `reference` with its digest gives exactly it. */
function reusableDigest (reference: ReturnType<typeof parseReference>, stored: string | undefined): string | undefined {
  if (stored === undefined) return undefined
  try {
    const digest = parseReference(stored).digest
    return digest !== undefined && pinnedReference(reference, digest) === stored ? digest : undefined
  } catch {
    return undefined
  }
}

export function planPins (object: unknown, limits: AdmissionLimits, oldObject?: unknown): PinPlan {
  // Before any slot is built: a template over the CRD's limits is denied on its size alone (issue 13 §1).
  const tooMany = limitProblems(object, limits)
  if (tooMany.length > 0) return { slots: [], reused: [], toResolve: [], problems: tooMany }
  const stored = new Map(imageSlots(oldObject).map((slot) => [slot.field, slot.reference]))
  const plan: PinPlan = { slots: imageSlots(object), reused: [], toResolve: [], problems: [] }
  for (const slot of plan.slots) {
    let reference
    try {
      reference = parseReference(slot.reference)
    } catch (error) {
      if (!(error instanceof InvalidReferenceError)) throw error
      plan.problems.push(problemFromError(slot.field, slot.reference, error))
      continue
    }
    if (reference.digest !== undefined) continue
    const digest = reusableDigest(reference, stored.get(slot.field))
    if (digest === undefined) {
      plan.toResolve.push(slot)
    } else {
      plan.reused.push({
        field: slot.field,
        pointer: slot.pointer,
        original: slot.reference,
        pinned: pinnedReference(reference, digest),
        digest,
        mediaType: 'unknown',
        source: PinSource.oldObject
      })
    }
  }
  return plan
}

/** The distinct references the resolver must look up for this plan. */
export function lookups (plan: PinPlan): string[] {
  return [...new Set(plan.toResolve.map((slot) => slot.reference))]
}

export type MutationInput = AnnotationInput

export type Mutation =
  | { kind: 'unchanged' }
  | { kind: 'denied', problems: Problem[] }
  | { kind: 'patched', pins: Pin[], records: PinRecords, operations: PatchOperation[], warnings: string[], auditAnnotations: Array<[string, string]> }

export function decideMutation (plan: PinPlan, resolutions: ReadonlyMap<string, Resolution>, input: MutationInput): Mutation {
  // Malformed references deny on their own; the other references were not looked up (see mutateReview).
  if (plan.problems.length > 0) return { kind: 'denied', problems: [...plan.problems] }
  const problems: Problem[] = []
  const pins: Pin[] = [...plan.reused]
  for (const slot of plan.toResolve) {
    const result = resolutions.get(slot.reference)
    if (result?.ok === true) {
      pins.push({
        field: slot.field,
        pointer: slot.pointer,
        original: slot.reference,
        pinned: result.pinned,
        digest: result.digest,
        mediaType: result.mediaType,
        ...(result.stale === undefined
          ? { source: result.fromCache ? PinSource.cache : PinSource.registry }
          : { source: PinSource.stale, stale: result.stale })
      })
    } else {
      problems.push(problemFromError(slot.field, slot.reference, result?.error ?? new Error('the resolver gave no answer')))
    }
  }
  const position = new Map(plan.slots.map((slot, index) => [slot.field, index]))
  const byPosition = (a: { field: string }, b: { field: string }): number => (position.get(a.field) ?? 0) - (position.get(b.field) ?? 0)
  if (problems.length > 0) return { kind: 'denied', problems: problems.sort(byPosition) }
  pins.sort(byPosition)

  // Even with nothing to pin, entries the user wrote under our key are corrected (issue 13 §4).
  const annotation = ownedAnnotation(plan.slots, pins, input)
  const operations: PatchOperation[] = [
    ...pins.map((pin): PatchOperation => ({ op: 'replace', path: pin.pointer, value: pin.pinned })),
    ...annotation.operations
  ]
  if (operations.length === 0) return { kind: 'unchanged' }
  return {
    kind: 'patched',
    records: annotation.records,
    pins,
    operations,
    warnings: pins.map(pinWarning),
    auditAnnotations: [
      ...pins.map((pin): [string, string] => [pinAuditKey(pin.field), pin.pinned]),
      ...pins.flatMap((pin): Array<[string, string]> => pin.stale === undefined ? [] : [[staleAuditKey(pin.field), staleAuditValue(pin.stale)]])
    ]
  }
}
