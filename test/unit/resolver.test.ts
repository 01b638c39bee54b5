import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import type { Endpoint } from '../../src/registry/endpoint.js'
import type { ManifestDigest } from '../../src/registry/manifest-client.js'
import { RegistryResolver, type LookupEvent } from '../../src/registry/resolver.js'
import { deadlineIn } from '../../src/registry/types.js'

// The resolver's policy (dedupe, retries, cooldown, cache) over a scripted manifest client; the real client is
// exercised against the real registry in test/registry.

const digestA = `sha256:${'a'.repeat(64)}`
type Script = (endpoint: Endpoint, repository: string, tag: string) => Promise<ManifestDigest>

function resolverWith (script: Script, settings: Record<string, unknown> = {}) {
  const calls: string[] = []
  const events: LookupEvent[] = []
  const config = loadConfig({}, {})
  const resolver = new RegistryResolver({
    config: { registries: config.registries, resolver: { ...config.resolver, retryBaseDelayMs: 1, ...settings } },
    manifests: {
      lookup: async (endpoint, repository, tag) => {
        calls.push(`${endpoint.baseUrl.host}/${repository}:${tag}`)
        return await script(endpoint, repository, tag)
      }
    },
    onLookup: (event) => events.push(event),
    random: () => 0.5
  })
  return { resolver, calls, events }
}

const found = (digest = digestA): ManifestDigest => ({ digest, mediaType: 'application/vnd.oci.image.index.v1+json', requests: 1, credentialSource: 'anonymous' })
const failure = (code: ErrorCode, extra: Partial<ConstructorParameters<typeof RegistryError>[2]> = {}): RegistryError =>
  new RegistryError(code, `failed with ${code}`, { registry: 'r.example', repository: 'app', reference: '1', ...extra })

t.test('pins in the user\'s spelling and looks Docker Hub up under library/', async (t) => {
  const { resolver, calls } = resolverWith(async () => found())
  const results = await resolver.resolveAll(['nginx', 'r.example/team/app:1.4', 'nginx'], deadlineIn(5000))
  t.same(results.get('nginx'), { ok: true, original: 'nginx', pinned: `nginx:latest@${digestA}`, digest: digestA, mediaType: 'application/vnd.oci.image.index.v1+json', fromCache: false })
  const app = results.get('r.example/team/app:1.4')
  t.equal(app?.ok === true ? app.pinned : undefined, `r.example/team/app:1.4@${digestA}`)
  t.same(calls.sort(), ['r.example/team/app:1.4', 'registry-1.docker.io/library/nginx:latest'], 'duplicates in a batch are asked once')
})

t.test('already pinned references never reach the registry', async (t) => {
  const { resolver, calls } = resolverWith(async () => found())
  const reference = `registry.k8s.io/pause:3.10.2@${digestA}`
  const result = await resolver.resolveOne(reference, deadlineIn(1000))
  t.same(result, { ok: true, original: reference, pinned: reference, digest: digestA, mediaType: 'unknown', fromCache: true })
  t.same(calls, [])
})

t.test('malformed references are typed errors, not throws', async (t) => {
  const { resolver, calls } = resolverWith(async () => found())
  const result = await resolver.resolveOne('Registry.example/App:1', deadlineIn(1000))
  t.equal(result.ok, false)
  t.match(result.ok ? '' : result.error.message, /must be lowercase/)
  t.same(calls, [])
})

t.test('concurrent identical lookups share one call (single flight)', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const { resolver, calls } = resolverWith(async () => { await gate; return found() })
  const pending = Array.from({ length: 50 }, async () => await resolver.resolveOne('r.example/app:1', deadlineIn(5000)))
  await new Promise((resolve) => setImmediate(resolve))
  release()
  const results = await Promise.all(pending)
  t.equal(calls.length, 1, '50 concurrent lookups, one call')
  t.ok(results.every((result) => result.ok), 'all pinned')
})

t.test('transient failures are retried within the attempt budget; answers are not', async (t) => {
  let attempts = 0
  const flaky = resolverWith(async () => { attempts++; if (attempts < 3) throw failure(ErrorCode.registryUnavailable, { status: 503 }); return found() })
  t.equal((await flaky.resolver.resolveOne('r.example/app:1', deadlineIn(5000))).ok, true, '503, 503, then success')
  t.equal(flaky.calls.length, 3)

  const missing = resolverWith(async () => { throw failure(ErrorCode.registryNotFound, { status: 404, ociCode: 'MANIFEST_UNKNOWN' }) })
  const result = await missing.resolver.resolveOne('r.example/app:1', deadlineIn(5000))
  t.equal(missing.calls.length, 1, '404 is an answer, never retried')
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryNotFound)
  t.equal(missing.events[0]?.outcome, ErrorCode.registryNotFound, 'the failure is reported to metrics')

  const down = resolverWith(async () => { throw failure(ErrorCode.registryUnreachable) })
  await down.resolver.resolveOne('r.example/app:1', deadlineIn(5000))
  t.equal(down.calls.length, 3, 'gives up after maxAttempts')
})

