import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { createMetrics } from '../../src/http/metrics.js'
import { createMetricsServer } from '../../src/http/metrics-server.js'
import { FakeResolver, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { loadReview } from '../fixtures/reviews/index.js'
import { startApp } from './app-harness.js'

t.test('healthz is always ok; readyz follows the readiness gates and lists why', async (t) => {
  const { app, readiness } = await startApp(t)
  t.equal((await app.inject('/healthz')).statusCode, 200)
  t.same((await app.inject('/readyz')).json(), { status: 'ok' })
  readiness.block('tls', 'no certificate served yet')
  const blocked = await app.inject('/readyz')
  t.equal(blocked.statusCode, 503)
  t.same(blocked.json(), { status: 'not ready', reasons: ['tls: no certificate served yet'] })
  readiness.unblock('tls')
  t.equal((await app.inject('/readyz')).statusCode, 200)
  readiness.beginShutdown()
  const closing = await app.inject('/readyz')
  t.equal(closing.statusCode, 503)
  t.equal(closing.headers['connection'], 'close', 'during shutdown every answer closes its connection')
  t.equal((await app.inject('/healthz')).statusCode, 200, 'still alive while draining')
})

t.test('metrics: admissions by webhook/decision/reason, latency, resolutions, cache hits, lookups, in flight', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false, maxRegistryLabels: 2 })
  const resolver = new FakeResolver((reference) => {
    if (reference.includes('missing')) {
      // What the transport reports for a HEAD 404 and the GET that reads the error body.
      metrics.onExchange({ registry: 'ghcr.io', status: 404, durationMs: 10 })
      metrics.onExchange({ registry: 'ghcr.io', status: 404, durationMs: 10 })
      metrics.onLookup({ registry: 'ghcr.io', outcome: ErrorCode.registryNotFound, requests: 2, credentialSource: 'anonymous', durationMs: 30 })
      return { ok: false, original: reference, error: new RegistryError(ErrorCode.registryNotFound, '404', { registry: 'ghcr.io', repository: 'x', reference: '1' }) }
    }
    metrics.onExchange({ registry: reference.split('/')[0] ?? '', status: 200, durationMs: 12 })
    metrics.onLookup({ registry: reference.split('/')[0] ?? '', outcome: 'pinned', requests: 1, credentialSource: 'anonymous', durationMs: 12 })
    return pinnedAnswer(reference)
  })
  const { app, admissionLogs } = await startApp(t, { resolver, metrics })
  await app.inject({ method: 'POST', url: '/mutate', payload: loadReview('create-generate-name') })
  await app.inject({ method: 'POST', url: '/mutate', payload: loadReview('update-reapply') })
  const missing = loadReview('create-dry-run')
  missing.request.object.spec.containers[0] = { name: 'agent', image: 'ghcr.io/acme/missing:1' }
  await app.inject({ method: 'POST', url: '/mutate', payload: missing })
  await app.inject({ method: 'POST', url: '/validate', payload: loadReview('create-invalid') })
  metrics.onLookup({ registry: 'third.example', outcome: 'cached', requests: 0, credentialSource: undefined, durationMs: 0 })

  t.equal((await app.inject('/metrics')).statusCode, 404, 'not on the admission port (issue 13 §5)')
  const server = createMetricsServer(metrics.registry).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const response = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = await response.body.text()
  t.match(text, /atw_admissions_total\{webhook="mutate",decision="patched",reason="pinned"\} 2/)
  t.match(text, /atw_admissions_total\{webhook="mutate",decision="denied",reason="REGISTRY_NOT_FOUND"\} 1/)
  t.match(text, /atw_admissions_total\{webhook="validate",decision="denied",reason="Unpinned"\} 1/)
  t.match(text, /atw_admission_duration_seconds_count\{webhook="mutate"\} 3/)
  t.match(text, /atw_resolutions_total\{registry="registry\.k8s\.io",outcome="pinned"\} 2/)
  t.match(text, /atw_resolutions_total\{registry="ghcr\.io",outcome="REGISTRY_NOT_FOUND"\} 1/)
  t.match(text, /atw_resolutions_total\{registry="other",outcome="cached"\} 1/, 'registry labels are bounded')
  t.match(text, /atw_cache_hits_total\{source="old-object"\} 3/)
  t.match(text, /atw_cache_hits_total\{source="resolver-cache"\} 1/)
  t.match(text, /atw_registry_lookup_duration_seconds_count\{registry="ghcr\.io",status="REGISTRY_NOT_FOUND"\} 1/)
  t.match(text, /atw_registry_requests_total\{registry="ghcr\.io"\} \d+/)
  t.match(text, /atw_registry_request_duration_seconds_count\{registry="ghcr\.io",status="404"\} 2/, 'per-request latency by registry and status')
  t.match(text, /atw_admission_requests_in_flight\{webhook="mutate"\} 0/)
  t.equal(admissionLogs()[0]?.['registryRequests'], 3, 'the log line counts the registry requests of its own admission')
  t.equal(admissionLogs()[2]?.['registryRequests'], 3, 'a failed lookup counts too (1 + 2)')
})

t.test('in-flight gauge counts requests while the registry is slow', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const { app } = await startApp(t, { metrics, resolver: new FakeResolver(async (reference) => { await gate; return pinnedAnswer(reference) }) })
  const pending = [1, 2, 3].map(async () => await app.inject({ method: 'POST', url: '/mutate', payload: loadReview('create-dry-run') }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(await metrics.registry.metrics(), /atw_admission_requests_in_flight\{webhook="mutate"\} 3/)
  release()
  await Promise.all(pending)
  t.match(await metrics.registry.metrics(), /atw_admission_requests_in_flight\{webhook="mutate"\} 0/)
})
