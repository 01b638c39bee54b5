import { createRequire } from 'node:module'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, Readiness } from '../../src/http/app.js'
import { createMetrics } from '../../src/http/metrics.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'
import { logCapture, testConfig } from './app-harness.js'

/**
 * Issue 17 §3: the app builds fastify without its schema compilers (src/http/no-route-schemas.ts), which spares every
 * replica ajv and fast-json-stringify. The price must never be a route whose schema is silently not enforced: a route
 * that declares one makes app.ready() fail at start-up, naming the route and the way out.
 */

function unreadyApp (): FastifyInstance {
  const { logger } = logCapture()
  return buildApp(testConfig(), { resolver: new FakeResolver(), metrics: createMetrics({ defaultMetrics: false }), readiness: new Readiness(), loggerInstance: logger })
}

const object = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const

const refused: Array<{ name: string, schema: Record<string, unknown>, code: string, part: string }> = [
  { name: 'body', schema: { body: object }, code: 'FST_ERR_SCH_VALIDATION_BUILD', part: 'body' },
  { name: 'querystring', schema: { querystring: object }, code: 'FST_ERR_SCH_VALIDATION_BUILD', part: 'querystring' },
  { name: 'params', schema: { params: object }, code: 'FST_ERR_SCH_VALIDATION_BUILD', part: 'params' },
  { name: 'headers', schema: { headers: object }, code: 'FST_ERR_SCH_VALIDATION_BUILD', part: 'headers' },
  { name: 'response', schema: { response: { 200: object } }, code: 'FST_ERR_SCH_SERIALIZATION_BUILD', part: 'response 200' }
]

for (const { name, schema, code, part } of refused) {
  t.test(`a route with a ${name} schema fails start-up instead of going unvalidated`, async (t) => {
    const app = unreadyApp()
    t.teardown(async () => { await app.close() })
    let handled = 0
    app.post('/extra/:name', { schema }, async () => { handled++; return { name: 'x' } })
    const error = await app.ready().then(() => undefined, (reason: unknown) => reason)
    t.ok(error instanceof Error, 'app.ready() rejects')
    t.match(error, { code, message: new RegExp(`POST /extra/:name declares a ${part} schema, but this app builds fastify without schema compilers`) })
    t.match(error, { message: /src\/http\/no-route-schemas\.ts/ }, 'the message says where the choice is made')
    t.equal(handled, 0)
  })
}

t.test('the app without route schemas starts, answers and serialises errors without fastify\'s compilers', async (t) => {
  const app = unreadyApp()
  t.teardown(async () => { await app.close() })
  await app.ready()
  const healthz = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(healthz.statusCode, 200)
  t.same(healthz.json(), { status: 'ok' })
  const notJson = await app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: '{' })
  t.equal(notJson.statusCode, 400)
  t.same(notJson.json(), { statusCode: 400, error: 'Bad Request', message: 'the request body is not valid JSON; expected an AdmissionReview' })
  // fastify is CommonJS: whatever it required is in the require cache, whoever imported fastify.
  const required = Object.keys(createRequire(import.meta.url).cache)
  for (const path of ['node_modules/@fastify/ajv-compiler/', 'node_modules/@fastify/fast-json-stringify-compiler/', 'node_modules/fast-json-stringify/index.js']) {
    t.notOk(required.some((file) => file.includes(path)), `${path} not required`)
  }
})
