/**
 * What the battery (issue 7) demands of every admission answer, in one place: a valid AdmissionReview echoing the
 * uid, answered before the deadline (plus generous slack, never a tight number), and never an unpinned image admitted.
 */
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { resolveBudgetMs } from '../../src/admission/deadline.js'
import type { Config } from '../../src/config.js'
import { applyPatch } from '../fixtures/schema/index.js'
import type { Sample } from './battery-load.js'
import { imagesOf } from './battery-reviews.js'

export interface Verdict {
  answered: number
  allowed: number
  denied: number
  /** human-readable problems; the battery asserts this list is empty */
  failures: string[]
  maxLatencyMs: number
  /** distinct denial messages (at most a few), for the test output */
  messages: string[]
}

/** The registry budget of an admission sent with `?timeout=`, as the server computes it. */
export function budgetFor (timeout: string, admission: Config['admission']): number {
  return resolveBudgetMs(timeout, admission)
}

export interface Expectation {
  /** uid sent with sample i */
  uid: (index: number) => string
  /** the object sent with sample i, to apply patches to */
  object: (index: number) => unknown
  /** the latest acceptable answer time for sample i, in ms */
  latestMs: (index: number) => number
  /** checks one AdmissionReview response; returns a problem or undefined */
  check?: (response: AdmissionReviewResponse['response'], index: number) => string | undefined
}

export function judge (samples: readonly Sample[], expect: Expectation): Verdict {
  const verdict: Verdict = { answered: 0, allowed: 0, denied: 0, failures: [], maxLatencyMs: 0, messages: [] }
  const messages = new Set<string>()
  for (const sample of samples) {
    verdict.maxLatencyMs = Math.max(verdict.maxLatencyMs, sample.latencyMs)
    const fail = (problem: string): void => { verdict.failures.push(`#${sample.index}: ${problem}`) }
    if (sample.answer === undefined) {
      fail(`no answer (${sample.error ?? 'unknown error'})`)
      continue
    }
    if (sample.answer.status !== 200) {
      fail(`HTTP ${sample.answer.status}: ${JSON.stringify(sample.answer.body).slice(0, 200)}`)
      continue
    }
    const review = sample.answer.body as Partial<AdmissionReviewResponse>
    if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview' || review.response === undefined) {
      fail(`not an AdmissionReview: ${JSON.stringify(review).slice(0, 200)}`)
      continue
    }
    verdict.answered++
    const response = review.response
    if (response.uid !== expect.uid(sample.index)) fail(`uid ${response.uid} does not echo ${expect.uid(sample.index)}`)
    if (sample.latencyMs > expect.latestMs(sample.index)) {
      fail(`answered after ${Math.round(sample.latencyMs)} ms, later than ${Math.round(expect.latestMs(sample.index))} ms`)
    }
    if ((response.patch === undefined) !== (response.patchType === undefined)) fail('patch and patchType do not travel together')
    if (response.allowed) {
      verdict.allowed++
      const stored = response.patch === undefined ? expect.object(sample.index) : applyPatch(expect.object(sample.index), response.patch)
      const unpinned = imagesOf(stored).filter((image) => typeof image !== 'string' || !image.includes('@'))
      if (unpinned.length > 0) fail(`admitted unpinned images ${JSON.stringify(unpinned)}`)
    } else {
      verdict.denied++
      if (response.patch !== undefined) fail('a denial carries a patch')
      const message = response.status?.message ?? ''
      if (message === '') fail('a denial without a message')
      if (messages.size < 3) messages.add(message)
    }
    const problem = expect.check?.(response, sample.index)
    if (problem !== undefined) fail(problem)
  }
  verdict.messages = [...messages]
  return verdict
}
