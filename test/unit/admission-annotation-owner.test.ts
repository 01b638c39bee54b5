import t from 'tap'
import { mutateReview, type AdmissionOutcome } from '../../src/admission/handle.js'
import { IssuedRecords } from '../../src/admission/issued-records.js'
import { decodeReview } from '../../src/admission/review.js'
import { loadConfig } from '../../src/config.js'
import { deadlineIn } from '../../src/registry/types.js'
import { FakeResolver, fakeDigest } from '../fixtures/fake-resolver.js'
import { loadReview, type ReviewFixture } from '../fixtures/reviews/index.js'
import { applyPatch, decodePatch } from '../fixtures/schema/index.js'

// Issue 13 §4: the webhook owns `ate.dev/pinned-images`. A user's pre-set entries are never re-emitted; records come
// from this request's pins, the stored object (UPDATE), or an earlier round of the same request in this process.

const key = 'ate.dev/pinned-images'
const limits = loadConfig({}, {}).admission
const zero = `sha256:${'0'.repeat(64)}`
const now = (): Date => new Date('2026-11-29T03:00:00.000Z')
const invented = (original: string): Record<string, string> =>
  ({ original, digest: zero, mediaType: 'application/vnd.oci.image.index.v1+json', resolvedAt: '2020-01-01T00:00:00.000Z', source: 'registry' })

async function mutate (review: ReviewFixture, issued = new IssuedRecords()): Promise<AdmissionOutcome> {
  return await mutateReview(decodeReview(review), { resolver: new FakeResolver(), deadline: deadlineIn(5000), annotationKey: key, limits, issued, now })
}

function annotations (review: ReviewFixture, outcome: AdmissionOutcome): Record<string, string> {
  const patch = outcome.review.response.patch
  const object = patch === undefined ? review.request.object : applyPatch(review.request.object, patch)
  return (object.metadata['annotations'] ?? {}) as Record<string, string>
}

function preset (review: ReviewFixture, entries: Record<string, unknown>): void {
  review.request.object.metadata['annotations'] = { 'team.example/owner': 'ml', [key]: JSON.stringify(entries) }
}

t.test('CREATE: invented entries are replaced by what the webhook resolved, or dropped', async (t) => {
  const review = loadReview('create-generate-name')
  const pinnedByUser = String(review.request.object.spec.containers[2]?.image)
  preset(review, {
    'spec.containers[0].image': invented('ghcr.io/acme/agent:1.4'),
    // The user's own digest, with a record claiming the webhook looked it up.
    'spec.containers[2].image': { ...invented(pinnedByUser.split('@')[0] ?? ''), digest: pinnedByUser.split('@')[1] },
    'spec.containers[9].image': invented('ghcr.io/acme/ghost:1')
  })
  const outcome = await mutate(review)
  const stored = annotations(review, outcome)
  const records = JSON.parse(stored[key] ?? '{}') as Record<string, { digest: string, resolvedAt: string }>
  t.same(Object.keys(records), ['spec.pauseImage', 'spec.containers[0].image', 'spec.containers[1].image'], 'only fields the webhook pinned')
  t.equal(records['spec.containers[0].image']?.digest, fakeDigest('ghcr.io/acme/agent:1.4'), 'the resolved digest, not the zero one')
  t.equal(records['spec.containers[0].image']?.resolvedAt, now().toISOString())
  t.notMatch(stored[key], /0{64}/, 'no zero digest anywhere')
  t.equal(stored['team.example/owner'], 'ml', 'other annotations untouched')
})

t.test('CREATE with every image pinned by the user: the invented annotation is removed', async (t) => {
  const review = loadReview('create-pinned')
  preset(review, { 'spec.pauseImage': invented('registry.k8s.io/pause:3.10') })
  const outcome = await mutate(review)
  t.equal(outcome.decision, 'patched')
  t.equal(outcome.reason, 'annotation')
  t.same(decodePatch(outcome.review.response.patch ?? ''), [{ op: 'remove', path: '/metadata/annotations/ate.dev~1pinned-images' }])
  t.notOk(Object.hasOwn(annotations(review, outcome), key))
  t.equal(annotations(review, outcome)['team.example/owner'], 'ml')
})

t.test('UPDATE of metadata only: the annotation goes back to what the stored object recorded', async (t) => {
  const review = loadReview('update-reapply')
  const storedValue = (review.request.oldObject as ReviewFixture['request']['object']).metadata['annotations'] as Record<string, string>
  review.request.object.spec = structuredClone((review.request.oldObject as ReviewFixture['request']['object']).spec)
  preset(review, { 'spec.pauseImage': invented('registry.k8s.io/pause:3.10') })
  const outcome = await mutate(review)
  t.equal(annotations(review, outcome)[key], storedValue[key], 'restored verbatim')

  const untouched = loadReview('update-reapply')
  untouched.request.object.spec = structuredClone((untouched.request.oldObject as ReviewFixture['request']['object']).spec)
  untouched.request.object.metadata['annotations'] = structuredClone(storedValue)
  t.same((await mutate(untouched)).review.response, { uid: untouched.request.uid, allowed: true }, 'unchanged annotation: no patch')
})

t.test('UPDATE re-applying tags: records come from the stored object, not from the request', async (t) => {
  const review = loadReview('update-reapply')
  preset(review, { 'spec.pauseImage': invented('registry.k8s.io/pause:3.10') })
  const outcome = await mutate(review)
  const storedValue = ((review.request.oldObject as ReviewFixture['request']['object']).metadata['annotations'] as Record<string, string>)[key]
  t.equal(annotations(review, outcome)[key], storedValue)
})

t.test('reinvocation: our own records survive in this process; elsewhere they are dropped, never invented', async (t) => {
  const review = loadReview('create-generate-name')
  const issued = new IssuedRecords()
  const first = await mutate(review, issued)
  const written = annotations(review, first)[key]
  review.request.object = applyPatch(review.request.object, first.review.response.patch ?? '')
  const again = await mutate(review, issued)
  t.equal(again.review.response.patch, undefined, 'same process: a no-op')
  const elsewhere = await mutate(review, new IssuedRecords())
  t.same(decodePatch(elsewhere.review.response.patch ?? ''), [{ op: 'remove', path: '/metadata/annotations/ate.dev~1pinned-images' }],
    'another replica cannot tell them from a user\'s')
  t.ok(written !== undefined)
})
