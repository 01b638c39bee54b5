import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp, Readiness } from '../../src/http/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createMetrics, type Metrics } from '../../src/http/metrics.js'
import type { Resolver } from '../../src/registry/types.js'
import type { Teardown } from '../support/registry.js'
import { FakeResolver } from '../fixtures/fake-resolver.js'

/** buildApp over inject(), with the log lines captured as parsed JSON. */

export interface AppHarness {
  app: FastifyInstance
  config: Readonly<Config>
  metrics: Metrics
  readiness: Readiness
  logs: Array<Record<string, unknown>>
  admissionLogs: () => Array<Record<string, unknown>>
}

export function logCapture (): { logs: Array<Record<string, unknown>>, logger: ReturnType<typeof pino> } {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  return { logs, logger: pino({ level: 'info' }, stream) }
}

export function testConfig (overrides: Partial<{ [K in keyof Config]: Partial<Config[K]> }> = {}): Readonly<Config> {
  const base = loadConfig({}, {})
  return {
    ...base,
    ...(overrides as Partial<Config>),
    server: { ...base.server, ...overrides.server },
    admission: { ...base.admission, ...overrides.admission }
  }
}

export async function startApp (t: Teardown, options: { resolver?: Resolver, metrics?: Metrics, config?: Readonly<Config> } = {}): Promise<AppHarness> {
  const config = options.config ?? testConfig()
  const metrics = options.metrics ?? createMetrics({ defaultMetrics: false })
  const readiness = new Readiness()
  const { logs, logger } = logCapture()
  const app = buildApp(config, { resolver: options.resolver ?? new FakeResolver(), metrics, readiness, loggerInstance: logger })
  await app.ready()
  t.teardown(async () => { await app.close() })
  return { app, config, metrics, readiness, logs, admissionLogs: () => logs.filter((line) => line['msg'] === 'admission') }
}
