import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { deadlineIn, MediaType, type Resolution } from '../../src/registry/types.js'
import { buildDockerManifestList, buildOciImage, buildOciIndex, writeOciLayout } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry, type Registry, type RegistryMode } from '../support/registry.js'
import { registryConfigFor, startResolver } from '../support/resolver-harness.js'

// Tag → digest against Debian's docker-registry (distribution 2.8) in all three modes, with images pushed by skopeo
// (OCI image, OCI index) and by our fixture client (Docker manifest list). Request counts come from the registry's log.

const pinnedOf = (result: Resolution | undefined): string => result?.ok === true ? result.pinned : `error: ${result?.error.message ?? 'missing'}`

async function seed (registry: Registry) {
  const image = buildOciImage()
  const index = buildOciIndex()
  const list = buildDockerManifestList()
  const dir = await mkdtemp(join(tmpdir(), 'atw-layouts-'))
  const pushedImage = await push(registry, await writeOciLayout(join(dir, 'image'), image, 'v1'), 'team/app', 'v1')
  const pushedIndex = await push(registry, await writeOciLayout(join(dir, 'index'), index, 'multi'), 'team/multi', '2.0')
  const pushedList = await push(registry, list, 'library-like', 'list')
  return { image, index, list, pushedImage, pushedIndex, pushedList }
}

