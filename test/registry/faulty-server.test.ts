/**
 * Proves each fault of test/support/faulty-server.ts does what it says, on real sockets, in front of
 * a real registry — so client tests can trust that a timeout or ECONNRESET they see is the fault's.
 */
import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { startFaultyServer, type FaultyServer } from '../support/faulty-server.js'
import { MANIFEST_ACCEPT, buildOciIndex, sha256Digest } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'

t.setTimeout(60_000)

const REPO = 'faults/app'
const TAG = 'v1'
const MANIFEST_PATH = `/v2/${REPO}/manifests/${TAG}`

const reg = await startRegistry({ mode: 'http', t })
const image = buildOciIndex()
await pushImage(reg, image, REPO, TAG)

interface Result {
  status: number
  headers: Dispatcher.ResponseData['headers']
  body: Buffer
}

async function call(
  faulty: FaultyServer,
  opts: { method?: 'GET' | 'HEAD'; path?: string; dispatcher?: Dispatcher; headersTimeout?: number; bodyTimeout?: number } = {}
): Promise<Result> {
  const res = await request(`${faulty.baseUrl}${opts.path ?? MANIFEST_PATH}`, {
    method: opts.method ?? 'HEAD',
    headers: { accept: MANIFEST_ACCEPT },
    ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
    ...(opts.headersTimeout === undefined ? {} : { headersTimeout: opts.headersTimeout }),
    ...(opts.bodyTimeout === undefined ? {} : { bodyTimeout: opts.bodyTimeout })
  })
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
}

/** A fresh pool per test, so one test's broken connection can't leak into the next. */
function agent(t: Test, caPem?: string): Agent {
  const a = new Agent(caPem === undefined ? {} : { connect: { ca: caPem } })
  t.teardown(() => a.destroy())
  return a
}

t.test('no fault: a transparent proxy', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t })
  reg.resetRequests()
  const res = await call(faulty, { dispatcher: agent(t) })
  t.equal(res.status, 200)
  t.equal(res.headers['docker-content-digest'], image.digest)
  t.equal(res.headers['content-length'], String(image.size), 'HEAD keeps the registry\'s Content-Length')
  const get = await call(faulty, { method: 'GET', dispatcher: agent(t) })
  t.equal(sha256Digest(get.body), image.digest, 'GET body is the exact manifest')
  t.same(faulty.requests(), [
    { method: 'HEAD', url: MANIFEST_PATH, fault: 'none' },
    { method: 'GET', url: MANIFEST_PATH, fault: 'none' }
  ])
  t.equal((await reg.waitForRequests((r) => r.length >= 2)).length, 2, 'the registry saw both')
})

t.test('strip-digest and wrong-digest', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'strip-digest' } })
  const stripped = await call(faulty, { dispatcher: agent(t) })
  t.equal(stripped.status, 200)
  t.notOk('docker-content-digest' in stripped.headers)
  const strippedGet = await call(faulty, { method: 'GET', dispatcher: agent(t) })
  t.equal(sha256Digest(strippedGet.body), image.digest, 'body untouched, so a client can hash it')

  const wrong = `sha256:${'0'.repeat(64)}`
  faulty.setFault({ kind: 'wrong-digest', digest: wrong })
  t.equal((await call(faulty, { dispatcher: agent(t) })).headers['docker-content-digest'], wrong)
  faulty.setFault({ kind: 'wrong-digest' })
  const random = (await call(faulty, { dispatcher: agent(t) })).headers['docker-content-digest']
  t.match(random, /^sha256:[a-f0-9]{64}$/)
  t.not(random, image.digest)
})

t.test('status: 429 with Retry-After for the first K requests, then proxy', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'status', status: 429, retryAfter: 2, times: 2 } })
  reg.resetRequests()
  const a = agent(t)
  const first = await call(faulty, { dispatcher: a, method: 'GET' })
  t.equal(first.status, 429)
  t.equal(first.headers['retry-after'], '2')
  t.match(JSON.parse(first.body.toString()), { errors: [{ code: 'TOOMANYREQUESTS' }] })
  t.equal((await call(faulty, { dispatcher: a })).status, 429)
  const third = await call(faulty, { dispatcher: a })
  t.equal(third.status, 200)
  t.equal(third.headers['docker-content-digest'], image.digest)
  t.equal(faulty.faultsFired(), 2)
  t.same(faulty.requests().map((r) => r.fault), ['status', 'status', 'none'])
  t.equal((await reg.waitForRequests()).length, 1, 'only the proxied request reached the registry')

  for (const status of [500, 502, 503]) {
    faulty.setFault({ kind: 'status', status, times: 1 })
    t.equal((await call(faulty, { dispatcher: a })).status, status)
    t.equal((await call(faulty, { dispatcher: a })).status, 200, `after one ${status}`)
  }
})

t.test('match limits a fault to some requests', async (t) => {
  const faulty = await startFaultyServer({
    upstream: reg,
    t,
    fault: { kind: 'status', status: 503, match: ({ path }) => path.includes('/manifests/') }
  })
  t.equal((await call(faulty, { path: '/v2/', method: 'GET', dispatcher: agent(t) })).status, 200)
  t.equal((await call(faulty, { dispatcher: agent(t) })).status, 503)
})

