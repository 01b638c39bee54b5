import t, { type Test } from 'tap'
import { mutateReview, validateReview, type AdmissionOutcome } from '../../src/admission/handle.js'
import { IssuedRecords } from '../../src/admission/issued-records.js'
import { decodeReview } from '../../src/admission/review.js'
import { loadConfig } from '../../src/config.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { deadlineIn, type Resolution } from '../../src/registry/types.js'
import { FakeResolver, fakeDigest, indexMediaType, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { loadReview, type ReviewFixture } from '../fixtures/reviews/index.js'
import { applyPatch, decodePatch, schemaErrors } from '../fixtures/schema/index.js'

const annotationKey = 'ate.dev/pinned-images'
const limits = loadConfig({}, {}).admission
const now = (): Date => new Date('2026-11-29T03:00:00.000Z')

async function mutate (review: ReviewFixture, resolver = new FakeResolver(), key = annotationKey, issued?: IssuedRecords): Promise<AdmissionOutcome> {
  return await mutateReview(decodeReview(review), { resolver, deadline: deadlineIn(5000), annotationKey: key, limits, issued, now })
}

/** The object the apiserver would store: the patch applied strictly, then the CRD schema (contains('@')) checked. */
function stored (t: Test, review: ReviewFixture, outcome: AdmissionOutcome): ReviewFixture['request']['object'] {
  const patch = outcome.review.response.patch
  if (patch === undefined) return review.request.object
  const result = applyPatch(review.request.object, patch)
  t.same(schemaErrors(result), [], 'the patched object passes the ActorTemplate schema')
  t.same(validateTemplate(result), [], 'and the validating webhook')
  return result
}

function validateTemplate (object: unknown): string[] {
  const review = loadReview('create-dry-run')
  review.request.object = object as ReviewFixture['request']['object']
  return validateReview(decodeReview(review), limits).problems.map((problem) => problem.field)
}

const notFound = (reference: string): Resolution => ({
  ok: false,
  original: reference,
  error: new RegistryError(ErrorCode.registryNotFound, 'ghcr.io answered 404 MANIFEST_UNKNOWN "manifest unknown"; credentials: anonymous; check the repository and tag, or push the image first',
    { registry: 'ghcr.io', repository: 'acme/agent', reference: '1.5', status: 404, ociCode: 'MANIFEST_UNKNOWN' })
})

t.test('CREATE with generateName: every tag pinned in one batch, pinned refs untouched', async (t) => {
  const review = loadReview('create-generate-name')
  const resolver = new FakeResolver()
  const outcome = await mutate(review, resolver)
  t.equal(outcome.decision, 'patched')
  t.same(resolver.batches, [['registry.k8s.io/pause:3.10', 'ghcr.io/acme/agent:1.4', 'busybox']], 'one batch, pinned reference not asked')
  const { response } = outcome.review
  t.equal(response.uid, review.request.uid)
  t.equal(response.patchType, 'JSONPatch')
  const operations = decodePatch(response.patch ?? '')
  t.same(operations.map((operation) => `${operation.op} ${operation.path}`), [
    'replace /spec/pauseImage',
    'replace /spec/containers/0/image',
    'replace /spec/containers/1/image',
    'add /metadata/annotations'
  ], 'replace on image paths only, annotations created because they were missing; no test ops')
  const object = stored(t, review, outcome)
  t.equal(object.spec['pauseImage'], `registry.k8s.io/pause:3.10@${fakeDigest('registry.k8s.io/pause:3.10')}`)
  t.equal(object.spec.containers[1]?.['image'], `busybox:latest@${fakeDigest('busybox')}`, 'no tag: :latest made visible')
  t.equal(object.spec.containers[2]?.['image'], review.request.object.spec.containers[2]?.['image'], 'already pinned: byte for byte')
  const annotation = JSON.parse(String((object.metadata['annotations'] as Record<string, string>)[annotationKey])) as Record<string, { original: string, digest: string, mediaType: string, resolvedAt: string, source: string }>
  t.same(Object.keys(annotation), ['spec.pauseImage', 'spec.containers[0].image', 'spec.containers[1].image'])
  t.same(annotation['spec.containers[1].image'], { original: 'busybox', digest: fakeDigest('busybox'), mediaType: indexMediaType, resolvedAt: '2026-11-29T03:00:00.000Z', source: 'registry' })
  t.same(response.warnings, [
    'spec.pauseImage: registry.k8s.io/pause:3.10 pinned to ' + fakeDigest('registry.k8s.io/pause:3.10').slice(0, 19) + '… (index)',
    'spec.containers[0].image: ghcr.io/acme/agent:1.4 pinned to ' + fakeDigest('ghcr.io/acme/agent:1.4').slice(0, 19) + '… (index)',
    'spec.containers[1].image: busybox pinned to ' + fakeDigest('busybox').slice(0, 19) + '… (index)'
  ])
  t.same(Object.keys(response.auditAnnotations ?? {}), ['pin.spec.pauseImage', 'pin.spec.containers.0.image', 'pin.spec.containers.1.image'])
})

t.test('mutating the stored result again changes nothing (reinvocation is a no-op)', async (t) => {
  const review = loadReview('create-generate-name')
  const issued = new IssuedRecords()
  const first = await mutate(review, new FakeResolver(), annotationKey, issued)
  review.request.object = stored(t, review, first)
  const resolver = new FakeResolver()
  const second = await mutate(review, resolver, annotationKey, issued)
  t.equal(second.decision, 'allowed')
  t.equal(second.review.response.patch, undefined)
  t.equal(second.review.response.patchType, undefined, 'no patchType without a patch')
  t.same(resolver.batches, [], 'and no registry call')
})

t.test('already pinned CREATE: allowed, no patch, no registry call', async (t) => {
  const resolver = new FakeResolver()
  const outcome = await mutate(loadReview('create-pinned'), resolver)
  t.same(outcome.review.response, { uid: loadReview('create-pinned').request.uid, allowed: true })
  t.same(resolver.batches, [])
})

t.test('UPDATE re-applying the tag manifest reuses the stored digests and changes nothing', async (t) => {
  const review = loadReview('update-reapply')
  const resolver = new FakeResolver()
  const outcome = await mutate(review, resolver)
  t.same(resolver.batches, [], 'no registry call')
  t.equal(outcome.decision, 'patched')
  t.same(decodePatch(outcome.review.response.patch ?? '').map((operation) => operation.op), ['replace', 'replace', 'replace'], 'the annotation already says it all')
  const object = stored(t, review, outcome)
  t.same(object.spec, review.request.oldObject?.spec, 'spec equals the stored one, so `self == oldSelf` holds')
  t.same(object.metadata, review.request.object.metadata)
  t.match(outcome.review.response.warnings?.[2], /^spec\.containers\[1\]\.image: busybox kept at sha256:[0-9a-f]{12}… \(stored digest\)$/)
})

t.test('UPDATE with a different tag asks the registry for that one only', async (t) => {
  const review = loadReview('update-reapply')
  review.request.object.spec.containers[0] = { ...review.request.object.spec.containers[0], image: 'ghcr.io/acme/agent:1.5' }
  const resolver = new FakeResolver()
  const outcome = await mutate(review, resolver)
  t.same(resolver.batches, [['ghcr.io/acme/agent:1.5']])
  const object = stored(t, review, outcome)
  t.equal(object.spec.containers[0]?.['image'], `ghcr.io/acme/agent:1.5@${fakeDigest('ghcr.io/acme/agent:1.5')}`, 'the CRD immutability rule will decide')
})

t.test('UPDATE reuse needs the same position and the exact spelling', async (t) => {
  const review = loadReview('update-reapply')
  const containers = review.request.object.spec.containers
  review.request.object.spec.containers = [containers[1] ?? {}, containers[0] ?? {}]
  review.request.object.spec['pauseImage'] = 'registry.k8s.io/pause:3.10.0'
  const resolver = new FakeResolver()
  await mutate(review, resolver)
  t.same(resolver.batches, [['registry.k8s.io/pause:3.10.0', 'busybox', 'ghcr.io/acme/agent:1.4']], 'swapped containers and respelled tags are looked up')
})

t.test('dry run is pinned like any CREATE (sideEffects: None)', async (t) => {
  const outcome = await mutate(loadReview('create-dry-run'))
  t.equal(outcome.decision, 'patched')
})

t.test('the 10-container maximum: 11 references, one batch, duplicates asked once', async (t) => {
  const review = loadReview('create-ten-containers')
  const resolver = new FakeResolver()
  const outcome = await mutate(review, resolver)
  t.equal(resolver.batches.length, 1)
  t.equal(resolver.batches[0]?.length, 6, 'pause, agent, busybox and three tools')
  const operations = decodePatch(outcome.review.response.patch ?? '')
  t.equal(operations.filter((operation) => operation.op === 'replace').length, 11)
  t.same(operations.at(-1), { op: 'add', path: '/metadata/annotations/ate.dev~1pinned-images', value: operations.at(-1)?.op === 'add' ? (operations.at(-1) as { value: string }).value : '' }, 'existing empty annotations map: add the key, escaped')
  const object = stored(t, review, outcome)
  t.equal(object.spec.containers.length, 10)
})

t.test('an unresolvable tag denies the whole request, naming field, reference and registry answer', async (t) => {
  const review = loadReview('create-generate-name')
  review.request.object.spec.containers[0] = { name: 'agent', image: 'ghcr.io/acme/agent:1.5' }
  review.request.object.spec.containers[1] = { name: 'helper', image: 'ghcr.io/acme/agent:1.5' }
  const resolver = new FakeResolver((reference) => reference.endsWith(':1.5') ? notFound(reference) : pinnedAnswer(reference))
  const outcome = await mutate(review, resolver)
  const { response } = outcome.review
  t.equal(response.allowed, false)
  t.equal(response.patch, undefined, 'no partial patch')
  t.equal(response.status?.code, 403)
  t.equal(response.status?.reason, 'Forbidden')
  t.equal(response.status?.message,
    '2 problems: spec.containers[0].image: cannot pin ghcr.io/acme/agent:1.5: ghcr.io answered 404 MANIFEST_UNKNOWN "manifest unknown"; credentials: anonymous; check the repository and tag, or push the image first; ' +
    'spec.containers[1].image: cannot pin ghcr.io/acme/agent:1.5: ghcr.io answered 404 MANIFEST_UNKNOWN "manifest unknown"; credentials: anonymous; check the repository and tag, or push the image first')
  t.same(response.status?.details?.causes.map((cause) => cause.field), ['spec.containers[0].image', 'spec.containers[1].image'])
  t.equal(outcome.reason, 'REGISTRY_NOT_FOUND')
  t.same(response.auditAnnotations, { denied: 'spec.containers[0].image: REGISTRY_NOT_FOUND; spec.containers[1].image: REGISTRY_NOT_FOUND' })
})

t.test('failures without registry advice get ours', async (t) => {
  const review = loadReview('create-dry-run')
  const resolver = new FakeResolver((reference) => ({
    ok: false,
    original: reference,
    error: new RegistryError(ErrorCode.registryTimeout, 'no answer before the admission deadline', { registry: 'ghcr.io', repository: 'acme/agent', reference: '1.4' })
  }))
  const message = (await mutate(review, resolver)).review.response.status?.message ?? ''
  t.match(message, /spec\.pauseImage: cannot pin registry\.k8s\.io\/pause:3\.10: no answer before the admission deadline; retry; if the registry is slow, raise admission\.maxResolveSeconds/)
})

t.test('malformed references deny without asking the registry', async (t) => {
  const review = loadReview('create-invalid')
  const resolver = new FakeResolver()
  const outcome = await mutate(review, resolver)
  t.same(resolver.batches, [])
  t.same(outcome.problems.map((problem) => `${problem.field} ${problem.reason}`), [
    'spec.containers[2].image InvalidDigest',
    'spec.containers[3].image InvalidDigest',
    'spec.containers[4].image InvalidDigest',
    'spec.containers[5].image InvalidReference'
  ])
  for (const problem of outcome.problems) t.match(outcome.review.response.status?.message, `${problem.field}: ${JSON.stringify(problem.reference)} is not a valid image reference: `)
})

t.test('a custom annotation key with ~ and / is escaped', async (t) => {
  const review = loadReview('create-pinned')
  review.request.object.spec['pauseImage'] = 'registry.k8s.io/pause:3.10'
  const outcome = await mutate(review, new FakeResolver(), 'example.com/pins~v1')
  t.same(decodePatch(outcome.review.response.patch ?? '').at(-1)?.path, '/metadata/annotations/example.com~1pins~0v1')
  const object = stored(t, review, outcome)
  t.ok((object.metadata['annotations'] as Record<string, string>)['example.com/pins~v1'])
  t.equal((object.metadata['annotations'] as Record<string, string>)['team.example/owner'], 'ml-platform', 'other annotations kept')
})

t.test('a resolver that throws is a 500 denial, never a pass', async (t) => {
  const outcome = await mutate(loadReview('create-dry-run'), new FakeResolver(() => { throw new Error('boom') }))
  t.equal(outcome.decision, 'errored')
  t.same(outcome.review.response.status, { metadata: {}, status: 'Failure', message: 'the webhook failed: boom', reason: 'InternalError', code: 500 })
  t.equal(outcome.review.response.allowed, false)
})

t.test('not ours: allowed untouched without asking', async (t) => {
  for (const name of ['delete', 'other-kind', 'status-subresource']) {
    const review = loadReview(name)
    if (review.request.object !== null) review.request.object.spec['pauseImage'] = 'busybox'
    const resolver = new FakeResolver()
    const outcome = await mutate(review, resolver)
    t.same(outcome.review, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } }, name)
    t.same(resolver.batches, [], `${name}: no registry call`)
    const validated = validateReview(decodeReview(review), limits)
    t.same(validated.review.response, { uid: review.request.uid, allowed: true }, `${name}: validate allows too`)
  }
})

