/**
 * The webhook as it runs in production, for the battery (issue 7): startServer over real TLS on loopback, the real
 * registry stack (transport, auth, resolver) or an injected resolver, the real metrics, and every log line captured
 * both parsed and as raw text (secrets are grepped in the text).
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Agent } from 'undici'
import { pino } from 'pino'
import { Readiness } from '../../src/http/app.js'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { loadConfig, type Config, type RegistryConfig } from '../../src/config.js'
import { createMetrics, type Metrics } from '../../src/http/metrics.js'
import { createRegistryStack, type RegistryStack } from '../../src/registry/create-resolver.js'
import { StaticCredentials, type CredentialSource } from '../../src/registry/credentials.js'
import type { Resolver } from '../../src/registry/types.js'
import { startServer, type RunningServer } from '../../src/http/server.js'
import { getPath, postJson, webhookAgent, type Answer } from './battery-load.js'
import type { Teardown } from './registry.js'
import { writeTlsFiles, type TlsFiles } from './tls.js'

export interface LogCapture {
  lines: Array<Record<string, unknown>>
  /** every byte the logger wrote */
  text: () => string
}

export function captureLogs (level = 'info'): LogCapture & { logger: ReturnType<typeof pino> } {
  const lines: Array<Record<string, unknown>> = []
  const chunks: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      const text = chunk.toString('utf8')
      chunks.push(text)
      for (const line of text.split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  return { lines, text: () => chunks.join(''), logger: pino({ level }, stream) }
}

type Sections = Partial<{ [K in 'server' | 'admission' | 'resolver']: Partial<Config[K]> }>

export interface BatteryWebhookOptions extends Sections {
  registries?: Array<Partial<RegistryConfig> & { host: string }>
  credentials?: CredentialSource
  /** replaces the registry stack (e.g. a FakeResolver) */
  fakeResolver?: Resolver
  /** client pool size for `agent` */
  connections?: number
}

export interface BatteryWebhook {
  server: RunningServer
  url: string
  tls: TlsFiles
  config: Readonly<Config>
  metrics: Metrics
  readiness: Readiness
  logs: LogCapture
  /** undefined when a resolver was injected */
  stack: RegistryStack | undefined
  /** keep-alive client that trusts the serving CA */
  agent: Agent
  /** POST /mutate (or `path`) with `?timeout=`; HTTP errors are answers, not exceptions */
  admit: (review: unknown, options?: { timeout?: string, path?: string, agent?: Agent }) => Promise<Answer>
  get: (path: string) => Promise<Answer>
  metricsText: () => Promise<string>
  /** connections the HTTPS server holds open right now */
  serverConnections: () => Promise<number>
}

export function batteryConfig (options: BatteryWebhookOptions & { tlsCert: string, tlsKey: string }): Readonly<Config> {
  const base = loadConfig({}, {})
  return {
    ...base,
    server: { ...base.server, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: options.tlsCert, tlsKey: options.tlsKey, shutdownDelaySeconds: 0, ...options.server },
    admission: { ...base.admission, ...options.admission },
    resolver: { ...base.resolver, ...options.resolver },
    registries: (options.registries ?? []).map((registry) => ({ insecure: false, allowLinkLocal: false, allowedRealmHosts: [], ...registry }))
  }
}

export async function startBatteryWebhook (t: Teardown, options: BatteryWebhookOptions = {}): Promise<BatteryWebhook> {
  const tls = await writeTlsFiles(await mkdtemp(join(tmpdir(), 'atw-battery-')))
  const config = batteryConfig({ ...options, tlsCert: tls.certFile, tlsKey: tls.keyFile })
  const metrics = createMetrics({ defaultMetrics: false })
  const stack = options.fakeResolver === undefined ? createRegistryStack(config, options.credentials ?? new StaticCredentials(), metrics) : undefined
  const resolver = options.fakeResolver ?? stack?.resolver
  if (resolver === undefined) throw new Error('no resolver')
  const readiness = new Readiness()
  const { logger, ...logs } = captureLogs()
  const server = await startServer(config, { resolver, metrics, readiness, loggerInstance: logger })
  const agent = webhookAgent(tls.caPem, options.connections ?? 16)
  t.teardown(async () => {
    await agent.close()
    await server.shutdown('battery over')
    await stack?.close()
  })
  return {
    server,
    url: server.url,
    tls,
    config,
    metrics,
    readiness,
    logs,
    stack,
    agent,
    admit: async (review, admitOptions = {}) => await postJson(admitOptions.agent ?? agent,
      `${server.url}${admitOptions.path ?? '/mutate'}?timeout=${admitOptions.timeout ?? '10s'}`, review),
    get: async (path) => await getPath(agent, `${server.url}${path}`),
    metricsText: async () => await metrics.registry.metrics(),
    serverConnections: async () => await new Promise<number>((resolve, reject) => {
      server.app.server.getConnections((error, count) => { if (error === null) resolve(count); else reject(error) })
    })
  }
}

/** The AdmissionReview body of a 200 answer, or undefined. */
export function reviewOf (answer: Answer | undefined): AdmissionReviewResponse | undefined {
  if (answer?.status !== 200 || answer.body === null || typeof answer.body !== 'object') return undefined
  return answer.body as AdmissionReviewResponse
}

/** The value of one series in Prometheus text, e.g. `atw_resolutions_total{registry="x",outcome="y"}`; 0 when absent. */
export function metricValue (text: string, name: string, labels: Record<string, string>): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const close = line.lastIndexOf('}')
    const labelText = line.slice(name.length + 1, close)
    const matches = Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))
    if (matches) total += Number(line.slice(close + 1).trim())
  }
  return total
}
