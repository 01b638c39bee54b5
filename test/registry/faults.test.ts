import t, { type Test } from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { deadlineIn, type Resolution } from '../../src/registry/types.js'
import { startFaultyServer, type Fault } from '../support/faulty-server.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { startResolver } from '../support/resolver-harness.js'

// The registry client against real sockets that misbehave: a faulty front (test/support/faulty-server.ts) before the
// real registry. Each case asserts the outcome and what crossed the wire, never how long it took.

async function setup (t: Test, fault: Fault, resolver: Parameters<typeof startResolver>[1]['resolver'] = {}) {
  const registry = await startRegistry({ mode: 'http', t })
  const image = buildOciIndex()
  await push(registry, image, 'team/app', 'v1')
  const faulty = await startFaultyServer({ upstream: registry, t, fault })
  const harness = startResolver(t, { registries: [{ host: faulty.host, insecure: true }], resolver })
  const reference = `${faulty.host}/team/app:v1`
  return { registry, image, faulty, harness, reference, resolve: async (ms = 10_000): Promise<Resolution> => await harness.resolver.resolveOne(reference, deadlineIn(ms)) }
}

const manifestRequests = (requests: Array<{ method: string, url: string }>): string[] =>
  requests.filter((request) => request.url.includes('/manifests/')).map((request) => request.method)

t.test('missing Docker-Content-Digest: GET fallback hashes the body', async (t) => {
  const { faulty, image, resolve, reference } = await setup(t, { kind: 'strip-digest' })
  const result = await resolve()
  t.equal(result.ok ? result.pinned : result.error.message, `${reference}@${image.digest}`)
  t.same(manifestRequests(faulty.requests()), ['HEAD', 'GET'], 'HEAD without a digest, then one GET')
})

t.test('a lying Docker-Content-Digest on the GET fallback is detected', async (t) => {
  const lie = `sha256:${'0'.repeat(64)}`
  // Two fronts: the outer one drops the digest from HEAD, the inner one lies about it on GET.
  const { faulty, resolve } = await setup(t, { kind: 'wrong-digest', digest: lie, match: (request) => request.method === 'GET' })
  const stripped = await startFaultyServer({ upstream: faulty.baseUrl, t, fault: { kind: 'strip-digest', match: (request) => request.method === 'HEAD' } })
  const harness = startResolver(t, { registries: [{ host: stripped.host, insecure: true }] })
  const result = await harness.resolver.resolveOne(`${stripped.host}/team/app:v1`, deadlineIn(10_000))
  t.equal(result.ok ? '' : result.error.code, ErrorCode.digestMismatch)
  t.match(result.ok ? '' : result.error.message, new RegExp(`Docker-Content-Digest ${lie} does not match the manifest it sent \\(sha256:[0-9a-f]{64}\\); refusing to pin`))
  t.ok(await resolve().then((r) => r.ok), 'through the first front alone (HEAD trusted, GET lies unused) it still pins')
})

t.test('manifestMethod get verifies every answer: a lying header is refused', async (t) => {
  const { resolve, faulty } = await setup(t, { kind: 'wrong-digest' }, { manifestMethod: 'get' })
  const result = await resolve()
  t.equal(result.ok ? '' : result.error.code, ErrorCode.digestMismatch)
  t.same(manifestRequests(faulty.requests()), ['GET'], 'still exactly one request')
})

t.test('429 with Retry-After, then success', async (t) => {
  const { faulty, resolve, image } = await setup(t, { kind: 'status', status: 429, retryAfter: 1, times: 1 })
  const result = await resolve()
  t.equal(result.ok ? result.digest : result.error.message, image.digest)
  t.same(manifestRequests(faulty.requests()), ['HEAD', 'HEAD'], 'one retry after the registry\'s Retry-After')
})

t.test('429 with a Retry-After longer than the deadline fails at once with the registry\'s words', async (t) => {
  const { faulty, resolve } = await setup(t, { kind: 'status', status: 429, retryAfter: 30 })
  const result = await resolve(3000)
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryRateLimited)
  t.match(result.ok ? '' : result.error.message, /answered 429 to an anonymous request; retry after 30s; retry later/)
  t.equal(manifestRequests(faulty.requests()).length, 1, 'no retry storm')
})

