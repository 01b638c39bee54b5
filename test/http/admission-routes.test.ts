import t from 'tap'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'
import { loadReview, reviewNames } from '../fixtures/reviews/index.js'
import { applyPatch, schemaErrors } from '../fixtures/schema/index.js'
import { startApp } from './app-harness.js'

// Both webhooks over fastify's inject(): the envelope the apiserver verifies, for every fixture.

const expected: Record<string, { mutate: 'patch' | 'allow' | 'deny', validate: 'allow' | 'deny' }> = {
  'create-generate-name': { mutate: 'patch', validate: 'deny' },
  'create-pinned': { mutate: 'allow', validate: 'allow' },
  'create-dry-run': { mutate: 'patch', validate: 'deny' },
  'create-invalid': { mutate: 'deny', validate: 'deny' },
  'create-ten-containers': { mutate: 'patch', validate: 'deny' },
  'update-reapply': { mutate: 'patch', validate: 'deny' },
  delete: { mutate: 'allow', validate: 'allow' },
  'other-kind': { mutate: 'allow', validate: 'allow' },
  'status-subresource': { mutate: 'allow', validate: 'allow' }
}

t.test('every fixture gets the apiserver envelope from both webhooks; patched objects pass the schema and the validator', async (t) => {
  t.same(Object.keys(expected).sort(), [...reviewNames].sort(), 'every fixture has an expectation')
  const { app } = await startApp(t)
  for (const [name, want] of Object.entries(expected)) {
    const review = loadReview(name)
    const mutated = await app.inject({ method: 'POST', url: '/mutate?timeout=10s', payload: review })
    t.equal(mutated.statusCode, 200, `${name}: HTTP 200`)
    t.match(mutated.headers['content-type'], /^application\/json/)
    const body = mutated.json<AdmissionReviewResponse>()
    t.equal(body.apiVersion, 'admission.k8s.io/v1', `${name}: apiVersion`)
    t.equal(body.kind, 'AdmissionReview', `${name}: kind`)
    t.equal(body.response.uid, review.request.uid, `${name}: uid echoed`)
    t.equal('patch' in body.response, 'patchType' in body.response, `${name}: patch and patchType together or neither`)
    const outcome = body.response.allowed ? (body.response.patch === undefined ? 'allow' : 'patch') : 'deny'
    t.equal(outcome, want.mutate, `${name}: mutate ${want.mutate}`)
    let object = review.request.object
    if (body.response.patch !== undefined) {
      object = applyPatch(review.request.object, body.response.patch)
      t.same(schemaErrors(object), [], `${name}: patched object passes the schema`)
    }

    const after = { ...review, request: { ...review.request, object } }
    const validated = await app.inject({ method: 'POST', url: '/validate', payload: after })
    const verdict = validated.json<AdmissionReviewResponse>()
    t.equal(verdict.response.uid, review.request.uid)
    t.notOk('patch' in verdict.response || 'patchType' in verdict.response, `${name}: validating never patches`)
    const afterMutation = want.mutate === 'patch' ? 'allow' : want.validate
    t.equal(verdict.response.allowed ? 'allow' : 'deny', afterMutation, `${name}: validate after mutate ${afterMutation}`)
  }
})

t.test('the deadline comes from ?timeout= minus the margin, capped by config', async (t) => {
  const resolver = new FakeResolver()
  const { app } = await startApp(t, { resolver })
  const cases: Array<[string, number]> = [['/mutate?timeout=10s', 8000], ['/mutate?timeout=5s', 3500], ['/mutate', 8000], ['/mutate?timeout=2s&x=1', 1000]]
  for (const [url, budget] of cases) {
    const before = Date.now()
    const response = await app.inject({ method: 'POST', url, payload: loadReview('create-dry-run') })
    t.equal(response.statusCode, 200, url)
    const deadline = resolver.deadlines.at(-1)
    t.ok(deadline !== undefined && deadline.at >= before + budget && deadline.at <= Date.now() + budget, `${url}: budget ${budget} ms`)
  }
})

t.test('one JSON log line per admission, naming the object, never its content', async (t) => {
  const { app, admissionLogs, logs } = await startApp(t, { resolver: new FakeResolver() })
  await app.inject({ method: 'POST', url: '/mutate?timeout=10s', payload: loadReview('create-generate-name') })
  await app.inject({ method: 'POST', url: '/validate', payload: loadReview('create-invalid') })
  await app.inject({ method: 'GET', url: '/healthz' })
  const [mutated, validated] = admissionLogs()
  t.equal(admissionLogs().length, 2, 'one line each, none for probes')
  t.match(mutated, {
    webhook: 'mutate',
    uid: loadReview('create-generate-name').request.uid,
    object: 'team-a/agent-*',
    kind: 'ate.dev/v1alpha1/ActorTemplate',
    operation: 'CREATE',
    user: 'kubernetes-admin',
    decision: 'patched',
    reason: 'pinned',
    registryRequests: 0,
    budgetMs: 8000
  })
  t.equal((mutated?.['pinned'] as string[]).length, 3)
  t.match((mutated?.['pinned'] as string[])[0], /^spec\.pauseImage=registry\.k8s\.io\/pause:3\.10@sha256:[0-9a-f]{64} \(registry\)$/)
  t.type(mutated?.['durationMs'], 'number')
  t.match(validated, { webhook: 'validate', object: 'team-a/bad', decision: 'denied', reason: 'Unpinned' })
  t.equal((validated?.['problems'] as string[]).length, 7)
  const text = JSON.stringify(logs)
  for (const secret of ['LOG_LEVEL', 'gs://acme-snapshots', '/app/server', 'managedFields']) t.notOk(text.includes(secret), `object content (${secret}) is not logged`)
})