t.test('validate denies with every violation and never patches', async (t) => {
  const review = loadReview('create-invalid')
  const outcome = validateReview(decodeReview(review), limits)
  const { response } = outcome.review
  t.equal(response.allowed, false)
  t.notOk('patch' in response || 'patchType' in response, 'a validating webhook must not return a patch')
  t.match(response.status?.message, /^7 problems: spec\.pauseImage: image registry\.k8s\.io\/pause:3\.10 has no digest/)
  t.match(response.status?.message, /spec\.containers\[1\]\.name: "pause" is reserved for the sandbox container; choose another name/)
  t.match(response.status?.message, /spec\.containers\[2\]\.name: duplicate container name "agent"/)
  t.match(response.status?.message, /spec\.containers\[3\]\.image: "ghcr\.io\/acme\/tools@md5:d41d8cd98f00b204e9800998ecf8427e" is not a valid image reference: digest algorithm md5 is not supported/)
  t.equal(validateReview(decodeReview(loadReview('create-pinned')), limits).review.response.allowed, true)
  t.equal(validateReview(decodeReview(loadReview('create-generate-name')), limits).review.response.allowed, false, 'tags are denied at validation')
})

t.test('UPDATE that keeps a stored invalid spec (labels, finalizers) is allowed, with warnings, never blocked', async (t) => {
  const review = loadReview('update-reapply')
  const legacy = loadReview('create-invalid').request.object.spec
  review.request.oldObject = { ...(review.request.oldObject ?? {}), spec: structuredClone(legacy) }
  review.request.object.spec = structuredClone(legacy) as typeof review.request.object.spec
  review.request.object.metadata['finalizers'] = []
  const resolver = new FakeResolver()
  const mutated = await mutate(review, resolver)
  t.same(mutated.review.response, { uid: review.request.uid, allowed: true }, 'mutate: nothing to pin in an immutable spec')
  t.equal(mutated.reason, 'spec-unchanged')
  t.same(resolver.batches, [])
  const validated = validateReview(decodeReview(review), limits)
  t.equal(validated.review.response.allowed, true)
  t.equal(validated.reason, 'spec-unchanged')
  t.equal(validated.review.response.warnings?.length, 7)
  t.match(validated.review.response.warnings?.[1], /^stored spec: spec\.containers\[1\]\.name: "pause" is reserved/)
  for (const warning of validated.review.response.warnings ?? []) t.ok([...warning].length <= 120, 'warnings fit 120 characters')

  review.request.object.spec.containers[0] = { name: 'agent', image: 'ghcr.io/acme/agent:1.4' }
  t.equal(validateReview(decodeReview(review), limits).review.response.allowed, false, 'a changed spec is judged in full')
})
