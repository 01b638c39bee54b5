import { InvalidReferenceError } from '../errors.js'
import { parseReference } from '../images/reference.js'
import { containersOf, imageSlots, isRecord, missingImages } from './images.js'
import { limitProblems, type AdmissionLimits } from './limits.js'
import { ProblemReason, type Problem } from './problem.js'
import { problemFromError } from './response.js'

/**
 * The rules an ActorTemplate must pass, all evaluated so one denial lists every violation. Pure: the validating
 * webhook and `check` both call it. `requireDigest: false` is the offline view before pinning, where a tag is
 * something the mutator will fix rather than a violation.
 */

// The node agent names its own sandbox container "pause" (substrate cmd/atelet/main.go); a workload container of
// that name would collide with it.
export const reservedContainerName = 'pause'

export interface ValidateOptions {
  requireDigest: boolean
  limits: AdmissionLimits
}

function nameProblems (object: unknown): Problem[] {
  const problems: Problem[] = []
  const firstSeen = new Map<string, number>()
  containersOf(object).forEach((container, index) => {
    const field = `spec.containers[${index}].name`
    const name = isRecord(container) ? container['name'] : undefined
    if (typeof name !== 'string') return
    if (name === reservedContainerName) {
      problems.push({ field, reason: ProblemReason.reservedName, message: `"${name}" is reserved for the sandbox container; choose another name` })
    }
    const first = firstSeen.get(name)
    if (first === undefined) {
      firstSeen.set(name, index)
    } else {
      problems.push({
        field,
        reason: ProblemReason.duplicateName,
        message: `duplicate container name ${JSON.stringify(name)} (also spec.containers[${first}].name); container names must be unique`
      })
    }
  })
  return problems
}

function imageProblems (object: unknown, options: ValidateOptions): Problem[] {
  const problems: Problem[] = missingImages(object).map(({ field, found }) => ({
    field,
    reason: ProblemReason.missingImage,
    message: found === 'missing' ? 'an image reference is required' : 'must be a string image reference'
  }))
  for (const { field, reference } of imageSlots(object)) {
    let digest: string | undefined
    try {
      digest = parseReference(reference).digest
    } catch (error) {
      if (!(error instanceof InvalidReferenceError)) throw error
      problems.push(problemFromError(field, reference, error))
      continue
    }
    if (digest === undefined && options.requireDigest) {
      problems.push({
        field,
        reference,
        reason: ProblemReason.unpinned,
        message: `image ${reference} has no digest`,
        advice: 'Images must be pinned because changing the image invalidates snapshots: write <image>@sha256:<digest>, ' +
          'run "actortemplate-webhook pin", or check that the pinning webhook is installed'
      })
    }
  }
  return problems
}

export function validateTemplate (object: unknown, options: ValidateOptions): Problem[] {
  if (!isRecord(object) || !isRecord(object['spec'])) {
    return [{ field: 'spec', reason: ProblemReason.invalidObject, message: 'an ActorTemplate needs a spec object' }]
  }
  // Over the CRD's limits the template is refused on its size alone, without judging thousands of entries (issue 13 §1).
  const tooMany = limitProblems(object, options.limits)
  if (tooMany.length > 0) return tooMany
  const problems = [...nameProblems(object), ...imageProblems(object, options)]
  return problems.sort((a, b) => order(a.field) - order(b.field))
}

/** Document order, so the message reads top to bottom like the manifest. */
function order (field: string): number {
  if (field.startsWith('spec.pauseImage')) return -1
  const index = /^spec\.containers\[(\d+)\]/.exec(field)?.[1]
  return index === undefined ? Number.MAX_SAFE_INTEGER : Number(index)
}
