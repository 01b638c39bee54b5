import { X509Certificate } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'node:tls'
import { pino } from 'pino'
import t from 'tap'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/config.js'
import { createMetrics } from '../../src/http/metrics.js'
import { Readiness } from '../../src/http/readiness.js'
import { startServer } from '../../src/http/server.js'
import type { Resolver } from '../../src/registry/types.js'
import { CertificateManager } from '../../src/kube/certificate-manager.js'
import { servingNames } from '../../src/kube/from-config.js'
import { startKubeIntegration } from '../../src/kube/integration.js'
import { servingFileWriter } from '../../src/kube/serving-files.js'
import { FakeKubeApi } from './certs-fake-api.js'

/**
 * Self-managed certificates through the real server (src/http/server.ts), with the Kubernetes API faked: readiness waits for
 * caBundle, and a CA rotation reaches TLS clients without a restart, while clients holding the published caBundle
 * never fail a handshake.
 */

const SERVER_NAME = 'atw.hooks.svc'
const noResolver: Resolver = { resolveAll: async () => new Map() }

async function handshake (port: number, ca: string): Promise<{ fingerprint?: string, error?: string }> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: SERVER_NAME }, () => {
      const fingerprint = new X509Certificate(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)).fingerprint256
      socket.end()
      resolve({ fingerprint })
    })
    socket.once('error', (error: NodeJS.ErrnoException) => { resolve({ error: error.code ?? error.message }) })
  })
}

async function readyz (port: number, ca: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/readyz', ca, servername: SERVER_NAME }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body }) })
    }).on('error', reject).end()
  })
}

t.test('startKubeIntegration before startServer: files exist, readiness waits for both caBundles', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-serving-'))
  const file = join(dir, 'config.yaml')
  await writeFile(file, stringify({
    server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: join(dir, 'tls', 'tls.crt'), tlsKey: join(dir, 'tls', 'tls.key'), shutdownDelaySeconds: 0, certReloadIntervalSeconds: 0.1 },
    certificates: {
      mode: 'self-managed', namespace: 'hooks', serviceName: 'atw',
      caValidityDays: 100, caRenewBeforeDays: 20, leafValidityDays: 10, leafRenewBeforeDays: 3, caBundleSettleSeconds: 60
    },
    logLevel: 'silent'
  }))
  const config = loadConfig({ configFile: file }, {})
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', config.certificates.mutatingWebhookConfiguration, ['pin.actortemplates.ate.dev'])
  const readiness = new Readiness()
  const kube = await startKubeIntegration(config, { api, readiness })
  const certificates = kube.certificates
  if (certificates === undefined) throw new Error('self-managed mode has a certificate manager')
  const server = await startServer(config, { resolver: noResolver, metrics: createMetrics({ defaultMetrics: false }), readiness, loggerInstance: pino({ level: 'silent' }) })
  t.teardown(async () => { kube.close(); await server.shutdown('test over') })
  kube.attachServer(server.reloadCertificates)

  const bundle = (): string => api.caBundle('mutating', config.certificates.mutatingWebhookConfiguration)[0] ?? ''
  const first = await readyz(server.port, bundle())
  t.equal(first.status, 503, 'not ready: the validating configuration is missing')
  t.match(first.body, /ca-bundle: validating webhook configuration validate\.actortemplates\.ate\.dev does not exist/)

  api.addWebhookConfiguration('validating', config.certificates.validatingWebhookConfiguration, ['validate.actortemplates.ate.dev'])
  await certificates.check()
  t.equal((await readyz(server.port, bundle())).status, 200, 'ready once both configurations hold caBundle')
  const before = await handshake(server.port, bundle())
  t.ok(before.fingerprint, `handshake with the published caBundle: ${before.error ?? ''}`)
})

t.test('renewals and CA rotations reach TLS clients without a restart, and no handshake fails', async (t) => {
  // Real time, so real TLS checks validity: lifetimes of seconds instead of days (X.509 times have 1 s resolution).
  const SECOND_IN_DAYS = 1 / 86_400
  const dir = await mkdtemp(join(tmpdir(), 'atw-serving-'))
  const file = join(dir, 'config.yaml')
  await writeFile(file, stringify({
    server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: join(dir, 'tls', 'tls.crt'), tlsKey: join(dir, 'tls', 'tls.key'), shutdownDelaySeconds: 0, certReloadIntervalSeconds: 60 },
    logLevel: 'silent'
  }))
  const config = loadConfig({ configFile: file }, {})
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', 'pin.actortemplates.ate.dev', ['pin.actortemplates.ate.dev'])
  api.addWebhookConfiguration('validating', 'validate.actortemplates.ate.dev', ['validate.actortemplates.ate.dev'])
  const readiness = new Readiness()
  const events: string[] = []
  const manager = new CertificateManager({
    api,
    namespace: 'hooks',
    secretName: 'certs',
    names: servingNames('atw', 'hooks'),
    webhookConfigurations: [{ kind: 'mutating', name: 'pin.actortemplates.ate.dev' }, { kind: 'validating', name: 'validate.actortemplates.ate.dev' }],
    policy: {
      caValidityDays: 8 * SECOND_IN_DAYS,
      caRenewBeforeDays: 4 * SECOND_IN_DAYS,
      leafValidityDays: 3 * SECOND_IN_DAYS,
      leafRenewBeforeDays: 1.5 * SECOND_IN_DAYS,
      caBundleSettleSeconds: 0.3
    },
    checkIntervalMs: 100,
    writeServingFiles: servingFileWriter(config.server.tlsCert, config.server.tlsKey),
    readiness,
    log: { info: (details, message) => { events.push(`${new Date().toISOString()} ${message} ${JSON.stringify(details)}`) }, warn: (details, message) => { events.push(`${new Date().toISOString()} WARN ${message} ${JSON.stringify(details)}`) } }
  })
  await manager.start()
  // Polling is off (60 s): new files reach the server through setReloader (and the directory watch) alone.
  const server = await startServer(config, { resolver: noResolver, metrics: createMetrics({ defaultMetrics: false }), readiness, loggerInstance: pino({ level: 'silent' }) })
  manager.setReloader(server.reloadCertificates)
  t.teardown(async () => { manager.stop(); await server.shutdown('test over') })
  const bundle = (): string => api.caBundle('validating', 'validate.actortemplates.ate.dev')[0] ?? ''

  // A client handshakes again and again with whatever caBundle is published at that moment, as apiservers do.
  const failures: string[] = []
  const leaves = new Set<string>()
  const bundles = new Set<string>()
  const until = Date.now() + 9000
  while (Date.now() < until) {
    const published = bundle()
    bundles.add(published)
    const result = await handshake(server.port, published)
    if (result.error !== undefined) failures.push(`${new Date().toISOString()}: ${result.error}`)
    if (result.fingerprint !== undefined) leaves.add(result.fingerprint)
    await sleep(20)
  }
  t.same(failures, [], 'no handshake failed')
  if (failures.length > 0) console.error(events.join('\n'))
  t.ok(leaves.size >= 4, `the served leaf changed without a restart (${leaves.size} leaves)`)
  t.ok(bundles.size >= 3, `caBundle went through rotations (${bundles.size} bundles)`)
  const secret = api.secrets.get('hooks/certs')
  t.ok(secret !== undefined)
  t.equal((await readyz(server.port, bundle())).status, 200)
})
