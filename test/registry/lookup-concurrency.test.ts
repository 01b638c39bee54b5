import t from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { deadlineIn } from '../../src/registry/types.js'
import { ConcurrencyCounter, startHostileRegistry } from '../support/hostile-registry.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 13 §1, bullet 2: lookups are capped per registry and in total, and the rest wait in line within their
// deadline. The proof is the peak of simultaneous requests and connections seen by counting loopback registries.

const references = (host: string, count: number): string[] => Array.from({ length: count }, (_, index) => `${host}/repo-${index}/app:v1`)

t.test('issue 13: at most maxLookupsInFlightPerRegistry lookups and connections per registry', async (t) => {
  const registry = await startHostileRegistry(t, { delayMs: 150 })
  const harness = startResolver(t, {
    registries: [{ host: registry.host, insecure: true }],
    resolver: { maxLookupsInFlight: 32, maxLookupsInFlightPerRegistry: 8, maxAttempts: 1 }
  })
  const results = await harness.resolver.resolveAll(references(registry.host, 100), deadlineIn(20_000))
  const pinned = [...results.values()].filter((result) => result.ok).length
  const { peakRequests, peakConnections, totalConnections } = registry.counter
  t.equal(pinned, 100, 'every lookup pinned (they queued, none was dropped)')
  t.ok(peakRequests <= 8, `at most 8 requests at once (peak ${peakRequests})`)
  t.ok(peakConnections <= 8, `at most 8 connections at once (peak ${peakConnections})`)
  t.comment(`per-registry cap 8: 100 distinct lookups, peak ${peakRequests} requests and ${peakConnections} connections at once, ${totalConnections} connections opened`)
})

t.test('issue 13: at most maxLookupsInFlight across registries', async (t) => {
  const counter = new ConcurrencyCounter()
  const registries = await Promise.all(Array.from({ length: 6 }, async () => await startHostileRegistry(t, { delayMs: 150, counter })))
  const harness = startResolver(t, {
    registries: registries.map((registry) => ({ host: registry.host, insecure: true })),
    resolver: { maxLookupsInFlight: 20, maxLookupsInFlightPerRegistry: 8, maxAttempts: 1 }
  })
  const all = registries.flatMap((registry) => references(registry.host, 40))
  const results = await harness.resolver.resolveAll(all, deadlineIn(30_000))
  const pinned = [...results.values()].filter((result) => result.ok).length
  t.equal(pinned, all.length, `all ${all.length} lookups pinned`)
  t.ok(counter.peakRequests <= 20, `at most 20 requests at once over 6 registries (peak ${counter.peakRequests})`)
  t.ok(counter.peakConnections <= 6 * 8, `at most 8 connections per registry (peak ${counter.peakConnections} over 6)`)
  t.comment(`global cap 20 over 6 registries: ${all.length} lookups, peak ${counter.peakRequests} requests and ${counter.peakConnections} connections at once`)
})

t.test('issue 13: a lookup waiting for a slot gives up at its own deadline with the typed timeout', async (t) => {
  const registry = await startHostileRegistry(t, { delayMs: 3000 })
  const harness = startResolver(t, {
    registries: [{ host: registry.host, insecure: true }],
    resolver: { maxLookupsInFlight: 32, maxLookupsInFlightPerRegistry: 1, maxAttempts: 1 }
  })
  const first = harness.resolver.resolveOne(`${registry.host}/slow/app:v1`, deadlineIn(10_000))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  const waiter = await harness.resolver.resolveOne(`${registry.host}/other/app:v1`, deadlineIn(500))
  const waitedMs = Date.now() - started
  t.equal(waiter.ok ? '' : waiter.error.code, ErrorCode.registryTimeout)
  t.match(waiter.ok ? '' : waiter.error.message, /no lookup slot before the admission deadline \(at most 1 lookups per registry and 32 in all run at once/)
  t.ok(waitedMs < 2500, `answered after ${waitedMs} ms (budget 500 ms), not after the slow lookup's 3000 ms`)
  const requests = registry.counter.totalRequests
  t.equal(requests, 1, 'the waiter never reached the registry')
  t.ok((await first).ok, 'the lookup holding the slot still pins')
  t.comment(`slot wait: the waiter answered ${waiter.ok ? 'ok' : waiter.error.code} after ${waitedMs} ms with ${requests} requests on the wire`)
})
