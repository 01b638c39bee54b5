import { connect as connectTcp, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { connect as connectTls } from 'node:tls'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { request } from 'undici'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'
import { loadReview } from '../fixtures/reviews/index.js'
import { applyPatch } from '../fixtures/schema/index.js'
import { eventually, postJson, steadyStream, webhookAgent } from '../support/battery-load.js'
import { imagesOf, maximumTemplate, templateReview } from '../support/battery-reviews.js'
import { judge } from '../support/battery-verdict.js'
import { reviewOf, startBatteryWebhook } from '../support/battery-webhook.js'

// Issue 7, hostile input over real TLS: bodies at the limit, deep nesting, wrong content types, the largest
// template, and 1,000 slowloris connections. Every answer is an AdmissionReview echoing the uid or a 4xx with a
// message; times are compared with configured limits plus generous slack only.

interface ErrorBody { statusCode: number, message: string }

/** Writes `head` on a fresh TLS connection and returns everything the server sends until it closes (or 10 s pass). */
async function rawExchange (port: number, ca: string, head: string): Promise<string> {
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connectTls({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => { socket.write(head) })
    const timer = setTimeout(() => { socket.destroy() }, 10_000)
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      // One complete answer is enough; the body is a small JSON error.
      const text = Buffer.concat(chunks).toString('utf8')
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? -1)
      const split = text.indexOf('\r\n\r\n')
      if (split >= 0 && length >= 0 && Buffer.byteLength(text) >= split + 4 + length) socket.destroy()
    })
    socket.on('error', () => {})
    socket.once('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')) })
  })
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('bodies just under and over the limit; memory stays flat', async (t) => {
  const webhook = await startBatteryWebhook(t, { fakeResolver: new FakeResolver() })
  const limit = webhook.config.server.bodyLimitBytes
  const review = templateReview('under-limit', ['ghcr.io/acme/agent:1.4'])
  const empty = JSON.stringify({ ...review, request: { ...review.request, object: { ...review.request.object, metadata: { ...review.request.object.metadata, annotations: { filler: '' } } } } })
  const under = empty.replace('"filler":""', `"filler":"${'x'.repeat(limit - empty.length - 1)}"`)
  t.equal(Buffer.byteLength(under), limit - 1, 'one byte under the limit')
  const fits = reviewOf(await postJson(webhook.agent, `${webhook.url}/mutate?timeout=10s`, under))
  t.equal(fits?.response.uid, 'under-limit', 'answered with an AdmissionReview')
  t.equal(fits?.response.patchType, 'JSONPatch', 'and pinned')
  const exact = reviewOf(await postJson(webhook.agent, `${webhook.url}/mutate?timeout=10s`, `${under} `))
  t.equal(exact?.response.uid, 'under-limit', 'exactly the limit is still answered')

  const over = `${under}  `
  const overLimit = async (kind: number): Promise<{ status: number, ms: number, message: string }> => {
    const started = performance.now()
    if (kind % 3 === 2) {
      // A declared length of 1 GB with a few bytes sent: refused on the header alone, without waiting for the rest.
      const raw = await rawExchange(webhook.server.port, webhook.tls.caPem,
        `POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${1024 ** 3}\r\n\r\n{"apiVersion":`)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0)
      const message = (JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4) || '{}') as Partial<ErrorBody>).message ?? ''
      return { status, ms: performance.now() - started, message }
    }
    const body = kind % 3 === 0 ? over : Readable.from((function * () { for (let chunk = 0; chunk < 8; chunk++) yield Buffer.alloc(1024 * 1024, 32) })())
    const response = await request(`${webhook.url}/mutate?timeout=10s`, { method: 'POST', dispatcher: webhook.agent, headers: { 'content-type': 'application/json' }, body })
    const json = await response.body.json() as ErrorBody
    return { status: response.statusCode, ms: performance.now() - started, message: json.message }
  }
  for (let warm = 0; warm < 3; warm++) await overLimit(warm)
  gc()
  const before = process.memoryUsage().heapUsed
  const results = []
  for (let round = 0; round < 30; round++) results.push(await overLimit(round))
  gc()
  const after = process.memoryUsage().heapUsed
  const statuses = [...new Set(results.map((result) => result.status))]
  t.same(statuses, [413], `30 over-limit bodies (${limit + 1} bytes with a length, 8 MiB chunked, 1 GB declared) all got 413`)
  t.ok(results.every((result) => result.message === `the request body is larger than ${limit} bytes (server.bodyLimitBytes)`), 'with a message')
  const slowest = Math.max(...results.map((result) => result.ms))
  t.ok(slowest < webhook.config.server.requestTimeoutSeconds * 1000 / 3, `answered quickly: slowest ${Math.round(slowest)} ms (request timeout ${webhook.config.server.requestTimeoutSeconds} s)`)
  const grownMiB = (after - before) / 1024 / 1024
  t.ok(grownMiB < 32, `memory flat: heap ${(before / 1024 / 1024).toFixed(1)} MiB → ${(after / 1024 / 1024).toFixed(1)} MiB after 30 refused bodies of ≥ 7 MiB`)
  t.comment(`body limit: bodies of limit − 1 and limit bytes pinned, 30 over-limit bodies → 413 (slowest ${Math.round(slowest)} ms), heap growth ${grownMiB.toFixed(1)} MiB`)
})

