import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import t from 'tap'
import { Agent, request } from 'undici'
import { Readiness } from '../../src/http/app.js'
import { createMetrics } from '../../src/http/metrics.js'
import { startServer, type RunningServer } from '../../src/http/server.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'
import type { Teardown } from '../support/registry.js'
import { writeTlsFiles, type TlsFiles } from '../support/tls.js'
import { logCapture, testConfig } from './app-harness.js'

// Issue 13 §5 over real sockets: TLS 1.2 offers only ECDHE with AEAD suites (before: ECDHE-ECDSA-AES128-SHA was
// negotiated), TLS 1.3 stays, also after a certificate reload; /metrics left the admission port for a plain-HTTP one.

interface Handshake { ok: boolean, cipher?: string, version?: string | null, error?: string }

async function handshake (port: number, tls: TlsFiles, options: { ciphers?: string, maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<Handshake> {
  return await new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: tls.caPem, servername: 'localhost', minVersion: 'TLSv1.2', ...options }, () => {
      resolve({ ok: true, cipher: socket.getCipher().name, version: socket.getProtocol() })
      socket.end()
    })
    socket.on('error', (error: Error & { code?: string }) => { resolve({ ok: false, error: error.code ?? error.message }) })
  })
}

async function start (t: Teardown): Promise<{ server: RunningServer, tls: TlsFiles, logs: Array<Record<string, unknown>> }> {
  const tls = await writeTlsFiles(await mkdtemp(join(tmpdir(), 'atw-tls-policy-')))
  const config = testConfig({
    server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: tls.certFile, tlsKey: tls.keyFile, shutdownDelaySeconds: 0, certReloadIntervalSeconds: 60 }
  })
  const { logs, logger } = logCapture()
  const server = await startServer(config, { resolver: new FakeResolver(), metrics: createMetrics({ defaultMetrics: false }), readiness: new Readiness(), loggerInstance: logger })
  t.teardown(async () => { await server.shutdown('test over') })
  return { server, tls, logs }
}

const refused = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'AES128-GCM-SHA256']

t.test('issue 13: TLS 1.2 negotiates only ECDHE AEAD suites; TLS 1.3 stays; the policy survives a reload', async (t) => {
  const { server, tls } = await start(t)
  const check = async (when: string, files: TlsFiles): Promise<void> => {
    for (const cipher of refused) {
      const result = await handshake(server.port, files, { ciphers: cipher, maxVersion: 'TLSv1.2' })
      t.notOk(result.ok, `${when}: ${cipher} does not negotiate (${result.error ?? result.cipher ?? ''})`)
    }
    for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      const result = await handshake(server.port, files, { ciphers: cipher, maxVersion: 'TLSv1.2' })
      t.same([result.ok, result.version, result.cipher], [true, 'TLSv1.2', cipher], `${when}: ${cipher} works`)
    }
    const offered = await handshake(server.port, files, { maxVersion: 'TLSv1.2' })
    t.match(offered.cipher, /^ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/, `${when}: a default TLS 1.2 client gets an AEAD suite (${offered.cipher ?? ''})`)
    const modern = await handshake(server.port, files, {})
    t.same([modern.ok, modern.version], [true, 'TLSv1.3'], `${when}: TLS 1.3 (${modern.cipher ?? ''})`)
  }
  await check('at start', tls)
  const renewed = await writeTlsFiles(tls.dir)
  t.ok(await server.reloadCertificates(), 'a new pair is installed')
  await check('after a reload', renewed)
})

t.test('issue 13: /metrics is served on its own plain-HTTP port, and only there', async (t) => {
  const { server, tls, logs } = await start(t)
  const agent = new Agent({ connect: { ca: tls.caPem } })
  t.teardown(async () => { await agent.close() })
  const admissionPort = await request(`${server.url}/metrics`, { dispatcher: agent })
  t.equal(admissionPort.statusCode, 404, 'the admission port answers /metrics with 404')
  await admissionPort.body.dump()

  t.match(server.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.not(server.metricsPort, server.port)
  const scraped = await request(`${server.metricsUrl}/metrics`)
  t.equal(scraped.statusCode, 200)
  t.match(scraped.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(await scraped.body.text(), /# TYPE atw_admissions_total counter/)
  const health = await request(`${server.metricsUrl}/healthz`)
  t.equal(health.statusCode, 200)
  await health.body.dump()
  for (const [method, path, status] of [['POST', '/mutate', 405], ['GET', '/mutate', 404], ['GET', '/readyz', 404]] as const) {
    const other = await request(`${server.metricsUrl}${path}`, { method })
    t.equal(other.statusCode, status, `metrics port: ${method} ${path} → ${status}`)
    await other.body.dump()
  }
  const logged = logs.find((line) => line['msg'] === 'serving metrics')
  t.equal(logged?.['url'], `${server.metricsUrl}/metrics`, 'the metrics address is logged at startup')
})
