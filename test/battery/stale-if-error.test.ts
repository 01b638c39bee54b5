import t, { type Test } from 'tap'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import type { Config } from '../../src/config.js'
import { metricValue, reviewOf, startBatteryWebhook, type BatteryWebhook } from '../support/battery-webhook.js'
import { templateReview } from '../support/battery-reviews.js'
import { applyPatch } from '../fixtures/schema/index.js'
import { startFaultyServer, type Fault, type FaultyServer } from '../support/faulty-server.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry, type Registry } from '../support/registry.js'

// Issue 16 §3 against the real registry: a tag is pinned, then the registry really fails (the process stopped, or a
// faulty loopback front answering 503 / 429 / nothing at all). With resolver.staleIfErrorSeconds the admission is
// allowed with the earlier digest, and the warning, the annotation record, the audit annotation and the metric say
// so with its age; without it, with an answer (401, 404) instead of an outage, or past the window it is denied.
// burstWindowMs is 0 so no fresh answer is reused: every admission really asks the registry.

const annotationKey = 'ate.dev/pinned-images'
const onManifests = { match: ({ path }: { path: string }) => path.includes('/manifests/') }
let uids = 0

async function webhook (t: Test, hosts: string[], staleIfErrorSeconds: number): Promise<BatteryWebhook> {
  const resolver: Partial<Config['resolver']> = { staleIfErrorSeconds, burstWindowMs: 0, retryBaseDelayMs: 10 }
  return await startBatteryWebhook(t, { resolver, registries: hosts.map((host) => ({ host, insecure: true })) })
}

async function admit (hook: BatteryWebhook, image: string, timeout = '10s'): Promise<{ response: AdmissionReviewResponse['response'], records: Record<string, Record<string, string>> }> {
  const review = templateReview(`stale-${++uids}`, [image])
  const answer = reviewOf(await hook.admit(review, { timeout }))
  if (answer === undefined) throw new Error('no AdmissionReview answer')
  const { response } = answer
  const object = response.patch === undefined ? review.request.object : applyPatch(review.request.object, response.patch)
  const text = (object.metadata['annotations'] as Record<string, string> | undefined)?.[annotationKey] ?? '{}'
  return { response, records: JSON.parse(text) as Record<string, Record<string, string>> }
}

async function pushedRegistry (t: Test): Promise<{ registry: Registry, digest: string }> {
  const registry = await startRegistry({ mode: 'http', t })
  const { digest } = await push(registry, buildOciIndex(), 'team/app', 'v1')
  return { registry, digest }
}

function assertStale (t: Test, result: Awaited<ReturnType<typeof admit>>, expected: { image: string, digest: string, words: RegExp }): void {
  const { response, records } = result
  t.equal(response.allowed, true, 'allowed')
  // The reference is shortened in the middle when the whole line would pass the 120 characters kubectl is asked to show.
  t.match(response.warnings, [new RegExp(`^spec\\.containers\\[0\\]\\.image: 127\\.0\\.0\\.1:\\S+ pinned to ${expected.digest.slice(0, 19)}… from \\d+s ago: ${expected.words.source}$`)])
  t.ok((response.warnings?.[0]?.length ?? 0) <= 120, 'at most 120 characters')
  const record = records['spec.containers[0].image']
  t.match(record, { original: expected.image, digest: expected.digest, source: 'stale' }, 'annotation record with source stale')
  t.ok(Date.parse(record?.['resolvedAt'] ?? '') < Date.now(), 'recorded at the earlier answer\'s time')
  t.match(response.auditAnnotations?.['stale.spec.containers.0.image'], /^resolved \d{4}-\d\d-\d\dT[\d:.]+Z, \d+s before; REGISTRY_[A-Z_]+/)
  t.equal(response.auditAnnotations?.['pin.spec.containers.0.image'], `${expected.image}@${expected.digest}`)
}

t.test('registry process stopped (connection refused): stale with the window, denied without it', async (t) => {
  const { registry, digest } = await pushedRegistry(t)
  const on = await webhook(t, [registry.host], 600)
  const off = await webhook(t, [registry.host], 0)
  const image = `${registry.host}/team/app:v1`
  for (const hook of [on, off]) t.equal((await admit(hook, image)).response.allowed, true, 'pinned while the registry is up')
  await registry.stop()

  const stale = await admit(on, image)
  assertStale(t, stale, { image, digest, words: /registry unreachable/ })
  t.match(stale.response.auditAnnotations?.['stale.spec.containers.0.image'], /REGISTRY_UNREACHABLE$/)
  t.equal(metricValue(await on.metricsText(), 'atw_stale_pins_total', { registry: registry.host, reason: 'unreachable' }), 1)
  t.equal(metricValue(await on.metricsText(), 'atw_resolutions_total', { registry: registry.host, outcome: 'REGISTRY_UNREACHABLE' }), 1, 'the failed lookup still counts')
  const line = on.logs.lines.filter((entry) => entry['msg'] === 'admission').at(-1)
  t.match(line?.['pinned'], [new RegExp(`^spec\\.containers\\[0\\]\\.image=.*@${digest} \\(stale \\d+s, REGISTRY_UNREACHABLE\\)$`)], 'the log line says stale, how old and why')

  const denied = await admit(off, image)
  t.equal(denied.response.allowed, false, 'window off: denied as before')
  t.match(denied.response.status?.message, /connection refused/)
  t.equal(metricValue(await off.metricsText(), 'atw_stale_pins_total', {}), 0)
})

