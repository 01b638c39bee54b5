import type { Deadline, Resolver } from '../registry/types.js'
import { restoreStoredAnnotation } from './annotation.js'
import { isRecord } from './images.js'
import type { IssuedRecords } from './issued-records.js'
import type { AdmissionLimits } from './limits.js'
import { jsonEqual } from './json-equal.js'
import { decideMutation, lookups, planPins } from './mutate.js'
import type { Pin } from './pin.js'
import { ProblemReason, type Problem } from './problem.js'
import { allowed, denied, errored, formatProblem, patched, type AdmissionReviewResponse } from './response.js'
import { auditAnnotations } from './audit.js'
import { Operation, type AdmissionRequest } from './review.js'
import { skipReason } from './target.js'
import { validateTemplate } from './validate.js'

/**
 * Request → response for both webhooks. The only I/O is the injected resolver; the outcome also says what happened
 * in words the log line and the metrics use.
 */

export const Decision = { allowed: 'allowed', patched: 'patched', denied: 'denied', errored: 'errored' } as const
export type Decision = (typeof Decision)[keyof typeof Decision]

export interface AdmissionOutcome {
  review: AdmissionReviewResponse
  decision: Decision
  /** low-cardinality why: pinned, unchanged, valid, a skip reason, a problem reason or registry error code */
  reason: string
  pins: Pin[]
  problems: Problem[]
}

export interface MutateContext {
  resolver: Resolver
  deadline: Deadline
  annotationKey: string
  limits: AdmissionLimits
  /** records this process wrote, so a reinvocation keeps them; without it every carried entry is dropped */
  issued?: IssuedRecords | undefined
  now: () => Date
}

function deniedOutcome (uid: string, problems: Problem[]): AdmissionOutcome {
  const first = problems.find((problem) => problem.reason === ProblemReason.notPinnable) ?? problems[0]
  const annotations = auditAnnotations([['denied', problems.map((problem) => `${problem.field}: ${problem.code ?? problem.reason}`).join('; ')]])
  return {
    review: denied(uid, problems, { auditAnnotations: annotations }),
    decision: Decision.denied,
    reason: first?.code ?? first?.reason ?? 'denied',
    pins: [],
    problems
  }
}

function erroredOutcome (uid: string, error: unknown): AdmissionOutcome {
  return { review: errored(uid, error), decision: Decision.errored, reason: 'internal', pins: [], problems: [] }
}

/**
 * An UPDATE that leaves the spec as stored (labels, finalizers, annotations). The CRD keeps the spec immutable, so
 * there is nothing to pin, and denying would only block metadata changes (finalizer removal, hence deletion) of an
 * object stored before this webhook was installed.
 */
function specUnchanged (request: AdmissionRequest): boolean {
  if (request.operation !== Operation.update || !isRecord(request.object) || !isRecord(request.oldObject)) return false
  return jsonEqual(request.object['spec'], request.oldObject['spec'])
}

function objectProblem (): Problem[] {
  return [{ field: 'object', reason: ProblemReason.invalidObject, message: 'the request carries no ActorTemplate object' }]
}

export async function mutateReview (request: AdmissionRequest, context: MutateContext): Promise<AdmissionOutcome> {
  const skip = skipReason(request)
  if (skip !== undefined) return { review: allowed(request.uid), decision: Decision.allowed, reason: skip, pins: [], problems: [] }
  const object = request.object
  if (!isRecord(object)) return deniedOutcome(request.uid, objectProblem())
  try {
    if (specUnchanged(request)) {
      // Nothing to pin, but the annotation is ours: a metadata UPDATE keeps only what the stored object recorded.
      const operations = restoreStoredAnnotation(object, request.oldObject, context.annotationKey)
      return operations.length === 0
        ? { review: allowed(request.uid), decision: Decision.allowed, reason: 'spec-unchanged', pins: [], problems: [] }
        : { review: patched(request.uid, operations), decision: Decision.patched, reason: 'annotation', pins: [], problems: [] }
    }
    const plan = planPins(object, context.limits, request.oldObject)
    // Malformed references deny anyway; asking the registry for the rest would only spend quota.
    const resolutions = plan.problems.length > 0 || plan.toResolve.length === 0
      ? new Map()
      : await context.resolver.resolveAll(lookups(plan), context.deadline)
    const mutation = decideMutation(plan, resolutions, {
      object,
      oldObject: request.oldObject,
      annotationKey: context.annotationKey,
      resolvedAt: context.now().toISOString(),
      issuedByUs: context.issued?.vouches
    })
    if (mutation.kind === 'denied') return deniedOutcome(request.uid, mutation.problems)
    if (mutation.kind === 'patched') context.issued?.remember(mutation.records)
    if (mutation.kind === 'unchanged') return { review: allowed(request.uid), decision: Decision.allowed, reason: 'unchanged', pins: [], problems: [] }
    return {
      review: patched(request.uid, mutation.operations, { warnings: mutation.warnings, auditAnnotations: auditAnnotations(mutation.auditAnnotations) }),
      decision: Decision.patched,
      reason: mutation.pins.length === 0 ? 'annotation' : 'pinned',
      pins: mutation.pins,
      problems: []
    }
  } catch (error) {
    return erroredOutcome(request.uid, error)
  }
}

export function validateReview (request: AdmissionRequest, limits: AdmissionLimits): AdmissionOutcome {
  const skip = skipReason(request)
  if (skip !== undefined) return { review: allowed(request.uid), decision: Decision.allowed, reason: skip, pins: [], problems: [] }
  try {
    const problems = isRecord(request.object) ? validateTemplate(request.object, { requireDigest: true, limits }) : objectProblem()
    if (problems.length > 0 && specUnchanged(request)) {
      // Still visible: kubectl prints each as a Warning line.
      const warnings = problems.map((problem) => `stored spec: ${formatProblem(problem)}`)
      return { review: allowed(request.uid, { warnings }), decision: Decision.allowed, reason: 'spec-unchanged', pins: [], problems }
    }
    if (problems.length > 0) return deniedOutcome(request.uid, problems)
    return { review: allowed(request.uid), decision: Decision.allowed, reason: 'valid', pins: [], problems: [] }
  } catch (error) {
    return erroredOutcome(request.uid, error)
  }
}
