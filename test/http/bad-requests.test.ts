import t from 'tap'
import { loadReview } from '../fixtures/reviews/index.js'
import { startApp, testConfig } from './app-harness.js'

// Bodies the apiserver could never send: HTTP 4xx with a message a human can act on (there is no uid to answer to).

interface ErrorBody { statusCode: number, error: string, message: string }

const json = { 'content-type': 'application/json' }

t.test('malformed envelopes are 400 with a clear message', async (t) => {
  const { app, admissionLogs } = await startApp(t)
  const review = loadReview('create-dry-run')
  const withoutUid = loadReview('create-dry-run') as unknown as { request: Record<string, unknown> }
  delete withoutUid.request['uid']
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"apiVersion":', /^the request body is not valid JSON; expected an AdmissionReview$/],
    ['empty', '', /^the request body is empty; expected an AdmissionReview$/],
    ['v1beta1', JSON.stringify({ ...review, apiVersion: 'admission.k8s.io/v1beta1' }), /expected apiVersion admission\.k8s\.io\/v1 and kind AdmissionReview, got "admission\.k8s\.io\/v1beta1"/],
    ['wrong kind', JSON.stringify({ ...review, kind: 'ConfigMap' }), /got "admission\.k8s\.io\/v1" and "ConfigMap"/],
    ['missing uid', JSON.stringify(withoutUid), /^invalid AdmissionReview: request\.uid is required$/],
    ['prototype poisoning', '{"__proto__":{"x":1}}', /./]
  ]
  for (const webhook of ['/mutate', '/validate']) {
    for (const [name, payload, message] of cases) {
      const response = await app.inject({ method: 'POST', url: `${webhook}?timeout=10s`, headers: json, payload })
      t.equal(response.statusCode, 400, `${webhook} ${name}: 400`)
      t.match(response.json<ErrorBody>(), { statusCode: 400, error: 'Bad Request', message }, `${webhook} ${name}: message`)
    }
  }
  t.same(admissionLogs(), [], 'no admission was logged as decided')
})

t.test('wrong content type is 415, unknown routes 404, wrong methods 404', async (t) => {
  const { app } = await startApp(t)
  const text = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(text.statusCode, 415)
  t.equal(text.json<ErrorBody>().message, 'Content-Type must be application/json')
  const missing = await app.inject({ method: 'POST', url: '/mutate/extra?timeout=10s', headers: json, payload: '{}' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json<ErrorBody>().message, 'no route for POST /mutate/extra', 'the query is not echoed')
  t.equal((await app.inject({ method: 'GET', url: '/mutate' })).statusCode, 404)
})

t.test('bodies over the limit get 413 with a message; an UPDATE of 7 MiB fits', async (t) => {
  const { app, config } = await startApp(t, { config: testConfig() })
  t.equal(config.server.bodyLimitBytes, 7 * 1024 * 1024)
  const big = loadReview('update-reapply')
  const filler = 'x'.repeat(3 * 1024 * 1024)
  big.request.object.metadata['annotations'] = { ...(big.request.object.metadata['annotations'] as object), filler }
  const old = big.request.oldObject as unknown as { metadata: Record<string, unknown> }
  old.metadata['annotations'] = { ...(old.metadata['annotations'] as object), filler }
  const fits = await app.inject({ method: 'POST', url: '/mutate', headers: json, payload: JSON.stringify(big) })
  t.equal(fits.statusCode, 200, `a ${(JSON.stringify(big).length / 1024 / 1024).toFixed(1)} MiB UPDATE is answered`)

  const tooBig = JSON.stringify({ ...big, padding: 'y'.repeat(2 * 1024 * 1024) })
  const refused = await app.inject({ method: 'POST', url: '/mutate', headers: json, payload: tooBig })
  t.equal(refused.statusCode, 413)
  t.equal(refused.json<ErrorBody>().message, `the request body is larger than ${7 * 1024 * 1024} bytes (server.bodyLimitBytes)`)
})