t.test('503, 429 and a hang are outages: stale with the window, denied without it', async (t) => {
  const { registry, digest } = await pushedRegistry(t)
  const cases: Array<{ name: string, fault: Fault, words: RegExp, reason: string, code: string, timeout?: string }> = [
    { name: '503', fault: { kind: 'status', status: 503, ...onManifests }, words: /registry unavailable \(503\)/, reason: 'unavailable', code: 'REGISTRY_UNAVAILABLE (503)' },
    { name: '429 with Retry-After: 30', fault: { kind: 'status', status: 429, retryAfter: 30, ...onManifests }, words: /registry rate limited \(429\)/, reason: 'rate-limited', code: 'REGISTRY_RATE_LIMITED (429)' },
    { name: 'no answer before the deadline', fault: { kind: 'hang', ...onManifests }, words: /registry timed out/, reason: 'timeout', code: 'REGISTRY_TIMEOUT', timeout: '3s' }
  ]
  const fronts = new Map<string, FaultyServer>()
  for (const { name } of cases) fronts.set(name, await startFaultyServer({ upstream: registry, t }))
  const hosts = [...fronts.values()].map((front) => front.host)
  const on = await webhook(t, hosts, 600)
  const off = await webhook(t, hosts, 0)
  for (const { name, fault, words, reason, code, timeout } of cases) {
    const front = fronts.get(name)
    if (front === undefined) throw new Error(name)
    const image = `${front.host}/team/app:v1`
    for (const hook of [on, off]) t.equal((await admit(hook, image)).response.allowed, true, `${name}: pinned while the registry answers`)
    front.setFault(fault)
    const stale = await admit(on, image, timeout)
    assertStale(t, stale, { image, digest, words })
    t.ok(stale.response.auditAnnotations?.['stale.spec.containers.0.image']?.endsWith(code), `${name}: audit names ${code}`)
    t.equal(metricValue(await on.metricsText(), 'atw_stale_pins_total', { registry: front.host, reason }), 1, `${name}: counted as ${reason}`)
    const denied = await admit(off, image, timeout)
    t.equal(denied.response.allowed, false, `${name}: window off, denied as before`)
    t.ok(front.faultsFired() >= 2, `${name}: the registry was really asked both times (${front.faultsFired()})`)
  }
})

t.test('401 and 404 are answers, never outages: denied even with the window on', async (t) => {
  const { registry } = await pushedRegistry(t)
  const cases: Array<{ status: number, code: string }> = [{ status: 401, code: 'REGISTRY_UNAUTHORIZED' }, { status: 403, code: 'REGISTRY_DENIED' }, { status: 404, code: 'REGISTRY_NOT_FOUND' }]
  const fronts = await Promise.all(cases.map(async () => await startFaultyServer({ upstream: registry, t })))
  const on = await webhook(t, fronts.map((front) => front.host), 600)
  for (const [index, { status, code }] of cases.entries()) {
    const front = fronts[index]
    if (front === undefined) throw new Error(String(status))
    const image = `${front.host}/team/app:v1`
    t.equal((await admit(on, image)).response.allowed, true, `${status}: pinned first`)
    front.setFault({ kind: 'status', status, ...onManifests })
    const denied = await admit(on, image)
    t.equal(denied.response.allowed, false, `${status}: denied`)
    t.match(denied.response.auditAnnotations, { denied: `spec.containers[0].image: ${code}` })
    t.equal(denied.response.warnings, undefined, `${status}: no stale warning`)
  }
  t.equal(metricValue(await on.metricsText(), 'atw_stale_pins_total', {}), 0)
})

t.test('past the window: denied', async (t) => {
  const { registry } = await pushedRegistry(t)
  const front = await startFaultyServer({ upstream: registry, t })
  const on = await webhook(t, [front.host], 1)
  const image = `${front.host}/team/app:v1`
  t.equal((await admit(on, image)).response.allowed, true, 'pinned first')
  front.setFault({ kind: 'status', status: 503, ...onManifests })
  t.equal((await admit(on, image)).response.allowed, true, 'inside the 1 s window: stale')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const denied = await admit(on, image)
  t.equal(denied.response.allowed, false, 'more than 1 s after the registry last answered: denied')
  t.match(denied.response.status?.message, /answered 503/)
})
