import t, { type Test } from 'tap'
import { ErrorCode, RegistryError } from '../../src/errors.js'
import { deadlineIn, type Resolution } from '../../src/registry/types.js'
import { startHostileRegistry, type HostileRegistryOptions } from '../support/hostile-registry.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 13 §1, bullet 4: what we read from a registry or token server is capped (manifests 4 MiB, token responses
// 64 KiB, error bodies 64 KiB). Over the cap: a typed error with the facts, nothing kept, and the connection closed:
// the hostile server offers 1 GiB and manages to hand the kernel only what fits in socket buffers.

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024

async function resolveAgainst (t: Test, options: HostileRegistryOptions): Promise<{ result: Resolution, written: number, bearerRequests: number }> {
  const registry = await startHostileRegistry(t, options)
  const harness = startResolver(t, { registries: [{ host: registry.host, insecure: true, allowedRealmHosts: [] }], resolver: { maxAttempts: 1 } })
  const result = await harness.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(20_000))
  // Let the server notice the closed socket before reading its count.
  await new Promise((resolve) => setTimeout(resolve, 200))
  return { result, written: registry.largeBodyBytesWritten(), bearerRequests: registry.authorizations.manifest.filter((value) => value === 'Bearer').length }
}

const errorOf = (result: Resolution): RegistryError | undefined => result.ok || !(result.error instanceof RegistryError) ? undefined : result.error

t.test('issue 13: a 1 GiB manifest (chunked) is cut off at 4 MiB with REGISTRY_RESPONSE_TOO_LARGE', async (t) => {
  const { result, written } = await resolveAgainst(t, { stripDigest: true, manifestBytes: GiB })
  const error = errorOf(result)
  t.equal(error?.code, ErrorCode.registryResponseTooLarge)
  t.match(error, { registry: /^127\.0\.0\.1:\d+$/, repository: 'team/app', reference: 'v1', status: 200 }, 'the error names registry, repository, tag and status')
  t.match(error?.message, /the response body exceeds 4194304 bytes; stopped reading and closed the connection/)
  t.ok(written < 64 * MiB, `the server got ${(written / MiB).toFixed(1)} MiB of its 1024 MiB out before the connection closed`)
  t.comment(`manifest 1 GiB chunked: ${error?.code ?? 'pinned'}; server wrote ${(written / MiB).toFixed(1)} MiB of 1024 MiB`)
})

t.test('issue 13: a manifest whose Content-Length is over 4 MiB is refused unread', async (t) => {
  const { result, written } = await resolveAgainst(t, { stripDigest: true, manifestBytes: GiB, contentLength: true })
  const error = errorOf(result)
  t.equal(error?.code, ErrorCode.registryResponseTooLarge)
  t.match(error?.message, /the response body is 1073741824 bytes, over the 4194304-byte limit; not read, connection closed/)
  t.comment(`manifest Content-Length 1 GiB: ${error?.code ?? 'pinned'}; server wrote ${(written / MiB).toFixed(1)} MiB of 1024 MiB`)
})

t.test('issue 13: a 4 MiB token response is refused and never used', async (t) => {
  const { result, bearerRequests } = await resolveAgainst(t, { auth: 'bearer', tokenBytes: 4 * MiB - 4096 })
  const error = errorOf(result)
  t.equal(error?.code, ErrorCode.registryResponseTooLarge)
  t.match(error?.message, /token server 127\.0\.0\.1:\d+: the response body is \d+ bytes, over the 65536-byte limit/)
  t.equal(bearerRequests, 0, 'no token reached the registry')
  t.comment(`token response 4 MiB: ${error?.code ?? 'pinned'}; Bearer requests to the registry: ${bearerRequests}`)
})

t.test('issue 13: a 1 GiB error body is dropped at 64 KiB; the status is the answer', async (t) => {
  const { result, written } = await resolveAgainst(t, { errorBodyBytes: GiB })
  const error = errorOf(result)
  t.equal(error?.code, ErrorCode.registryNotFound)
  t.match(error?.message, /answered 404 to an anonymous request; its error body was over 65536 bytes and was not read/)
  t.equal(error?.ociMessage, undefined, 'nothing of the body kept')
  t.ok(written < 64 * MiB, `the server got ${(written / MiB).toFixed(1)} MiB of its 1024 MiB out`)
  t.comment(`error body 1 GiB: ${error?.code ?? 'pinned'}; server wrote ${(written / MiB).toFixed(1)} MiB of 1024 MiB`)
})

t.test('issue 13: a long OCI error message is truncated for the denial', async (t) => {
  const { result } = await resolveAgainst(t, { errorBodyBytes: 20_000, contentLength: true })
  const error = errorOf(result)
  t.equal(error?.code, ErrorCode.registryNotFound)
  t.ok((error?.ociMessage?.length ?? 0) < 600, `the message kept is ${error?.ociMessage?.length ?? 0} characters`)
})
