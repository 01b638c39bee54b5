import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import type { ManifestDigest } from '../../src/registry/manifest-client.js'
import { RegistryResolver, type LookupEvent } from '../../src/registry/resolver.js'
import { deadlineIn } from '../../src/registry/types.js'

// Issue 16 §3 at the resolver: a failed lookup answers with this replica's last registry answer, typed as stale with
// its age and cause, only inside resolver.staleIfErrorSeconds and only for outages. The registry is scripted and the
// clock injected; test/battery/stale-if-error.test.ts does the same against the real registry.

const digestA = `sha256:${'a'.repeat(64)}`
const reference = 'r.example/team/app:1.4'
const found: ManifestDigest = { digest: digestA, mediaType: 'application/vnd.oci.image.index.v1+json', requests: 1, credentialSource: 'anonymous' }
const failure = (code: ErrorCode, status?: number): RegistryError =>
  new RegistryError(code, `failed with ${code}`, { registry: 'r.example', repository: 'team/app', reference: '1.4', status })

function resolverWith (staleIfErrorSeconds: number, settings: Record<string, unknown> = {}) {
  let clock = 1_000_000
  let next: () => ManifestDigest = () => found
  const events: LookupEvent[] = []
  const config = loadConfig({}, {})
  const resolver = new RegistryResolver({
    config: { registries: config.registries, resolver: { ...config.resolver, burstWindowMs: 0, maxAttempts: 1, staleIfErrorSeconds, ...settings } },
    manifests: { lookup: async () => next() },
    onLookup: (event) => events.push(event),
    now: () => clock
  })
  return {
    resolver,
    events,
    advance: (ms: number) => { clock += ms },
    answer: (script: () => ManifestDigest) => { next = script },
    resolve: async () => await resolver.resolveOne(reference, deadlineIn(5000, clock))
  }
}

t.test('outages inside the window answer with the last digest, its age and the cause', async (t) => {
  const cases: Array<[string, RegistryError, string]> = [
    ['503', failure(ErrorCode.registryUnavailable, 503), 'unavailable'],
    ['429', failure(ErrorCode.registryRateLimited, 429), 'rate-limited'],
    ['timeout', failure(ErrorCode.registryTimeout), 'timeout']
  ]
  for (const [name, error, cause] of cases) {
    const { resolve, advance, answer, events } = resolverWith(600)
    t.match(await resolve(), { ok: true, digest: digestA, fromCache: false, stale: undefined }, `${name}: first a registry answer`)
    advance(240_000)
    answer(() => { throw error })
    const result = await resolve()
    t.same(result, {
      ok: true,
      original: reference,
      pinned: `${reference}@${digestA}`,
      digest: digestA,
      mediaType: found.mediaType,
      fromCache: true,
      stale: { resolvedAtMs: 1_000_000, ageMs: 240_000, cause, error }
    }, `${name}: stale, 4 minutes old`)
    t.match(events.at(-1), { outcome: error.code, stale: cause }, `${name}: the lookup still counts as failed, marked stale`)
  }
})

t.test('denied as before: window off, answers (401, 403, 404), bad responses, past the window', async (t) => {
  const cases: Array<[string, number, RegistryError, number]> = [
    ['window off', 0, failure(ErrorCode.registryUnavailable, 503), 1000],
    ['401', 600, failure(ErrorCode.registryUnauthorized, 401), 1000],
    ['403', 600, failure(ErrorCode.registryDenied, 403), 1000],
    ['404', 600, failure(ErrorCode.registryNotFound, 404), 1000],
    ['digest mismatch', 600, failure(ErrorCode.digestMismatch), 1000],
    ['bad response', 600, failure(ErrorCode.registryBadResponse, 418), 1000],
    ['blocked address', 600, failure(ErrorCode.blockedAddress), 1000],
    ['past the window', 60, failure(ErrorCode.registryUnavailable, 503), 60_001]
  ]
  for (const [name, window, error, later] of cases) {
    const { resolve, advance, answer, events } = resolverWith(window)
    t.equal((await resolve()).ok, true)
    advance(later)
    answer(() => { throw error })
    t.same(await resolve(), { ok: false, original: reference, error }, name)
    t.equal(events.at(-1)?.stale, undefined, `${name}: not counted as stale`)
  }
})

t.test('the age is the registry answer\'s: digest-cache hits do not refresh it, a new answer does', async (t) => {
  const { resolve, advance, answer } = resolverWith(600, { cacheTtlSeconds: 60 })
  await resolve()
  advance(30_000)
  t.match(await resolve(), { fromCache: true, stale: undefined }, 'a cache hit')
  advance(60_000)
  answer(() => { throw failure(ErrorCode.registryUnavailable, 503) })
  t.match(await resolve(), { ok: true, stale: { ageMs: 90_000 } }, 'aged from the registry answer, not the cache hit')
  answer(() => found)
  advance(10_000)
  t.match(await resolve(), { ok: true, fromCache: false }, 'the registry answers again')
  advance(61_000)
  answer(() => { throw failure(ErrorCode.registryUnavailable, 503) })
  t.match(await resolve(), { ok: true, stale: { ageMs: 61_000 } }, 'a fresh answer restarts the window')
})
