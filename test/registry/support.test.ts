/**
 * Proves the registry fixtures are real: a docker-registry process in each auth mode that serves the
 * locally computed top-level digest for OCI images, OCI indexes and Docker manifest lists, enforces
 * Basic and token auth, logs every request it answers, and survives stop/restart with its storage.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import {
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  buildDockerManifestList,
  buildOciImage,
  buildOciIndex,
  sha256Digest,
  writeOciLayout,
  type BuiltImage
} from '../support/oci-layout.js'
import { pushImage, pushLayout } from '../support/push.js'
import { startRegistry, type Registry, type RegistryMode, type TokenRegistry } from '../support/registry.js'

t.setTimeout(120_000)

interface Pushed {
  repo: string
  tag: string
  image: BuiltImage
}

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

function agentFor(reg: Registry): Agent {
  return new Agent({ connect: reg.caPem === undefined ? {} : { ca: reg.caPem } })
}

async function head(
  reg: Registry,
  agent: Dispatcher,
  repo: string,
  tag: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; digest: string | undefined; contentType: string | undefined; challenge: string | undefined }> {
  const res = await request(`${reg.baseUrl}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    dispatcher: agent,
    headers: { accept: MANIFEST_ACCEPT, ...headers }
  })
  await res.body.dump()
  const one = (name: string): string | undefined => {
    const v = res.headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  return {
    status: res.statusCode,
    digest: one('docker-content-digest'),
    contentType: one('content-type'),
    challenge: one('www-authenticate')
  }
}

async function fetchToken(reg: TokenRegistry, agent: Dispatcher, scope: string, auth?: string): Promise<{ status: number; token?: string }> {
  const url = new URL(reg.tokenServer.realm)
  url.searchParams.set('service', reg.service)
  url.searchParams.set('scope', scope)
  const res = await request(url, { dispatcher: agent, headers: auth === undefined ? {} : { authorization: auth } })
  if (res.statusCode !== 200) {
    await res.body.dump()
    return { status: res.statusCode }
  }
  const body = await res.body.json() as { token: string; access_token: string; expires_in: number; issued_at: string }
  return { status: 200, token: body.access_token }
}

async function pushAllKinds(t: Test, reg: Registry): Promise<Pushed[]> {
  // Inside the registry's temp dir, so the registry's cleanup (even the exit hook) removes it.
  const dir = join(reg.dir, 'layouts')
  const single = await writeOciLayout(join(dir, 'single'), buildOciImage())
  const index = await writeOciLayout(join(dir, 'index'), buildOciIndex())
  const list = buildDockerManifestList()

  const pushedSingle = await pushLayout(reg, single, 'team/single', 'v1')
  t.equal(pushedSingle.digest, single.digest, 'OCI manifest pushed with its local digest')
  const pushedIndex = await pushLayout(reg, index, 'team/multi', 'v1')
  t.equal(pushedIndex.digest, index.digest, 'OCI index pushed with its local digest')
  t.equal(index.childDigests.length, 2)
  const pushedList = await pushImage(reg, list, 'team/list', 'v1')
  t.equal(pushedList.digest, list.digest, 'Docker manifest list pushed with its local digest')
  t.equal(pushedList.pinned, `${reg.host}/team/list@${list.digest}`)
  t.comment(`push times: oci manifest ${pushedSingle.durationMs} ms, oci index ${pushedIndex.durationMs} ms, docker list ${pushedList.durationMs} ms`)
  return [
    { repo: 'team/single', tag: 'v1', image: single },
    { repo: 'team/multi', tag: 'v1', image: index },
    { repo: 'team/list', tag: 'v1', image: list }
  ]
}

t.test('local digests are sha256 over the exact manifest bytes', async (t) => {
  for (const image of [buildOciImage(), buildOciIndex(), buildDockerManifestList()]) {
    t.equal(image.digest, sha256Digest(image.bytes))
    t.match(image.digest, /^sha256:[a-f0-9]{64}$/)
    t.equal(JSON.parse(image.bytes.toString()).mediaType, image.mediaType)
  }
  t.not(buildOciImage().digest, buildOciImage().digest, 'random layers give fresh digests')
  const index = buildOciIndex()
  const manifests = (JSON.parse(index.bytes.toString()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> }).manifests
  t.same(manifests.map((m) => m.platform.architecture), ['amd64', 'arm64'])
  t.same(manifests.map((m) => m.digest), index.childDigests)
})

for (const mode of ['http', 'basic', 'token'] as const satisfies readonly RegistryMode[]) {
  t.test(`${mode} registry`, async (t) => {
    const started = Date.now()
    const reg = await startRegistry({ mode, t })
    t.comment(`${mode} registry ready in ${Date.now() - started} ms at ${reg.baseUrl}`)
    t.match(reg.host, /^127\.0\.0\.1:\d+$/)
    t.equal(reg.baseUrl, `${mode === 'http' ? 'http' : 'https'}://${reg.host}`)
    t.ok(reg.pid(), 'process running')
    const agent = agentFor(reg)
    t.teardown(() => agent.close())

    const pushed = await pushAllKinds(t, reg)

    // What each test needs to send to get past the registry's auth.
    let authorize: (repo: string) => Promise<Record<string, string>> = () => Promise.resolve({})
    if (mode === 'basic') {
      const auth = basicAuth(reg.username ?? '', reg.password ?? '')
      authorize = () => Promise.resolve({ authorization: auth })
    } else if (mode === 'token') {
      const tokenReg = reg as TokenRegistry
      const auth = basicAuth(tokenReg.username, tokenReg.password)
      authorize = async (repo) => {
        const { token } = await fetchToken(tokenReg, agent, `repository:${repo}:pull`, auth)
        return { authorization: `Bearer ${token ?? ''}` }
      }
    }

    t.test('HEAD with the four manifest types returns the top-level digest', async (t) => {
      for (const p of pushed) {
        const res = await head(reg, agent, p.repo, p.tag, await authorize(p.repo))
        t.equal(res.status, 200, `${p.image.kind} found`)
        t.equal(res.digest, p.image.digest, `${p.image.kind}: Docker-Content-Digest is the top-level digest`)
        t.equal(res.contentType, p.image.mediaType)
        for (const child of p.image.childDigests) t.not(res.digest, child)
      }
    })

    t.test('requests() counts what the registry received', async (t) => {
      const p = pushed[1]
      if (p === undefined) throw new Error('nothing pushed')
      const headers = await authorize(p.repo)
      reg.resetRequests()
      t.same(reg.requests(), [], 'reset')
      await head(reg, agent, p.repo, p.tag, headers)
      await head(reg, agent, p.repo, 'no-such-tag', headers)
      const seen = await reg.waitForRequests((r) => r.length >= 2)
      t.same(seen.map((r) => [r.method, r.path, r.status]), [
        ['HEAD', `/v2/${p.repo}/manifests/${p.tag}`, 200],
        ['HEAD', `/v2/${p.repo}/manifests/no-such-tag`, 404]
      ])
    })

    if (mode === 'http') {
      t.test('the registry behaves as spec-checklist §C says without list types in Accept', async (t) => {
        const [, index, list] = pushed
        if (index === undefined || list === undefined) throw new Error('nothing pushed')
        const single = { accept: `${MEDIA_TYPES.ociManifest}, ${MEDIA_TYPES.dockerManifest}` }
        const indexRes = await head(reg, agent, index.repo, index.tag, single)
        t.equal(indexRes.status, 404, 'OCI index refused')
        const listRes = await head(reg, agent, list.repo, list.tag, single)
        t.equal(listRes.status, 200)
        t.equal(listRes.digest, list.image.childDigests[0], 'Docker list rewritten to its linux/amd64 child')
      })
    }

    if (mode === 'basic') {
      t.test('basic auth is enforced', async (t) => {
        reg.resetRequests()
        const anonymous = await head(reg, agent, 'team/single', 'v1')
        t.equal(anonymous.status, 401)
        t.match(anonymous.challenge, /^Basic realm=/i)
        const wrong = await head(reg, agent, 'team/single', 'v1', { authorization: basicAuth(reg.username ?? '', 'wrong') })
        t.equal(wrong.status, 401)
        const seen = await reg.waitForRequests((r) => r.length >= 2)
        t.same(seen.map((r) => r.status), [401, 401], 'rejected requests are counted too')
      })
    }

    if (mode === 'token') {
      const tokenReg = reg as TokenRegistry
      t.test('token auth is enforced and the token server counts its requests', async (t) => {
        const ts = tokenReg.tokenServer
        const anonymous = await head(reg, agent, 'team/single', 'v1')
        t.equal(anonymous.status, 401)
        t.match(anonymous.challenge, new RegExp(`^Bearer realm="${ts.realm}",service="${tokenReg.service}",scope="repository:team/single:pull"`))

        ts.resetRequests()
        const anon = await fetchToken(tokenReg, agent, 'repository:team/single:pull')
        t.equal(anon.status, 200, 'anonymous pull token')
        const withToken = await head(reg, agent, 'team/single', 'v1', { authorization: `Bearer ${anon.token ?? ''}` })
        t.equal(withToken.status, 200, 'token lets the HEAD through')
        t.equal(withToken.digest, pushed[0]?.image.digest)
        const otherRepo = await head(reg, agent, 'team/multi', 'v1', { authorization: `Bearer ${anon.token ?? ''}` })
        t.equal(otherRepo.status, 401, 'a token for one repository does not open another')

        const wrong = await fetchToken(tokenReg, agent, 'repository:team/single:pull', basicAuth(tokenReg.username, 'nope'))
        t.equal(wrong.status, 401, 'wrong credentials refused by the token server')
        t.same(ts.requests().map((r) => [r.status, r.username, r.scopes]), [
          [200, null, ['repository:team/single:pull']],
          [401, tokenReg.username, ['repository:team/single:pull']]
        ])

        const expired = await ts.issueToken({
          service: tokenReg.service,
          access: [{ type: 'repository', name: 'team/single', actions: ['pull'] }],
          expiresIn: -300
        })
        t.equal((await head(reg, agent, 'team/single', 'v1', { authorization: `Bearer ${expired}` })).status, 401, 'expired token refused')

        ts.configure({ denyRepositories: ['team/single'] })
        t.teardown(() => { ts.configure({ denyRepositories: [] }) })
        const denied = await fetchToken(tokenReg, agent, 'repository:team/single:pull', basicAuth(tokenReg.username, tokenReg.password))
        t.equal(denied.status, 200, 'denied repositories still get a token...')
        t.equal((await head(reg, agent, 'team/single', 'v1', { authorization: `Bearer ${denied.token ?? ''}` })).status, 401, '...without access')
        ts.configure({ denyWith: 403 })
        t.equal((await fetchToken(tokenReg, agent, 'repository:team/single:pull')).status, 403, 'or a 403 when configured')
        ts.configure({ denyRepositories: [], denyWith: 'empty-access' })

        ts.configure({ requireCredentials: true })
        t.equal((await fetchToken(tokenReg, agent, 'repository:team/single:pull')).status, 401, 'requireCredentials')
        ts.configure({ requireCredentials: false })
      })
    }

    t.test('restart() keeps port and storage', async (t) => {
      const p = pushed[2]
      if (p === undefined) throw new Error('nothing pushed')
      const pid = reg.pid()
      await reg.stop()
      t.equal(reg.pid(), undefined, 'stopped')
      await t.rejects(head(reg, agent, p.repo, p.tag), { code: 'ECONNREFUSED' }, 'registry down')
      const restarted = Date.now()
      await reg.restart()
      t.comment(`restart took ${Date.now() - restarted} ms`)
      t.not(reg.pid(), pid, 'a new process')
      reg.resetRequests()
      const res = await head(reg, agent, p.repo, p.tag, await authorize(p.repo))
      t.equal(res.status, 200, 'back up on the same port')
      t.equal(res.digest, p.image.digest, 'same content')
      t.equal((await reg.waitForRequests()).length, 1)
    })
  })
}

t.test('close() ends the process and removes the temp dir', async (t) => {
  const reg = await startRegistry({ mode: 'token' })
  const pid = reg.pid()
  t.ok(pid)
  await reg.close()
  await reg.close()
  t.equal(reg.pid(), undefined)
  t.notOk(existsSync(reg.dir), 'temp dir removed')
  t.throws(() => process.kill(pid ?? 0, 0), { code: 'ESRCH' }, 'process gone')
  const agent = new Agent()
  t.teardown(() => agent.close())
  await t.rejects(request(reg.tokenServer.realm, { dispatcher: agent }), { code: 'ECONNREFUSED' }, 'token server closed')
})
