import { X509Certificate } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import t from 'tap'
import { request } from 'undici'
import { createCertificateAuthority, issueServingCertificate, type CertificatePair } from '../../src/certs/generate.js'
import { Readiness } from '../../src/http/app.js'
import { createMetrics } from '../../src/http/metrics.js'
import { startServer, type RunningServer } from '../../src/http/server.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'
import { logCapture, testConfig } from './app-harness.js'

// Issue 14 §3: the serving-certificate expiry alert needs the notAfter of the certificate the admission port really
// serves. /metrics must show it at start and follow a reload, read here from the TLS handshake, not from the file.

const DAY_MS = 86_400_000

async function pairValidFor (days: number): Promise<CertificatePair> {
  const now = new Date()
  const ca = await createCertificateAuthority({ now, validityDays: 365 })
  return await issueServingCertificate(ca, { now, validityDays: days, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
}

/** notAfter of the certificate presented in a real handshake, in whole seconds since the epoch. */
async function servedNotAfter (port: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const served = new X509Certificate(socket.getPeerCertificate().raw)
      socket.end()
      resolve(served.validToDate.getTime() / 1000)
    })
    socket.on('error', reject)
  })
}

async function scrapedExpiry (server: RunningServer): Promise<number | undefined> {
  const response = await request(`${server.metricsUrl}/metrics`)
  const text = await response.body.text()
  const line = /^atw_serving_certificate_expiry_timestamp_seconds (\S+)$/m.exec(text)
  return line?.[1] === undefined ? undefined : Number(line[1])
}

t.test('issue 14: /metrics shows the notAfter of the served certificate, at start and after a reload', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-cert-expiry-'))
  const certFile = join(dir, 'tls.crt')
  const keyFile = join(dir, 'tls.key')
  const short = await pairValidFor(3)
  await writeFile(certFile, short.certPem)
  await writeFile(keyFile, short.keyPem)
  const config = testConfig({
    server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: certFile, tlsKey: keyFile, shutdownDelaySeconds: 0, certReloadIntervalSeconds: 3600 }
  })
  const server = await startServer(config, { resolver: new FakeResolver(), metrics: createMetrics({ defaultMetrics: false }), readiness: new Readiness(), loggerInstance: logCapture().logger })
  t.teardown(async () => { await server.shutdown('test over') })

  const firstServed = await servedNotAfter(server.port)
  t.equal(await scrapedExpiry(server), firstServed, 'the gauge equals the notAfter seen in the handshake')
  const daysLeft = (firstServed * 1000 - Date.now()) / DAY_MS
  t.ok(daysLeft > 2 && daysLeft <= 3, `the certificate valid for 3 days shows ${daysLeft.toFixed(2)} days left`)

  const long = await pairValidFor(40)
  await writeFile(keyFile, long.keyPem)
  await writeFile(certFile, long.certPem)
  t.ok(await server.reloadCertificates(), 'the new pair is installed')
  const secondServed = await servedNotAfter(server.port)
  t.ok(secondServed - firstServed > 36 * 86_400, 'the handshake now presents the 40-day certificate')
  t.equal(await scrapedExpiry(server), secondServed, 'the gauge follows the reload')

  // A pair that cannot be served (key of another certificate) changes neither what is served nor the gauge.
  await writeFile(keyFile, short.keyPem)
  t.notOk(await server.reloadCertificates(), 'a mismatched pair is refused')
  t.equal(await scrapedExpiry(server), secondServed, 'a refused pair leaves the gauge at the served certificate')
  t.equal(await servedNotAfter(server.port), secondServed)
})