t.test('deeply nested JSON, wrong content types: an AdmissionReview or a 4xx with a message', async (t) => {
  const webhook = await startBatteryWebhook(t, { fakeResolver: new FakeResolver() })
  const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`
  const update = loadReview('update-reapply')
  const withSpec = (spec: string): string => JSON.stringify({ ...update, request: { ...update.request, object: { ...update.request.object, spec: '@@' }, oldObject: { ...update.request.oldObject, spec: '@@' } } })
    .replaceAll('"@@"', spec)
  const sameDeepSpec = withSpec(JSON.stringify(update.request.object.spec).replace(/}$/, `,"deep":${deep(1_000_000)}}`))
  const create = JSON.stringify(templateReview('deep-create', ['ghcr.io/acme/agent:1.4'])).replace('"sandboxClass":"gvisor"', `"sandboxClass":"gvisor","deep":${deep(1_000_000)}`)
  const bodies: Array<[string, string, string | undefined]> = [
    ['an UPDATE whose equal specs nest 1,000,000 deep', sameDeepSpec, update.request.uid],
    ['a CREATE with a field nested 1,000,000 deep', create, 'deep-create'],
    ['an apiVersion nested 100,000 deep', `{"apiVersion":${deep(100_000)},"kind":"AdmissionReview"}`, undefined],
    ['a uid nested 100,000 deep', `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":${deep(100_000)}}}`, undefined],
    ['objects nested 500,000 deep', `${'{"a":'.repeat(500_000)}1${'}'.repeat(500_000)}`, undefined]
  ]
  let answered = 0
  for (const [name, body, uid] of bodies) {
    for (const route of ['/mutate', '/validate']) {
      const answer = await postJson(webhook.agent, `${webhook.url}${route}?timeout=10s`, body)
      if (uid === undefined) {
        t.ok(answer.status >= 400 && answer.status < 500 && typeof (answer.body as Partial<ErrorBody>).message === 'string', `${route} ${name}: ${answer.status} ${String((answer.body as Partial<ErrorBody>).message).slice(0, 120)}`)
      } else {
        t.equal(reviewOf(answer)?.response.uid, uid, `${route} ${name}: an AdmissionReview (${reviewOf(answer)?.response.allowed === true ? 'allowed' : 'denied'})`)
      }
      answered++
    }
  }
  const contentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'application/yaml', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/jsonx', undefined]
  for (const type of contentTypes) {
    const response = await request(`${webhook.url}/mutate?timeout=10s`, {
      method: 'POST',
      dispatcher: webhook.agent,
      headers: type === undefined ? {} : { 'content-type': type },
      body: JSON.stringify(loadReview('create-dry-run'))
    })
    const body = await response.body.json() as ErrorBody
    t.same({ status: response.statusCode, message: body.message }, { status: 415, message: 'Content-Type must be application/json' }, `Content-Type ${type ?? '(none)'}: 415`)
    answered++
  }
  t.comment(`deep nesting and content types: ${answered} hostile bodies tried, ${answered} answered with an AdmissionReview or a 4xx with a message, failures 0`)
})

