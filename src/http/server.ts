import { createPrivateKey, X509Certificate } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from './app.js'
import { createMetricsServer } from './metrics-server.js'
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'

/**
 * The only code that opens ports, reads certificate files and handles signals. HTTPS over HTTP/1.1 only (no h2:
 * rapid-reset, CVE-2023-44487), TLS ≥ 1.2. The cert and key are re-read when they change (a watch on their
 * directories for Kubernetes' atomic ..data swaps, and polling as the fallback) and installed with
 * setSecureContext: only new connections see the new pair, so no request fails during the swap. /metrics is served
 * on a separate plain-HTTP listener (metrics-server.ts).
 */

export interface RunningServer {
  app: FastifyInstance<HttpsServer>
  port: number
  url: string
  /** the plain-HTTP metrics listener, e.g. http://127.0.0.1:9090 (serves /metrics) */
  metricsUrl: string
  metricsPort: number
  /** re-reads the files now; true when a new pair was installed */
  reloadCertificates: () => Promise<boolean>
  /** readiness false at once, keep serving shutdownDelaySeconds, finish in-flight requests, close */
  shutdown: (reason?: string) => Promise<void>
  /** settles when the server has closed */
  closed: Promise<void>
}

interface KeyPair { cert: Buffer, key: Buffer }

const minVersion = 'TLSv1.2'
// TLS 1.2: only ECDHE with AEAD (AES-GCM, ChaCha20-Poly1305), as Mozilla's "intermediate" profile; the CBC suites
// (ECDHE-*-AES128-SHA, …) that Node enables by default are refused (issue 13 §5). TLS 1.3 suites are all AEAD and
// stay; they are named here because the string replaces Node's whole default list.
const ciphers = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'
].join(':')
const tlsPolicy = { minVersion, ciphers, honorCipherOrder: true } as const

async function readPair (config: Readonly<Config>): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(config.server.tlsCert), readFile(config.server.tlsKey)])
  return { cert, key }
}

/** Throws unless the key belongs to the certificate: writers update the two files one after the other. */
function describePair (pair: KeyPair): { facts: { subject: string, notAfter: string, fingerprint256: string }, expires: Date } {
  const certificate = new X509Certificate(pair.cert)
  if (!certificate.checkPrivateKey(createPrivateKey(pair.key))) throw new Error('the private key does not belong to the certificate')
  return {
    facts: { subject: certificate.subject, notAfter: certificate.validTo, fingerprint256: certificate.fingerprint256 },
    expires: certificate.validToDate
  }
}

async function initialPair (config: Readonly<Config>): Promise<KeyPair> {
  let pair: KeyPair
  try {
    pair = await readPair(config)
  } catch (error) {
    throw new ConfigError([`cannot read the TLS certificate ${config.server.tlsCert} or key ${config.server.tlsKey}: ${(error as Error).message}`])
  }
  try {
    describePair(pair)
  } catch (error) {
    throw new ConfigError([`TLS certificate ${config.server.tlsCert} and key ${config.server.tlsKey} are unusable: ${(error as Error).message}`])
  }
  return pair
}

function watchCertificates (config: Readonly<Config>, onChange: () => void, log: FastifyBaseLogger): () => void {
  let pending: NodeJS.Timeout | undefined
  const trigger = (): void => {
    clearTimeout(pending)
    // Debounced: a Secret update renames a directory and rewrites links in several events.
    pending = setTimeout(onChange, 100)
  }
  const watchers: FSWatcher[] = []
  for (const directory of new Set([dirname(config.server.tlsCert), dirname(config.server.tlsKey)])) {
    try {
      watchers.push(watch(directory, { persistent: false }, trigger).on('error', () => {}))
    } catch (error) {
      log.warn({ directory, problem: (error as Error).message }, 'cannot watch the certificate directory; relying on polling')
    }
  }
  const poll = setInterval(onChange, Math.max(50, config.server.certReloadIntervalSeconds * 1000)).unref()
  return () => {
    clearTimeout(pending)
    clearInterval(poll)
    for (const watcher of watchers) watcher.close()
  }
}

