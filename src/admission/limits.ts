import { containersOf, isRecord } from './images.js'
import { ProblemReason, type Problem } from './problem.js'

/**
 * The CRD's own limits (spec.containers maxItems 10, plus the one pauseImage), checked before anything else. The
 * apiserver applies them only after the mutating webhooks have run (issue 13 §1), so a tenant could otherwise make
 * us plan and look up thousands of references per request. Counting is O(1) in the request size: array lengths only.
 */

export interface AdmissionLimits {
  /** admission.maxContainers (the CRD's maxItems) */
  maxContainers: number
  /** admission.maxImageReferences (containers plus pauseImage) */
  maxImageReferences: number
}

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** The limits the template exceeds, at most one problem; empty when it is within them. */
export function limitProblems (object: unknown, limits: AdmissionLimits): Problem[] {
  const containers = containersOf(object).length
  if (containers > limits.maxContainers) {
    return [{
      field: 'spec.containers',
      reason: ProblemReason.limitExceeded,
      message: `${plural(containers, 'container')}; at most ${limits.maxContainers}`
    }]
  }
  const spec = isRecord(object) ? object['spec'] : undefined
  // Every container and the pause image may hold a reference; counting slots, not strings, keeps this constant-time.
  const references = containers + (isRecord(spec) && spec['pauseImage'] !== undefined ? 1 : 0)
  if (references > limits.maxImageReferences) {
    return [{
      field: 'spec',
      reason: ProblemReason.limitExceeded,
      message: `${plural(references, 'image reference')} (spec.pauseImage and spec.containers[].image); at most ${limits.maxImageReferences}`
    }]
  }
  return []
}