t.test('the largest template the CRD allows: 10 containers × 64 env entries', async (t) => {
  const webhook = await startBatteryWebhook(t, { fakeResolver: new FakeResolver() })
  const review = maximumTemplate('maximum', (index) => `ghcr.io/acme/service-${index}:1.${index}`)
  const bytes = JSON.stringify(review).length
  const samples = await steadyStream({ ratePerSecond: 5, durationMs: 2000, send: async () => await postJson(webhook.agent, `${webhook.url}/mutate?timeout=10s`, review) })
  const verdict = judge(samples, { uid: () => 'maximum', object: () => review.request.object, latestMs: () => 8000 + 1500 })
  t.same(verdict.failures, [], `${samples.length} admissions of ${(bytes / 1024).toFixed(0)} KiB, none failed`)
  const first = reviewOf(samples[0]?.answer) as AdmissionReviewResponse
  const stored = applyPatch(review.request.object, first.response.patch ?? '')
  t.equal(imagesOf(stored).filter((image) => typeof image === 'string' && image.includes('@sha256:')).length, 11, 'all 11 images pinned')
  t.equal(first.response.warnings?.length, 11, 'one warning per pin')
  t.comment(`maximum template: ${samples.length} admissions of ${(bytes / 1024).toFixed(0)} KiB, ${verdict.allowed} pinned, failures ${verdict.failures.length}, max latency ${Math.round(verdict.maxLatencyMs)} ms`)
})

t.test('1,000 slowloris connections do not stop other requests', async (t) => {
  const headersTimeoutSeconds = 3
  const webhook = await startBatteryWebhook(t, { fakeResolver: new FakeResolver(), server: { headersTimeoutSeconds } })
  const { port } = webhook.server
  const sockets: Socket[] = []
  let closedByServer = 0
  const track = (socket: Socket): void => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.once('close', () => { closedByServer++ })
  }
  t.teardown(() => { for (const socket of sockets) socket.destroy() })
  const started = performance.now()
  // Half never start TLS; half finish the handshake and then drip request headers, a byte a second.
  for (let batch = 0; batch < 10; batch++) {
    for (let index = 0; index < 50; index++) track(connectTcp(port, '127.0.0.1'))
    await Promise.all(Array.from({ length: 50 }, async () => {
      const socket = connectTls({ host: '127.0.0.1', port, ca: webhook.tls.caPem, servername: 'localhost' })
      track(socket)
      await new Promise<void>((resolve) => { socket.once('secureConnect', () => { resolve() }); socket.once('close', () => { resolve() }) })
      socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\n')
      const drip = setInterval(() => { if (socket.writable) socket.write('X'); else clearInterval(drip) }, 1000)
      socket.once('close', () => { clearInterval(drip) })
    }))
  }
  const opened = performance.now() - started
  const during = await webhook.serverConnections()

  const agent = webhookAgent(webhook.tls.caPem)
  const samples = await steadyStream({ ratePerSecond: 10, durationMs: 2000, send: async (index) => await postJson(agent, `${webhook.url}/mutate?timeout=10s`, templateReview(`served-${index}`, ['ghcr.io/acme/agent:1.4'])) })
  const verdict = judge(samples, { uid: (index) => `served-${index}`, object: (index) => templateReview(`served-${index}`, ['ghcr.io/acme/agent:1.4']).request.object, latestMs: () => 5000 })
  t.same(verdict.failures, [], `${samples.length} admissions served while ${sockets.length} slowloris connections were open`)
  t.equal(verdict.allowed, samples.length, 'all pinned')

  const cut = await eventually(() => closedByServer >= sockets.length, (headersTimeoutSeconds + 20) * 1000, 200)
  t.ok(cut, `the server cut ${closedByServer} of ${sockets.length} slowloris connections (headersTimeout ${headersTimeoutSeconds} s)`)
  await agent.close()
  t.ok(await eventually(async () => await webhook.serverConnections() <= 1, 10_000), `server connections back to baseline (${await webhook.serverConnections()})`)
  t.comment(`slowloris: ${sockets.length} connections opened in ${Math.round(opened)} ms (${during} held by the server), ${samples.length} admissions answered meanwhile ` +
    `(max ${Math.round(verdict.maxLatencyMs)} ms), failures ${verdict.failures.length}; all cut within ${Math.round((performance.now() - started) / 1000)} s`)
})
