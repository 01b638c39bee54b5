import t from 'tap'
import { mutateReview, type AdmissionOutcome } from '../../src/admission/handle.js'
import { IssuedRecords } from '../../src/admission/issued-records.js'
import { decodeReview } from '../../src/admission/review.js'
import { pinWarning } from '../../src/admission/warnings.js'
import { loadConfig } from '../../src/config.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { StaleCause, type Staleness } from '../../src/registry/stale.js'
import { deadlineIn, type Resolution } from '../../src/registry/types.js'
import { FakeResolver, fakeDigest, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { loadReview, type ReviewFixture } from '../fixtures/reviews/index.js'
import { applyPatch } from '../fixtures/schema/index.js'

// Issue 16 §3 in the admission core: a stale answer from the resolver becomes a warning with the age and the outage,
// an annotation record with source "stale" and the time the digest was really resolved, and an audit annotation.

const key = 'ate.dev/pinned-images'
const limits = loadConfig({}, {}).admission
const now = (): Date => new Date('2026-11-29T03:00:00.000Z')
const resolvedAtMs = Date.parse('2026-11-29T02:56:00.000Z')
const staleReference = 'ghcr.io/acme/agent:1.4'

function staleness (cause: StaleCause, error: RegistryError, ageMs = 240_000): Staleness {
  return { resolvedAtMs, ageMs, cause, error }
}

const unavailable = new RegistryError(ErrorCode.registryUnavailable, 'registry ghcr.io answered 503',
  { registry: 'ghcr.io', repository: 'acme/agent', reference: '1.4', status: 503 })

function staleAnswer (reference: string, stale: Staleness): Resolution {
  const answer = pinnedAnswer(reference, fakeDigest(reference), true)
  return answer.ok ? { ...answer, stale } : answer
}

async function mutate (review: ReviewFixture, stale: Staleness, issued = new IssuedRecords()): Promise<AdmissionOutcome> {
  const resolver = new FakeResolver((reference) => reference === staleReference ? staleAnswer(reference, stale) : pinnedAnswer(reference))
  return await mutateReview(decodeReview(review), { resolver, deadline: deadlineIn(5000), annotationKey: key, limits, issued, now })
}

function records (review: ReviewFixture, outcome: AdmissionOutcome): Record<string, { source: string, resolvedAt: string, digest: string }> {
  const object = applyPatch(review.request.object, outcome.review.response.patch ?? '')
  return JSON.parse((object.metadata['annotations'] as Record<string, string>)[key] ?? '{}') as Record<string, { source: string, resolvedAt: string, digest: string }>
}

t.test('a stale pin is allowed and says so: warning, annotation record, audit annotation', async (t) => {
  const review = loadReview('create-generate-name')
  const outcome = await mutate(review, staleness(StaleCause.unavailable, unavailable))
  const { response } = outcome.review
  t.equal(outcome.decision, 'patched')
  const digest = fakeDigest(staleReference)
  t.ok(response.warnings?.includes(`spec.containers[0].image: ghcr.io/acme/agent:1.4 pinned to ${digest.slice(0, 19)}… from 4m ago: registry unavailable (503)`),
    `${JSON.stringify(response.warnings)} has the stale warning`)
  t.notOk(response.warnings?.some((warning) => warning.startsWith('spec.pauseImage:') && warning.includes(' ago: ')), 'fresh pins keep the usual warning')
  const written = records(review, outcome)
  t.match(written['spec.containers[0].image'], { source: 'stale', resolvedAt: '2026-11-29T02:56:00.000Z', digest }, 'the record keeps the real answer time')
  t.match(written['spec.pauseImage'], { source: 'registry', resolvedAt: '2026-11-29T03:00:00.000Z' })
  t.equal(response.auditAnnotations?.['stale.spec.containers.0.image'], 'resolved 2026-11-29T02:56:00.000Z, 240s before; REGISTRY_UNAVAILABLE (503)')
  t.equal(response.auditAnnotations?.['pin.spec.containers.0.image'], `ghcr.io/acme/agent:1.4@${digest}`)
  t.equal(response.auditAnnotations?.['stale.spec.pauseImage'], undefined)
})

t.test('the warning for each cause and age, within the 120 characters kubectl is asked to show', async (t) => {
  const digest = `sha256:${'b'.repeat(64)}`
  const cases: Array<[Staleness, string]> = [
    [staleness(StaleCause.unavailable, unavailable), 'from 4m ago: registry unavailable (503)'],
    [staleness(StaleCause.timeout, new RegistryError(ErrorCode.registryTimeout, 'slow', { registry: 'r', repository: 'a', reference: '1' }), 45_000), 'from 45s ago: registry timed out'],
    [staleness(StaleCause.rateLimited, new RegistryError(ErrorCode.registryRateLimited, 'busy', { registry: 'r', repository: 'a', reference: '1', status: 429 }), 3_900_000), 'from 1h5m ago: registry rate limited (429)'],
    [staleness(StaleCause.unreachable, new RegistryError(ErrorCode.registryUnreachable, 'refused', { registry: 'r', repository: 'a', reference: '1' })), 'from 4m ago: registry unreachable']
  ]
  for (const [stale, tail] of cases) {
    for (const original of ['ghcr.io/acme/agent:1.4', `registry.example.com/${'team/'.repeat(20)}agent:v1.2.3-with-a-long-tag`]) {
      const warning = pinWarning({ field: 'spec.containers[3].image', pointer: '/spec/containers/3/image', original, pinned: `${original}@${digest}`, digest, mediaType: 'application/vnd.oci.image.index.v1+json', source: 'stale', stale })
      t.ok(warning.endsWith(` pinned to sha256:bbbbbbbbbbbb… ${tail}`), warning)
      t.ok(warning.length <= 120, `${warning.length} characters`)
    }
  }
})

t.test('the webhook-owns-its-annotation rules keep a stale record it wrote, on reinvocation and on re-apply', async (t) => {
  const review = loadReview('create-generate-name')
  const issued = new IssuedRecords()
  const first = await mutate(review, staleness(StaleCause.unavailable, unavailable), issued)
  const object = applyPatch(review.request.object, first.review.response.patch ?? '')
  const written = (object.metadata['annotations'] as Record<string, string>)[key]

  const again = loadReview('create-generate-name')
  again.request.object = structuredClone(object)
  const reinvoked = await mutate(again, staleness(StaleCause.unavailable, unavailable), issued)
  t.match(reinvoked, { decision: 'allowed', reason: 'unchanged' }, 'a reinvocation carries the stale record over unchanged')
  t.equal(reinvoked.review.response.patch, undefined)

  const update = loadReview('update-reapply')
  update.request.oldObject = { ...structuredClone(object), metadata: { ...object.metadata, name: 'agent-x7k2p', uid: 'u-1', resourceVersion: '1' } }
  update.request.object = { ...structuredClone(review.request.object), metadata: update.request.oldObject['metadata'] as ReviewFixture['request']['object']['metadata'] }
  const reapplied = await mutate(update, staleness(StaleCause.unavailable, unavailable), new IssuedRecords())
  const after = applyPatch(update.request.object, reapplied.review.response.patch ?? '')
  t.equal((after.metadata['annotations'] as Record<string, string>)[key], written, 'the stored stale record is kept as stored')
})