for (const status of [500, 502, 503]) {
  t.test(`${status} then success`, async (t) => {
    const { faulty, resolve, image } = await setup(t, { kind: 'status', status, times: 1 })
    const result = await resolve()
    t.equal(result.ok ? result.digest : result.error.message, image.digest)
    t.equal(manifestRequests(faulty.requests()).length, 2)
  })
}

t.test('a registry that keeps failing with 503 is denied as unavailable after bounded retries', async (t) => {
  const { faulty, resolve } = await setup(t, { kind: 'status', status: 503 })
  const result = await resolve()
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryUnavailable)
  t.match(result.ok ? '' : result.error.message, /answered 503 to an anonymous request; the registry is failing/)
  t.equal(manifestRequests(faulty.requests()).length, 3, 'maxAttempts = 3')
})

t.test('a server that never answers: the deadline is honoured and the error says timeout', async (t) => {
  const { resolve } = await setup(t, { kind: 'hang' })
  const result = await resolve(1500)
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryTimeout)
  t.match(result.ok ? '' : result.error.message, /registry 127\.0\.0\.1:\d+: no answer before the admission deadline/)
})

t.test('headers one byte per second run into the per-request timeout', async (t) => {
  const { resolve } = await setup(t, { kind: 'slow-headers', intervalMs: 1000 }, { perRequestTimeoutSeconds: 1, maxAttempts: 1 })
  const result = await resolve(5000)
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryTimeout)
})

t.test('a connection reset is retried, and reported when it persists', async (t) => {
  const once = await setup(t, { kind: 'reset', times: 1 })
  t.equal((await once.resolve()).ok, true, 'one reset, then success')
  const always = await setup(t, { kind: 'reset' })
  const result = await always.resolve()
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryUnreachable)
  t.match(result.ok ? '' : result.error.message, /reset|socket/i)
})

t.test('a redirect is followed; a redirect loop is refused', async (t) => {
  const { faulty, resolve, image } = await setup(t, { kind: 'none' })
  faulty.setFault({ kind: 'redirect', location: `${faulty.baseUrl}/v2/team/app/manifests/v1?hop=1`, times: 1 })
  const followed = await resolve()
  t.equal(followed.ok ? followed.digest : followed.error.message, image.digest, 'followed to the same origin')
  t.equal(faulty.faultsFired(), 1)
  faulty.setFault({ kind: 'redirect-loop' })
  const result = await resolve()
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryBadResponse)
  t.match(result.ok ? '' : result.error.message, /more than 5 redirects/)
})

t.test('a redirect to a metadata address is refused without connecting', async (t) => {
  const { faulty, resolve } = await setup(t, { kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/' })
  const result = await resolve()
  t.equal(result.ok ? '' : result.error.code, ErrorCode.blockedAddress)
  t.match(result.ok ? '' : result.error.message, /refusing to connect to 169\.254\.169\.254/)
  faulty.setFault({ kind: 'redirect', location: 'http://[::ffff:169.254.169.254]/x' })
  const mapped = await resolve()
  t.equal(mapped.ok ? '' : mapped.error.code, ErrorCode.blockedAddress, 'IPv4-mapped IPv6 too')
})

t.test('open sockets return to the pool limit after faults clear', async (t) => {
  const { faulty, resolve, harness } = await setup(t, { kind: 'hang' })
  await Promise.all([resolve(800), resolve(800)])
  faulty.setFault({ kind: 'none' })
  t.equal((await resolve()).ok, true, 'pins again once the fault clears')
  t.ok(harness.transport.openSockets <= 2, `open sockets ${harness.transport.openSockets}`)
})

t.test('sequential lookups reuse one keep-alive connection, HEAD included', async (t) => {
  const { faulty, resolve } = await setup(t, { kind: 'none' })
  const before = faulty.connections()
  for (let i = 0; i < 10; i++) t.equal((await resolve()).ok, true)
  t.equal(manifestRequests(faulty.requests()).length, 10, 'no cache: ten HEADs')
  // Measured: the first connection ends after its first exchange and one connection carries the other nine
  // (before keeping HEAD connections alive it was ten connections).
  const opened = faulty.connections() - before
  t.ok(opened <= 2, `ten lookups over ${opened} connections`)
})