export async function startServer (config: Readonly<Config>, deps: AppDeps): Promise<RunningServer> {
  let current = await initialPair(config)
  deps.metrics.setServingCertificateExpiry(describePair(current).expires)
  const app = buildApp(config, deps, {
    https: {
      ...current,
      ...tlsPolicy,
      ALPNProtocols: ['http/1.1'],
      handshakeTimeout: config.server.headersTimeoutSeconds * 1000,
      // Node checks header and request timeouts on this interval (default 30 s), which would blunt headersTimeout.
      connectionsCheckingInterval: 1000
    }
  })
  let lastRejected: KeyPair | undefined
  let reloading: Promise<boolean> | undefined

  async function reload (): Promise<boolean> {
    let pair: KeyPair
    try {
      pair = await readPair(config)
    } catch (error) {
      app.log.warn({ problem: (error as Error).message }, 'cannot read the TLS files; keeping the current certificate')
      return false
    }
    if (pair.cert.equals(current.cert) && pair.key.equals(current.key)) return false
    try {
      const { facts, expires } = describePair(pair)
      app.server.setSecureContext({ ...pair, ...tlsPolicy })
      current = pair
      deps.metrics.setServingCertificateExpiry(expires)
      lastRejected = undefined
      app.log.info(facts, 'serving a new TLS certificate')
      return true
    } catch (error) {
      if (lastRejected === undefined || !pair.cert.equals(lastRejected.cert) || !pair.key.equals(lastRejected.key)) {
        app.log.warn({ problem: (error as Error).message }, 'new TLS files are not usable (yet); keeping the current certificate')
      }
      lastRejected = pair
      return false
    }
  }
  const reloadCertificates = async (): Promise<boolean> => {
    reloading ??= reload().finally(() => { reloading = undefined })
    return await reloading
  }
  const stopWatching = watchCertificates(config, () => { void reloadCertificates() }, app.log)

  try {
    await app.listen({ host: config.server.host, port: config.server.port })
  } catch (error) {
    stopWatching()
    await app.close()
    throw error
  }
  const { port } = app.server.address() as AddressInfo
  const url = `https://${hostForUrl(config.server.host)}:${port}`
  let metricsServer: HttpServer
  try {
    metricsServer = await listenMetrics(deps, config.server.metricsHost, config.server.metricsPort)
  } catch (error) {
    stopWatching()
    await app.close()
    throw error
  }
  const metricsPort = (metricsServer.address() as AddressInfo).port
  const metricsUrl = `http://${hostForUrl(config.server.metricsHost)}:${metricsPort}`
  app.log.info({ url, certificate: describePair(current).facts }, 'listening')
  app.log.info({ url: `${metricsUrl}/metrics` }, 'serving metrics')

  let markClosed: () => void = () => {}
  let markFailed: (error: unknown) => void = () => {}
  const closed = new Promise<void>((resolve, reject) => { markClosed = resolve; markFailed = reject })
  let closing: Promise<void> | undefined
  const shutdown = async (reason = 'shutdown requested'): Promise<void> => {
    closing ??= (async () => {
      deps.readiness.beginShutdown()
      app.log.info({ reason, delaySeconds: config.server.shutdownDelaySeconds }, 'shutting down: readyz is false, still serving')
      // Endpoints take a moment to drop this pod; requests routed here meanwhile must still be answered.
      await sleep(config.server.shutdownDelaySeconds * 1000)
      stopWatching()
      // Scrapes keep working through the shutdown delay; the metrics port closes with the admission port.
      await Promise.all([app.close(), closeServer(metricsServer)])
      app.log.info('closed')
    })().then(markClosed, markFailed)
    await closing
  }
  return { app, port, url, metricsUrl, metricsPort, reloadCertificates, shutdown, closed }
}

function hostForUrl (host: string): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return shown.includes(':') ? `[${shown}]` : shown
}

async function listenMetrics (deps: AppDeps, host: string, port: number): Promise<HttpServer> {
  const server = createMetricsServer(deps.metrics.registry)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => { server.off('error', reject); resolve() })
  })
  return server
}

async function closeServer (server: HttpServer): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}

/** SIGTERM/SIGINT start a graceful shutdown; a second signal exits at once. Returns a function that uninstalls them. */
export function handleSignals (server: RunningServer): () => void {
  let received = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    received++
    if (received > 1) {
      server.app.log.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(1)
    }
    void server.shutdown(`received ${signal}`)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return () => {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}