t.test('Retry-After beyond the deadline fails at once, and the registry is not asked again before it', async (t) => {
  const { resolver, calls } = resolverWith(async () => { throw failure(ErrorCode.registryRateLimited, { status: 429, retryAfterSeconds: 30 }) })
  const first = await resolver.resolveOne('r.example/app:1', deadlineIn(2000))
  t.equal(first.ok ? '' : first.error.code, ErrorCode.registryRateLimited)
  const second = await resolver.resolveOne('r.example/other:2', deadlineIn(2000))
  t.equal(calls.length, 1, 'no request during the cooldown, even for another repository')
  t.match(second.ok ? '' : second.error.message, /rate limiting us \(429 TOOMANYREQUESTS\); not asking again for (29|30)s/)
  t.match(second.ok ? '' : second.error.message, /r\.example\/other:2/, 'the error names this lookup')
})

t.test('the digest cache answers without a call until its TTL passes', async (t) => {
  const { resolver, calls, events } = resolverWith(async () => found(), { cacheTtlSeconds: 60 })
  await resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  const second = await resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  t.equal(calls.length, 1)
  t.equal(second.ok && second.fromCache, true)
  t.same(events.map((event) => event.outcome), ['pinned', 'cached'])
})

t.test('with no cache, an answer is reused only within the burst window (1 s by default), then asked again', async (t) => {
  let clock = 1_000_000
  const calls: string[] = []
  const events: LookupEvent[] = []
  const config = loadConfig({}, {})
  t.same([config.resolver.cacheTtlSeconds, config.resolver.burstWindowMs], [0, 1000], 'the defaults')
  const resolver = new RegistryResolver({
    config: { registries: config.registries, resolver: config.resolver },
    manifests: { lookup: async (_endpoint, repository, tag) => { calls.push(`${repository}:${tag}`); return found() } },
    onLookup: (event) => events.push(event),
    now: () => clock
  })
  const first = await resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  clock += 999
  const withinBurst = await resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  clock += 2
  const after = await resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  t.same([first, withinBurst, after].map((result) => result.ok && result.fromCache), [false, true, false])
  t.equal(calls.length, 2, 'asked at the start and again once the window had passed')
  t.same(events.map((event) => event.outcome), ['pinned', 'cached', 'pinned'], 'a reused answer is reported as cached')

  const { resolver: strict, calls: strictCalls } = resolverWith(async () => found(), { burstWindowMs: 0 })
  await strict.resolveOne('r.example/app:1', deadlineIn(1000))
  await strict.resolveOne('r.example/app:1', deadlineIn(1000))
  t.equal(strictCalls.length, 2, 'burstWindowMs: 0 asks every time')

  const failing = resolverWith(async () => { throw failure(ErrorCode.registryNotFound) })
  await failing.resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  await failing.resolver.resolveOne('r.example/app:1', deadlineIn(1000))
  t.equal(failing.calls.length, 2, 'failures are never reused')
})

t.test('cached answers stay right for many distinct references and when a tag moves', async (t) => {
  let digest = digestA
  const { resolver, calls } = resolverWith(async () => found(digest), { cacheTtlSeconds: 3600 })
  // More references than the resolver remembers parsed (1024): the oldest are forgotten and parsed again.
  const references = Array.from({ length: 1100 }, (_, index) => `r.example/team/app-${index}:1`)
  for (const reference of references) await resolver.resolveOne(reference, deadlineIn(5000))
  const again = await resolver.resolveOne('r.example/team/app-0:1', deadlineIn(5000))
  t.same(again, { ok: true, original: 'r.example/team/app-0:1', pinned: `r.example/team/app-0:1@${digestA}`, digest: digestA, mediaType: 'application/vnd.oci.image.index.v1+json', fromCache: true })
  t.equal(calls.length, 1100, 'each reference asked once; the forgotten parse did not forget the digest')
  const spelled = await resolver.resolveOne('r.example/team/app-1099', deadlineIn(5000))
  t.equal(spelled.ok ? spelled.pinned : '', `r.example/team/app-1099:latest@${digestA}`, 'another spelling is its own lookup, pinned in its own spelling')
  const uncached = resolverWith(async () => found(digest), { burstWindowMs: 0 })
  const before = await uncached.resolver.resolveOne('r.example/team/app-0:1', deadlineIn(5000))
  digest = `sha256:${'b'.repeat(64)}`
  const moved = await uncached.resolver.resolveOne('r.example/team/app-0:1', deadlineIn(5000))
  t.equal(before.ok ? before.pinned : '', `r.example/team/app-0:1@${digestA}`)
  t.equal(moved.ok ? moved.pinned : '', `r.example/team/app-0:1@${digest}`, 'a tag that moved gives the new pinned spelling')
})
