import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { ErrorCode, InvalidReferenceError, RegistryError } from '../../src/errors.js'
import { formatReference, lookupLocation, parseReference, pinnedReference } from '../../src/images/reference.js'
import { FakeResolver, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { applyPatch } from '../fixtures/schema/index.js'
import { startApp } from '../http/app-harness.js'
import { admissionBody, anyReference, digest, timeoutQuery, validReference } from '../support/battery-arbitraries.js'
import { imagesOf } from '../support/battery-reviews.js'

// Issue 7, hostile input: a seeded property-based fuzz. Image references through parse/format round trips, and
// AdmissionReviews through the app (inject). No crash, no unhandled rejection; every reply is a valid AdmissionReview
// echoing the uid or a 4xx with a message; nothing unpinned is ever admitted. Reproduce a failure with ATW_FUZZ_SEED.

const seed = Number(process.env['ATW_FUZZ_SEED'] ?? '20261129')
const referenceRuns = 6000
const reviewRuns = 6000
const rawRuns = 500

let unhandled = 0
const onUnhandled = (): void => { unhandled++ }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

t.test('image references: parse, format and pin round-trip', async (t) => {
  let valid = 0
  let invalid = 0
  fc.assert(fc.property(anyReference, digest, (text, pinDigest) => {
    let parsed
    try {
      parsed = parseReference(text)
    } catch (error) {
      if (!(error instanceof InvalidReferenceError)) throw error
      if (error.reason === '' || !error.message.includes(JSON.stringify(text))) throw new Error(`unhelpful error for ${JSON.stringify(text)}: ${error.message}`)
      invalid++
      return
    }
    valid++
    if (formatReference(parsed) !== text) throw new Error(`format(parse(${JSON.stringify(text)})) = ${formatReference(parsed)}`)
    if (!isDeepStrictEqual(parseReference(formatReference(parsed)), parsed)) throw new Error(`parse is not stable for ${text}`)
    const location = lookupLocation(parsed)
    if (location.repository.length > 255 || location.registry === '') throw new Error(`bad location for ${text}`)
    const pinned = pinnedReference(parsed, pinDigest)
    const again = parseReference(pinned)
    if (parsed.digest === undefined) {
      if (again.digest !== pinDigest || !pinned.startsWith(text)) throw new Error(`pinning ${text} gave ${pinned}`)
    } else if (pinned !== text) {
      throw new Error(`an already pinned ${text} was rewritten to ${pinned}`)
    }
  }), { seed, numRuns: referenceRuns })
  fc.assert(fc.property(validReference, (text) => { parseReference(text) }), { seed, numRuns: 500 })
  t.comment(`references: ${referenceRuns} + 500 grammatical cases tried (seed ${seed}), ${valid} parsed and round-tripped, ${invalid} refused with an InvalidReferenceError, failures 0`)
  t.pass('every reference parses and round-trips, or is refused with a reason')
})

function resolverFor (): FakeResolver {
  // Some tags fail the way registries fail, so denial paths are fuzzed too.
  return new FakeResolver((reference) => {
    const bucket = createHash('sha256').update(reference).digest()[0] ?? 0
    if (bucket % 16 !== 0) return pinnedAnswer(reference)
    const codes = [ErrorCode.registryNotFound, ErrorCode.registryTimeout, ErrorCode.blockedAddress, ErrorCode.digestMismatch]
    const code = codes[(bucket >> 4) % codes.length] ?? ErrorCode.registryNotFound
    return { ok: false, original: reference, error: new RegistryError(code, `injected ${code}`, { registry: 'fuzz.example', repository: 'r', reference: 't' }) }
  })
}

interface Tally { reviews: number, allowed: number, patched: number, denied: number, clientErrors: number }

/** What must hold for any body and any answer; returns the problem, or undefined. */
function judgeReply (route: string, body: unknown, status: number, text: string, tally: Tally): string | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return `HTTP ${status} with a body that is not JSON: ${text.slice(0, 100)}`
  }
  if (status >= 400 && status < 500) {
    tally.clientErrors++
    const message = (json as { message?: unknown }).message
    return typeof message === 'string' && message !== '' ? undefined : `HTTP ${status} without a message`
  }
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 200)}`
  const review = json as Partial<AdmissionReviewResponse>
  const request = (body as { request?: { uid?: unknown, operation?: unknown, kind?: unknown, subResource?: unknown, object?: unknown, oldObject?: unknown } }).request
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview' || review.response === undefined) return 'not an AdmissionReview'
  const response = review.response
  tally.reviews++
  if (response.uid !== request?.uid) return `uid ${JSON.stringify(response.uid)} does not echo ${JSON.stringify(request?.uid)}`
  if (typeof response.allowed !== 'boolean') return 'allowed is not a boolean'
  if ((response.patch === undefined) !== (response.patchType === undefined)) return 'patch without patchType or the reverse'
  if (route === '/validate' && response.patch !== undefined) return 'the validating webhook patched'
  for (const warning of response.warnings ?? []) {
    if (typeof warning !== 'string' || [...warning].length > 120 || [...warning].some((rune) => (rune.codePointAt(0) ?? 0) < 0x20 || /[\u007f-\u009f]/.test(rune))) {
      return `unsafe warning ${JSON.stringify(warning)}`
    }
  }
  if (!response.allowed) {
    tally.denied++
    if (response.status?.reason !== 'Forbidden' || response.status.code !== 403) return `denied as ${response.status?.code ?? '?'} ${response.status?.reason ?? '?'}: ${response.status?.message ?? ''}`
    return response.status.message === '' ? 'a denial without a message' : undefined
  }
  tally.allowed++
  const ours = isDeepStrictEqual(request?.kind, { group: 'ate.dev', version: 'v1alpha1', kind: 'ActorTemplate' }) &&
    (request?.subResource === undefined || request.subResource === '') && (request?.operation === 'CREATE' || request?.operation === 'UPDATE')
  let stored = request?.object
  if (response.patch !== undefined) {
    tally.patched++
    try {
      stored = applyPatch(request?.object, response.patch)
    } catch (error) {
      return `the patch does not apply: ${(error as Error).message}`
    }
  }
  if (!ours) return response.patch === undefined ? undefined : 'patched a request that is not ours'
  const spec = (value: unknown): unknown => (value as { spec?: unknown } | null)?.spec
  // An UPDATE that keeps the stored spec is allowed whatever it holds (the CRD keeps the spec immutable).
  if (request?.operation === 'UPDATE' && isDeepStrictEqual(spec(request.object), spec(request.oldObject))) return undefined
  for (const image of imagesOf(stored)) {
    // A missing or non-string image is the validating webhook's (and the CRD schema's) to refuse; the mutating one skips it.
    if (typeof image !== 'string' && route === '/mutate') continue
    if (typeof image !== 'string') return `admitted a non-string image ${JSON.stringify(image)}`
    let parsed
    try {
      parsed = parseReference(image)
    } catch {
      return `admitted an invalid reference ${JSON.stringify(image)}`
    }
    if (parsed.digest === undefined) return `admitted an unpinned image ${image}`
  }
  return undefined
}

t.test('AdmissionReviews through the app: a valid answer echoing the uid, or a 4xx with a message', async (t) => {
  const { app } = await startApp(t, { resolver: resolverFor() })
  const tally: Tally = { reviews: 0, allowed: 0, patched: 0, denied: 0, clientErrors: 0 }
  await fc.assert(fc.asyncProperty(admissionBody, timeoutQuery, fc.constantFrom('/mutate', '/validate'), async (body, timeout, route) => {
    const url = timeout === undefined ? route : `${route}?timeout=${encodeURIComponent(timeout)}`
    const payload = JSON.stringify(body)
    const reply = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })
    // Judged against what the server received: the JSON text, not the generated object (prototypes, undefined, -0).
    const problem = judgeReply(route, payload === undefined ? undefined : JSON.parse(payload), reply.statusCode, reply.body, tally)
    if (problem !== undefined) throw new Error(problem)
  }), { seed, numRuns: reviewRuns })

  await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.json({ maxDepth: 4 })), async (payload) => {
    const reply = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload })
    let body: unknown
    try {
      body = JSON.parse(payload)
    } catch {
      body = undefined
    }
    const problem = judgeReply('/mutate', body, reply.statusCode, reply.body, tally)
    if (problem !== undefined) throw new Error(problem)
  }), { seed, numRuns: rawRuns })

  t.equal(unhandled, 0, 'no unhandled rejection')
  t.ok(tally.patched > 100 && tally.denied > 100 && tally.clientErrors > 100, 'the fuzz reached patches, denials and 4xx alike')
  t.comment(`AdmissionReviews: ${reviewRuns} reviews + ${rawRuns} raw bodies tried (seed ${seed}): ${tally.reviews} answered with an AdmissionReview ` +
    `(${tally.allowed} allowed, ${tally.patched} of them patched, ${tally.denied} denied), ${tally.clientErrors} answered 4xx with a message, failures 0, ` +
    `unhandled rejections ${unhandled}`)
})