const modes: RegistryMode[] = ['http', 'basic', 'token']
for (const mode of modes) {
  t.test(`${mode} registry: single image, OCI index and Docker manifest list pin to the digest the registry serves`, async (t) => {
    const registry = await startRegistry({ mode, t })
    const seeded = await seed(registry)
    const credentials = registry.username === undefined || registry.password === undefined
      ? new Map()
      : new Map([[registry.host, { username: registry.username, password: registry.password, source: 'test config' }]])
    const harness = startResolver(t, { registries: [registryConfigFor(registry)], credentials })
    const refs = [`${registry.host}/team/app:v1`, `${registry.host}/team/multi:2.0`, `${registry.host}/library-like:list`]
    const results = await harness.resolver.resolveAll(refs, deadlineIn(10_000))

    const single = results.get(refs[0] ?? '')
    t.equal(pinnedOf(single), `${refs[0]}@${seeded.pushedImage.digest}`)
    t.equal(single?.ok === true ? single.mediaType : '', MediaType.ociManifest)
    t.equal(seeded.pushedImage.digest, seeded.image.digest, 'the registry serves the digest we built')
    const index = results.get(refs[1] ?? '')
    t.equal(pinnedOf(index), `${refs[1]}@${seeded.index.digest}`, 'an OCI index pins to the index digest')
    t.notOk(seeded.index.childDigests.includes(index?.ok === true ? index.digest : ''), 'never a platform child')
    t.equal(index?.ok === true ? index.mediaType : '', MediaType.ociIndex)
    const list = results.get(refs[2] ?? '')
    t.equal(pinnedOf(list), `${refs[2]}@${seeded.list.digest}`, 'a Docker manifest list pins to the list digest')
    t.equal(list?.ok === true ? list.mediaType : '', MediaType.dockerManifestList)
    t.notOk(seeded.list.childDigests.includes(list?.ok === true ? list.digest : ''), 'never the linux/amd64 child')

    // A cold lookup once the registry's challenge and token are known costs exactly one registry request.
    registry.resetRequests()
    registry.tokenServer?.resetRequests()
    const again = await harness.resolver.resolveOne(refs[0] ?? '', deadlineIn(10_000))
    t.equal(pinnedOf(again), `${refs[0]}@${seeded.image.digest}`)
    const seen = await registry.waitForRequests()
    t.same(seen.map((request) => `${request.method} ${request.path} ${request.status}`), [`HEAD /v2/team/app/manifests/v1 200`],
      'exactly one request per lookup with a cached token')
    t.equal(registry.tokenServer?.requests().length ?? 0, 0, 'the token was reused, not fetched again')

    // 50 concurrent identical lookups cost one request (single flight).
    registry.resetRequests()
    const many = await Promise.all(Array.from({ length: 50 }, async () => await harness.resolver.resolveOne(refs[1] ?? '', deadlineIn(10_000))))
    t.ok(many.every((result) => pinnedOf(result) === `${refs[1]}@${seeded.index.digest}`), '50 answers, all pinned')
    await registry.waitForRequests()
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(registry.requests().filter((request) => request.path.includes('/manifests/')).length, 1, '50 concurrent lookups, one registry request')

    // With the default burst window, identical lookups one after another also cost one request, until it has passed.
    const bursty = startResolver(t, { registries: [registryConfigFor(registry)], credentials, resolver: { burstWindowMs: 1000 } })
    await bursty.resolver.resolveOne(refs[2] ?? '', deadlineIn(10_000))
    registry.resetRequests()
    for (let round = 0; round < 3; round++) {
      t.equal(pinnedOf(await bursty.resolver.resolveOne(refs[2] ?? '', deadlineIn(10_000))), `${refs[2]}@${seeded.list.digest}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(registry.requests().length, 0, 'three lookups right after an answer: no registry request')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await bursty.resolver.resolveOne(refs[2] ?? '', deadlineIn(10_000))
    t.same((await registry.waitForRequests()).map((request) => `${request.method} ${request.path}`), ['HEAD /v2/library-like/manifests/list'],
      'once the window has passed the registry is asked again')

    const missing = await harness.resolver.resolveOne(`${registry.host}/team/app:nope`, deadlineIn(10_000))
    t.equal(missing.ok ? '' : missing.error.code, ErrorCode.registryNotFound)
    t.match(missing.ok ? '' : missing.error.message, new RegExp(`registry ${registry.host.replace('.', '\\.')} answered 404 MANIFEST_UNKNOWN`), 'the registry\'s own words')
    const noRepo = await harness.resolver.resolveOne(`${registry.host}/team/ghost:1`, deadlineIn(10_000))
    t.match(noRepo.ok ? '' : noRepo.error.message, /answered 404 (NAME_UNKNOWN|MANIFEST_UNKNOWN)/)
  })
}

t.test('basic auth: wrong or missing credentials are denied with the reason', async (t) => {
  const registry = await startRegistry({ mode: 'basic', t })
  await push(registry, buildOciImage(), 'team/app', 'v1')
  const wrong = startResolver(t, {
    registries: [registryConfigFor(registry)],
    credentials: new Map([[registry.host, { username: registry.username, password: 'wrong', source: 'secret ns/pull' }]])
  })
  const denied = await wrong.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  t.equal(denied.ok ? '' : denied.error.code, ErrorCode.registryUnauthorized)
  t.match(denied.ok ? '' : denied.error.message, /answered 401 UNAUTHORIZED .* to secret ns\/pull; check the pull credentials/)
  t.notMatch(denied.ok ? '' : denied.error.message, /wrong/, 'the password never appears')
  const anonymous = startResolver(t, { registries: [registryConfigFor(registry)] })
  const refused = await anonymous.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  t.match(refused.ok ? '' : refused.error.message, /answered 401 UNAUTHORIZED .* to an anonymous request/)
})

t.test('token auth: the token server refusing credentials is a clear denial', async (t) => {
  const registry = await startRegistry({ mode: 'token', t, tokenServer: { requireCredentials: true } })
  await push(registry, buildOciImage(), 'team/app', 'v1')
  const wrong = startResolver(t, {
    registries: [registryConfigFor(registry)],
    credentials: new Map([[registry.host, { username: registry.username, password: 'wrong', source: 'config.json /x' }]])
  })
  const denied = await wrong.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  t.equal(denied.ok ? '' : denied.error.code, ErrorCode.registryUnauthorized)
  t.match(denied.ok ? '' : denied.error.message, /token server 127\.0\.0\.1:\d+ answered 401 to config\.json \/x/)
})

t.test('token auth: tokens are cached per scope and honour expiry', async (t) => {
  const registry = await startRegistry({ mode: 'token', t, tokenServer: { expiresIn: 300 } })
  await push(registry, buildOciImage(), 'team/app', 'v1')
  await push(registry, buildOciImage(), 'team/app', 'v2')
  await push(registry, buildOciImage(), 'team/other', 'v1')
  const harness = startResolver(t, { registries: [registryConfigFor(registry)] })
  registry.tokenServer.resetRequests()
  await harness.resolver.resolveOne(`${registry.host}/team/app:v1`, deadlineIn(10_000))
  await harness.resolver.resolveOne(`${registry.host}/team/app:v2`, deadlineIn(10_000))
  t.equal(registry.tokenServer.requests().length, 1, 'one token for two tags of one repository')
  await harness.resolver.resolveOne(`${registry.host}/team/other:v1`, deadlineIn(10_000))
  t.equal(registry.tokenServer.requests().length, 2, 'another repository needs its own scope')
  t.match(registry.tokenServer.requests().at(-1), { scopes: ['repository:team/other:pull'] })
})
