import { X509Certificate } from 'node:crypto'
import { mkdtemp, rename, writeFile } from 'node:fs/promises'
import { connect as connectTcp } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as connectTls, type ConnectionOptions, type TLSSocket } from 'node:tls'
import t from 'tap'
import { Agent, request } from 'undici'
import { Readiness } from '../../src/http/app.js'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { createMetrics } from '../../src/http/metrics.js'
import { startServer, type RunningServer } from '../../src/http/server.js'
import { FakeResolver, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { loadReview } from '../fixtures/reviews/index.js'
import { createCa, issueCert, writeTlsFiles, type TlsFiles } from '../support/tls.js'
import type { Teardown } from '../support/registry.js'
import { logCapture, testConfig } from './app-harness.js'

// The server over real TLS on loopback: protocol limits, slow clients, certificate rotation under load, graceful shutdown.

interface Started { server: RunningServer, tls: TlsFiles, agent: Agent, readiness: Readiness, logs: Array<Record<string, unknown>> }

async function start (t: Teardown, options: { resolver?: FakeResolver, shutdownDelaySeconds?: number } = {}): Promise<Started> {
  const tls = await writeTlsFiles(await mkdtemp(join(tmpdir(), 'atw-tls-')))
  const config = testConfig({
    server: {
      host: '127.0.0.1',
      port: 0,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
      tlsCert: tls.certFile,
      tlsKey: tls.keyFile,
      shutdownDelaySeconds: options.shutdownDelaySeconds ?? 0,
      certReloadIntervalSeconds: 0.1,
      headersTimeoutSeconds: 1
    }
  })
  const readiness = new Readiness()
  const { logs, logger } = logCapture()
  const server = await startServer(config, {
    resolver: options.resolver ?? new FakeResolver(),
    metrics: createMetrics({ defaultMetrics: false }),
    readiness,
    loggerInstance: logger
  })
  const agent = new Agent({ connect: { ca: tls.caPem } })
  t.teardown(async () => {
    await agent.close()
    await server.shutdown('test over')
  })
  return { server, tls, agent, readiness, logs }
}

async function post (url: string, agent: Agent, path = '/mutate?timeout=10s', reset = false): Promise<{ status: number, body: AdmissionReviewResponse }> {
  const response = await request(`${url}${path}`, {
    method: 'POST',
    dispatcher: agent,
    reset,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(loadReview('create-dry-run'))
  })
  return { status: response.statusCode, body: await response.body.json() as AdmissionReviewResponse }
}

async function handshake (port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return await new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => { resolve(socket) })
    socket.once('error', reject)
  })
}