t.test('hang: the client timeout fires; close() frees the socket', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'hang' } })
  const started = Date.now()
  await t.rejects(call(faulty, { dispatcher: agent(t), headersTimeout: 300 }), { code: 'UND_ERR_HEADERS_TIMEOUT' })
  t.ok(Date.now() - started >= 250, 'waited for the timeout')

  faulty.setFault({ kind: 'hang', after: 'headers' })
  const a = agent(t)
  const res = await request(`${faulty.baseUrl}${MANIFEST_PATH}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT }, dispatcher: a, bodyTimeout: 300 })
  t.equal(res.statusCode, 200, 'head arrives')
  await t.rejects(res.body.arrayBuffer(), { code: 'UND_ERR_BODY_TIMEOUT' }, 'body never does')

  faulty.setFault({ kind: 'hang' })
  // Settled into a value at once: it rejects during close(), before anything could await it.
  const pending = request(`${faulty.baseUrl}${MANIFEST_PATH}`, { method: 'HEAD', dispatcher: agent(t) })
    .then(() => undefined, (err: unknown) => err)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.ok(faulty.openSockets() >= 1, 'the hung socket is open')
  await faulty.close()
  t.equal(faulty.openSockets(), 0)
  t.match(await pending, { code: 'UND_ERR_SOCKET' }, 'close() ends hung requests')
  t.equal(faulty.connections(), 3)
})

t.test('slow-headers: one byte per interval', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'slow-headers', intervalMs: 100 } })
  await t.rejects(call(faulty, { dispatcher: agent(t), headersTimeout: 500 }), { code: 'UND_ERR_HEADERS_TIMEOUT' },
    'trickling bytes do not keep a headers timeout alive')

  faulty.setFault({ kind: 'slow-headers', intervalMs: 1 })
  const started = Date.now()
  const res = await call(faulty, { method: 'GET', dispatcher: agent(t) })
  t.equal(res.status, 200)
  t.equal(res.headers['docker-content-digest'], image.digest)
  t.equal(sha256Digest(res.body), image.digest, 'body intact after a slow head')
  t.ok(Date.now() - started >= 100, 'the head was dripped')
})

t.test('reset: a TCP RST before and during the response', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'reset' } })
  await t.rejects(call(faulty, { dispatcher: agent(t) }), { code: 'ECONNRESET' })

  faulty.setFault({ kind: 'reset', after: 'partial-body' })
  const raw = await rawGet(faulty.port)
  t.match(raw.received, /^HTTP\/1\.1 200 OK\r\n/, 'head arrives')
  t.ok(raw.received.length < raw.expectedLength, 'body cut off')
  t.equal(raw.error, 'ECONNRESET', 'by a reset, not a clean close')
  // undici notices the missing bytes first and says so.
  const res = await request(`${faulty.baseUrl}${MANIFEST_PATH}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT }, dispatcher: agent(t) })
  t.equal(res.statusCode, 200)
  await t.rejects(res.body.arrayBuffer(), { code: /^(ECONNRESET|UND_ERR_SOCKET|UND_ERR_RES_CONTENT_LENGTH_MISMATCH)$/ })

  faulty.setFault({ kind: 'reset', after: 'headers' })
  const headOnly = await rawGet(faulty.port)
  t.match(headOnly.received, /\r\n\r\n$/, 'exactly the head')
  t.equal(headOnly.error, 'ECONNRESET')
})

/** A GET on a bare socket, to see exactly what arrives and how the connection ends. */
function rawGet(port: number): Promise<{ received: string; expectedLength: number; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    let error: string | undefined
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { received += chunk })
    socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
    socket.on('close', () => {
      const length = /content-length: (\d+)/i.exec(received)?.[1]
      const headEnd = received.indexOf('\r\n\r\n') + 4
      resolve({ received, expectedLength: headEnd + Number(length ?? 0), error })
    })
    socket.write(`GET ${MANIFEST_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: ${MANIFEST_ACCEPT}\r\n\r\n`)
  })
}

t.test('redirect: to a URL, and in a loop', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, fault: { kind: 'redirect', location: `${reg.baseUrl}${MANIFEST_PATH}` } })
  const raw = await call(faulty, { dispatcher: agent(t) })
  t.equal(raw.status, 307)
  t.equal(raw.headers['location'], `${reg.baseUrl}${MANIFEST_PATH}`)
  const following = agent(t).compose(interceptors.redirect({ maxRedirections: 3 }))
  const followed = await call(faulty, { dispatcher: following })
  t.equal(followed.status, 200)
  t.equal(followed.headers['docker-content-digest'], image.digest)

  faulty.setFault({ kind: 'redirect-loop', status: 302 })
  faulty.resetRequests()
  const hop = await call(faulty, { dispatcher: agent(t) })
  t.equal(hop.status, 302)
  t.equal(hop.headers['location'], `${MANIFEST_PATH}?atw-hop=1`)
  const looping = agent(t).compose(interceptors.redirect({ maxRedirections: 4 }))
  faulty.resetRequests()
  // undici's redirect interceptor hands back the last 3xx once maxRedirections is spent.
  const last = await call(faulty, { dispatcher: looping })
  t.equal(last.status, 302, 'still redirecting after four hops')
  t.equal(last.headers['location'], `${MANIFEST_PATH}?atw-hop=5`)
  t.equal(faulty.requests().length, 5, 'the first request plus four redirections')
})

t.test('TLS front with its own CA', async (t) => {
  const faulty = await startFaultyServer({ upstream: reg, t, tls: true })
  t.match(faulty.baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/)
  await t.rejects(call(faulty, { dispatcher: agent(t) }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'not trusted by default')
  const ok = await call(faulty, { dispatcher: agent(t, faulty.caPem) })
  t.equal(ok.headers['docker-content-digest'], image.digest)
  faulty.setFault({ kind: 'reset' })
  await t.rejects(call(faulty, { dispatcher: agent(t, faulty.caPem) }), { code: /^(ECONNRESET|UND_ERR_SOCKET)$/ })
})

t.test('without an upstream, unfaulted requests get 404', async (t) => {
  const faulty = await startFaultyServer({ t })
  t.equal((await call(faulty, { dispatcher: agent(t) })).status, 404)
})
