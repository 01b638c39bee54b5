import type { Deadline, Resolver } from '../registry/types.js'
import { isRecord } from './images.js'
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
  if (specUnchanged(request)) return { review: allowed(request.uid), decision: Decision.allowed, reason: 'spec-unchanged', pins: [], problems: [] }
  try {
    const plan = planPins(object, context.limits, request.oldObject)
    // Malformed references deny anyway; asking the registry for the rest would only spend quota.
    const resolutions = plan.problems.length > 0 || plan.toResolve.length === 0
      ? new Map()
      : await context.resolver.resolveAll(lookups(plan), context.deadline)
    const mutation = decideMutation(plan, resolutions, {
      object,
      oldObject: request.oldObject,
      annotationKey: context.annotationKey,
      resolvedAt: context.now().toISOString()
    })
    if (mutation.kind === 'denied') return deniedOutcome(request.uid, mutation.problems)
    if (mutation.kind === 'unchanged') return { review: allowed(request.uid), decision: Decision.allowed, reason: 'unchanged', pins: [], problems: [] }
    return {
      review: patched(request.uid, mutation.operations, { warnings: mutation.warnings, auditAnnotations: auditAnnotations(mutation.auditAnnotations) }),
      decision: Decision.patched,
      reason: 'pinned',
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
