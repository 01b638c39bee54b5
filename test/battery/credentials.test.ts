import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import type { RegistryConfig } from '../../src/config.js'
import { StaticCredentials, type Credential } from '../../src/registry/credentials.js'
import { templateReview } from '../support/battery-reviews.js'
import { reviewOf, startBatteryWebhook } from '../support/battery-webhook.js'
import { startFaultyServer, type FaultyServer } from '../support/faulty-server.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { createCa, issueCert } from '../support/tls.js'

// Issue 7, credential scoping: credentials configured for registry A reach only A (and a token realm on A's own origin
// or in its allowedRealmHosts), never over plain HTTP unless A is insecure, never across a redirect that leaves A,
// and never appear in a log line, a metric or a denial. "Host B" is a recording server on another address or port.
// Issue 13 §2: origins, not host names: a realm on A's host but another port is another server; and a plain-HTTP
// realm named by an HTTPS registry is not followed at all.

t.test('credentials never leave the registry they belong to', async (t) => {
  const password = `battery-secret-${randomBytes(9).toString('hex')}`
  const registry = await startRegistry({ mode: 'token', t, password, tokenServer: { requireCredentials: true } })
  const image = buildOciIndex()
  await push(registry, image, 'team/app', 'v1')
  const tokenServer = registry.tokenServer
  const realmHost = new URL(tokenServer.realm).host
  const username = registry.username
  const basic = Buffer.from(`${username}:${password}`).toString('base64')

  // One CA for every front and recording server, on 127.0.0.1, 127.0.0.2 and localhost; the bundle also trusts the
  // registry's own CA, which signed its token server.
  const ca = await createCa('atw battery credentials CA')
  const caFile = join(await mkdtemp(join(tmpdir(), 'atw-credentials-')), 'ca.crt')
  await writeFile(caFile, `${ca.certPem}\n${registry.caPem ?? ''}`)
  const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '127.0.0.2'] })
  const tls = { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem }
  const upstream = { baseUrl: registry.baseUrl, caPem: registry.caPem }
  const front = async (options: { listenHost?: string, https?: boolean } = {}): Promise<FaultyServer> =>
    await startFaultyServer({ t, upstream, ...(options.https === false ? {} : { tls }), ...(options.listenHost === undefined ? {} : { listenHost: options.listenHost }) })
  const recorder = async (listenHost: string, https = true): Promise<FaultyServer> =>
    await startFaultyServer({ t, listenHost, ...(https ? { tls } : {}), fault: { kind: 'respond', status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', headers: { 'content-type': 'application/json' } } })
  const withAuthorization = ({ headers }: { headers: Record<string, unknown> }): boolean => headers['authorization'] !== undefined

  const sameHost = await front()
  const foreignRealm = await front({ listenHost: '127.0.0.2' })
  const allowedRealm = await front({ listenHost: '127.0.0.2' })
  const redirecting = await front()
  const otherHost = await recorder('127.0.0.2')
  const otherPort = await recorder('127.0.0.1')
  const redirectingToo = await front()
  const cdnInner = await front()
  const cdnOuter = await startFaultyServer({ t, tls, upstream: { baseUrl: cdnInner.baseUrl, caPem: ca.certPem } })
  const cdn = await startFaultyServer({ t, listenHost: '127.0.0.2', tls, fault: { kind: 'respond', body: image.bytes, headers: { 'content-type': image.mediaType } } })
  const plainRealm = await recorder('127.0.0.1', false)
  plainRealm.setFault({ kind: 'respond', body: JSON.stringify({ token: 'anonymous-token' }), headers: { 'content-type': 'application/json' } })
  const plainRealmChallenger = await front()
  const httpDowngrade = await front()
  const plainTarget = await recorder('127.0.0.1', false)
  const plainMirror = await front({ https: false })
  const insecureRegistry = await startRegistry({ mode: 'token', t, tls: false, password, tokenServer: { requireCredentials: true } })
  await push(insecureRegistry, image, 'team/app', 'v1')

  redirecting.setFault({ kind: 'redirect', location: `${otherHost.baseUrl}/v2/team/app/manifests/v1`, match: withAuthorization })
  redirectingToo.setFault({ kind: 'redirect', location: `${otherPort.baseUrl}/v2/team/app/manifests/v1`, match: withAuthorization })
  cdnInner.setFault({ kind: 'strip-digest', match: ({ method }) => method === 'HEAD' })
  cdnOuter.setFault({ kind: 'redirect', location: `https://127.0.0.2:${cdn.port}/blobs/cdn-object?signature=x`, match: ({ method, headers }) => method === 'GET' && headers['authorization'] !== undefined })
  plainRealmChallenger.setFault({ kind: 'respond', status: 401, body: '{}', headers: { 'www-authenticate': `Bearer realm="${plainRealm.baseUrl}/token",service="battery"` } })
  httpDowngrade.setFault({ kind: 'redirect', location: `${plainTarget.baseUrl}/v2/team/app/manifests/v1`, match: withAuthorization })

  const mirrored = 'corp.example'
  const registries: Array<Partial<RegistryConfig> & { host: string }> = [
    { host: sameHost.host, caFile },
    { host: foreignRealm.host, caFile },
    { host: allowedRealm.host, caFile, allowedRealmHosts: [realmHost] },
    { host: redirecting.host, caFile, allowedRealmHosts: [realmHost] },
    { host: redirectingToo.host, caFile, allowedRealmHosts: [realmHost] },
    { host: cdnOuter.host, caFile, allowedRealmHosts: [realmHost] },
    { host: plainRealmChallenger.host, caFile },
    { host: httpDowngrade.host, caFile, allowedRealmHosts: [realmHost] },
    // The mirror speaks plain HTTP but the registry is not marked insecure.
    { host: mirrored, mirror: plainMirror.baseUrl, ...(registry.caFile === undefined ? {} : { caFile: registry.caFile }) },
    { host: insecureRegistry.host, insecure: true, allowedRealmHosts: [new URL(insecureRegistry.tokenServer.realm).host] }
  ]
  const secret = (source: string): Credential => ({ username, password, source })
  const credentials = new StaticCredentials(new Map(registries.map((r) => [r.host, secret(`battery config for ${r.host}`)])))
  const webhook = await startBatteryWebhook(t, { registries, credentials, resolver: { maxAttempts: 1 } })

  const answers: AdmissionReviewResponse[] = []
  const admit = async (host: string): Promise<AdmissionReviewResponse['response']> => {
    tokenServer.resetRequests()
    insecureRegistry.tokenServer.resetRequests()
    const review = reviewOf(await webhook.admit(templateReview(`credentials-${answers.length}`, [`${host}/team/app:v1`])))
    if (review === undefined) throw new Error(`no AdmissionReview for ${host}`)
    answers.push(review)
    return review.response
  }
  const tokenUsers = (): Array<string | null> => tokenServer.requests().map((request) => request.username)
  const authorizationAt = (server: FaultyServer): string[] => server.requestsWithHeaders().flatMap((request) => {
    const value = request.headers['authorization']
    return value === undefined ? [] : [String(value)]
  })
  const figures: string[] = []
  const tally = (name: string, ok: boolean): void => { figures.push(`${ok ? 'held' : 'FAILED'}: ${name}`) }

  await t.test('issue 13: a realm on the registry\'s own host but another port does not receive the credentials', async (t) => {
    const response = await admit(sameHost.host)
    t.equal(response.allowed, false)
    t.same(tokenUsers().filter((user) => user !== null), [], `the realm ${realmHost} was asked anonymously only`)
    t.match(response.status?.message, new RegExp(`the credentials for ${sameHost.host} were not sent: ${realmHost} is not ${sameHost.host}'s origin`), 'the denial says why')
    tally('same host, other port: credentials withheld', tokenUsers().every((user) => user === null))
  })

  await t.test('a foreign realm never receives the credentials', async (t) => {
    const response = await admit(foreignRealm.host)
    t.equal(response.allowed, false)
    t.same(tokenUsers().filter((user) => user !== null), [], `the realm ${realmHost} was asked anonymously only`)
    t.match(response.status?.message, new RegExp(`token server ${realmHost} answered 401 to an anonymous request \\(the credentials for ${foreignRealm.host} ` +
      `were not sent: ${realmHost} is not ${foreignRealm.host}'s origin \\(${foreignRealm.host}\\); list it in allowedRealmHosts if it belongs to this registry\\)`), 'the denial says why')
    tally('foreign realm: credentials withheld', tokenUsers().every((user) => user === null))
  })

  await t.test('an explicitly allowed realm receives them', async (t) => {
    const response = await admit(allowedRealm.host)
    t.equal(response.allowed && response.patch !== undefined, true, `pinned through allowedRealmHosts (${response.status?.message ?? 'ok'})`)
    tally('allowedRealmHosts: credentials sent', response.allowed)
  })

  await t.test('a redirect to another host or port never carries them', async (t) => {
    for (const [name, server, target] of [['another host', redirecting, otherHost], ['another port', redirectingToo, otherPort]] as const) {
      await admit(server.host)
      t.ok(authorizationAt(server).length > 0, `${name}: the registry itself got the authorized request`)
      t.ok(target.requests().length > 0, `${name}: the redirect was followed to ${target.host}`)
      t.same(authorizationAt(target), [], `${name}: ${target.host} never saw an Authorization header`)
      tally(`redirect to ${name}: Authorization dropped`, authorizationAt(target).length === 0)
    }
  })

  await t.test('a CDN host serving the manifest never receives them', async (t) => {
    const response = await admit(cdnOuter.host)
    t.equal(response.allowed && response.patch !== undefined, true, `pinned from the CDN's bytes (${response.status?.message ?? 'ok'})`)
    t.ok(cdn.requests().length > 0, 'the GET was redirected to the CDN')
    t.same(authorizationAt(cdn), [], 'the CDN never saw an Authorization header')
    tally('CDN host: Authorization dropped', authorizationAt(cdn).length === 0)
  })

  await t.test('never over plain HTTP unless the registry is insecure', async (t) => {
    const plain = await admit(plainRealmChallenger.host)
    t.equal(plain.allowed, false)
    t.match(plain.status?.message, /named a plain-HTTP token realm http:\/\/127\.0\.0\.1:\d+; refused: only HTTPS realms are followed unless the registry is marked insecure/)
    t.same(plainRealm.requests(), [], 'issue 13: a plain-HTTP realm of an HTTPS registry is not asked at all, so its answer never becomes our Bearer token')

    const downgraded = await admit(httpDowngrade.host)
    t.equal(downgraded.allowed, false)
    t.match(downgraded.status?.message, /redirect to http:\/\/127\.0\.0\.1:\d+ refused: only HTTPS is allowed/)
    t.same(plainTarget.requests(), [], 'a redirect from HTTPS to HTTP is not followed at all')

    const viaMirror = await admit(mirrored)
    t.ok(plainMirror.requests().length > 0, 'the plain-HTTP mirror was asked')
    t.match(viaMirror.status?.message, new RegExp(`\\(the credentials for ${mirrored} were not sent: ${plainMirror.baseUrl} is plain HTTP and ${mirrored} is not marked insecure\\)`))
    t.same(tokenUsers().filter((user) => user !== null), [], 'no token was fetched with the credentials for a plain-HTTP mirror')
    t.same(authorizationAt(plainMirror), [], 'no credential and no token bought with one in clear to the mirror of a registry not marked insecure')

    const insecure = await admit(insecureRegistry.host)
    t.equal(insecure.allowed && insecure.patch !== undefined, true, `an insecure registry gets its credentials over HTTP (${insecure.status?.message ?? 'ok'})`)
    t.ok(insecureRegistry.tokenServer.requests().some((request) => request.username === username), 'its realm saw the user')
    tally('plain HTTP only to the insecure registry', authorizationAt(plainRealm).length === 0 && authorizationAt(plainMirror).length === 0 &&
      plainTarget.requests().length === 0 && insecure.allowed)
  })

  await t.test('no log line, metric or denial contains a credential', async (t) => {
    const haystacks: Array<[string, string]> = [
      ['logs', webhook.logs.text()],
      ['/metrics', await webhook.metricsText()],
      ['admission answers', JSON.stringify(answers)]
    ]
    for (const [name, text] of haystacks) {
      t.notOk(text.includes(password), `${name}: no password`)
      t.notOk(text.includes(basic), `${name}: no base64 user:password`)
      t.notOk(/\bBasic [A-Za-z0-9+/=]{8,}|\bBearer [A-Za-z0-9._-]{8,}/.test(text), `${name}: no Authorization value`)
    }
    t.ok(webhook.logs.lines.some((line) => line['msg'] === 'admission'), 'the logs were captured')
    t.comment(`credentials: ${answers.length} admissions; ${figures.join('; ')}; secret found in ${haystacks.map(([, text]) => text.length).reduce((a, b) => a + b, 0)} bytes of logs, metrics and answers: 0 times`)
  })
})