t.test('HTTPS admission, TLS ≥ 1.2, HTTP/1.1 only', async (t) => {
  const { server, tls, agent } = await start(t)
  const { status, body } = await post(server.url, agent)
  t.equal(status, 200)
  t.equal(body.response.patchType, 'JSONPatch')

  const tls12 = await handshake(server.port, { ca: tls.caPem, maxVersion: 'TLSv1.2' })
  t.equal(tls12.getProtocol(), 'TLSv1.2', 'TLS 1.2 accepted')
  tls12.destroy()
  // SECLEVEL=0 lets our own client offer TLS 1.1, so the refusal seen is the server's protocol_version alert.
  await t.rejects(handshake(server.port, { ca: tls.caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, 'TLS 1.1 refused by the server')
  const alpn = await handshake(server.port, { ca: tls.caPem, ALPNProtocols: ['h2', 'http/1.1'] })
  t.equal(alpn.alpnProtocol, 'http/1.1', 'h2 is never negotiated (rapid reset, CVE-2023-44487)')
  alpn.destroy()
})

t.test('slow clients are cut off: TLS handshake and request headers both time out', async (t) => {
  const { server, tls } = await start(t)
  const started = Date.now()
  const silent = connectTcp(server.port, '127.0.0.1')
  await new Promise<void>((resolve) => silent.once('close', () => { resolve() }))
  t.ok(Date.now() - started < 5000, `a client that never starts TLS is dropped after ${Date.now() - started} ms`)

  const slow = await handshake(server.port, { ca: tls.caPem })
  const chunks: Buffer[] = []
  slow.on('data', (chunk: Buffer) => chunks.push(chunk))
  slow.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n')
  const headerStart = Date.now()
  await new Promise<void>((resolve) => slow.once('close', () => { resolve() }))
  t.ok(Date.now() - headerStart < 5000, `unfinished headers are cut after ${Date.now() - headerStart} ms`)
  t.match(Buffer.concat(chunks).toString('utf8'), /^HTTP\/1\.1 408/, 'with 408 Request Timeout')
})

t.test('certificate swap while requests flow: no failure, new connections get the new certificate', async (t) => {
  const { server, tls, logs } = await start(t)
  const nextCa = await createCa('atw rotated CA')
  const agent = new Agent({ connect: { ca: [tls.caPem, nextCa.certPem] } })
  t.teardown(async () => { await agent.close() })
  const fingerprint = async (): Promise<string> => {
    const socket = await handshake(server.port, { ca: [tls.caPem, nextCa.certPem] })
    const seen = socket.getPeerX509Certificate()?.fingerprint256 ?? ''
    socket.destroy()
    return seen
  }
  const before = await fingerprint()
  t.equal(before, new X509Certificate(tls.certPem).fingerprint256)

  let running = true
  const failures: string[] = []
  let answered = 0
  const worker = async (reset: boolean): Promise<void> => {
    while (running) {
      try {
        const { status, body } = await post(server.url, agent, '/mutate', reset)
        if (status !== 200 || body.response.allowed !== true) failures.push(`HTTP ${status}`)
        answered++
      } catch (error) {
        failures.push((error as Error).message)
      }
    }
  }
  // Half the workers open a new TLS connection per request (they see the swap), half keep theirs alive.
  const workers = [true, true, true, false, false].map(async (reset) => { await worker(reset) })

  await sleep(200)
  const leaf = await issueCert(nextCa, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  // Writers replace the two files one after the other: for a moment the key does not match the certificate.
  await writeFile(tls.certFile, leaf.certPem)
  await sleep(150)
  await writeFile(tls.keyFile, leaf.keyPem)
  const rotated = new X509Certificate(leaf.certPem).fingerprint256
  for (let tries = 0; tries < 50 && await fingerprint() !== rotated; tries++) await sleep(100)
  t.equal(await fingerprint(), rotated, 'new connections present the new certificate')

  // A second rotation the way kubelet updates a Secret volume: each file replaced atomically by rename.
  const third = await issueCert(nextCa, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  await writeFile(`${tls.keyFile}.tmp`, third.keyPem)
  await writeFile(`${tls.certFile}.tmp`, third.certPem)
  await rename(`${tls.keyFile}.tmp`, tls.keyFile)
  await rename(`${tls.certFile}.tmp`, tls.certFile)
  const thirdPrint = new X509Certificate(third.certPem).fingerprint256
  for (let tries = 0; tries < 50 && await fingerprint() !== thirdPrint; tries++) await sleep(100)
  t.equal(await fingerprint(), thirdPrint, 'and again after an atomic replace')
  await sleep(200)
  running = false
  await Promise.all(workers)

  t.same(failures, [], `${answered} requests during two swaps, none failed`)
  t.ok(answered > 50, `${answered} requests answered`)
  t.ok(logs.some((line) => line['msg'] === 'new TLS files are not usable (yet); keeping the current certificate'), 'the half-written pair was refused')
  t.equal(logs.filter((line) => line['msg'] === 'serving a new TLS certificate').length, 2)
  t.equal(await server.reloadCertificates(), false, 'nothing new to load')
})

t.test('graceful shutdown: readyz false at once, still serving during the delay, in-flight requests finish', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const resolver = new FakeResolver(async (reference) => { await gate; return pinnedAnswer(reference) })
  const { server, agent, readiness } = await start(t, { resolver, shutdownDelaySeconds: 0.5 })
  const inFlight = post(server.url, agent)
  await sleep(50)
  const stopping = server.shutdown('test')
  t.equal(readiness.ready, false)
  const ready = await request(`${server.url}/readyz`, { dispatcher: agent })
  t.equal(ready.statusCode, 503, 'readyz is false as soon as shutdown starts')
  t.equal(ready.headers['connection'], 'close', 'and asks the client to move on')
  await ready.body.dump()
  const during = await request(`${server.url}/healthz`, { dispatcher: agent, reset: true })
  t.equal(during.statusCode, 200, 'new requests are still answered during the delay')
  await during.body.dump()
  release()
  const finished = await inFlight
  t.equal(finished.status, 200, 'the in-flight admission completes')
  t.equal(finished.body.response.patchType, 'JSONPatch')
  await stopping
  await server.closed
  await t.rejects(request(`${server.url}/healthz`, { dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) }), 'the port is closed afterwards')
})
