import { destination, pino } from 'pino'
import { Readiness } from '../http/app.js'
import { loadConfig, type Config } from '../config.js'
import { createMetrics, type Metrics } from '../http/metrics.js'
import { createRegistryStack } from '../registry/create-resolver.js'
import { credentialsFromConfig } from '../registry/credentials-from-config.js'
import { startKubeIntegration } from '../kube/integration.js'
import { handleSignals, startServer } from '../http/server.js'
import { compactStartUpHeap } from '../http/compact-start-up-heap.js'
import { ExitCode, type Io, parseCommandArgs, UsageError } from './usage.js'
import type { Resolver } from '../registry/types.js'
import type { DriftReport } from '../outdated/drift-report.js'

export const serveUsage = `usage: actortemplate-webhook serve [--config FILE] [--host ADDRESS] [--port PORT] [--tls-cert FILE] [--tls-key FILE]
                                  [--insecure-registry HOST[:PORT]]... [--log-level LEVEL]
Serves POST /mutate and /validate (AdmissionReview v1), GET /healthz and /readyz over HTTPS, and GET /metrics over
plain HTTP on server.metricsHost:server.metricsPort (default 0.0.0.0:9090).
Flags win over the environment (ATW_*), which wins over the config file. SIGTERM: readyz turns false, the server keeps
answering for server.shutdownDelaySeconds, finishes in-flight requests and exits 0. Exit 2 on a bad configuration.`

function portOption (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,5}$/.test(value)) throw new UsageError(`--port must be a port number, got ${JSON.stringify(value)}`)
  return Number(value)
}

interface DriftLog {
  info: (fields: object, message: string) => void
  warn: (fields: object, message: string) => void
}

/** Issue 18's in-cluster report, only when configured: otherwise serve never loads it (nor the Kubernetes client). */
async function startDrift (config: Config, resolver: Resolver, metrics: Metrics, log: DriftLog): Promise<DriftReport | undefined> {
  if (config.drift.intervalMinutes <= 0) return undefined
  const { startDriftReport } = await import('../outdated/drift-report.js')
  return await startDriftReport({
    intervalMs: config.drift.intervalMinutes * 60_000,
    lookupTimeoutMs: config.drift.lookupTimeoutSeconds * 1000,
    annotationKey: config.admission.annotationKey,
    requestTimeoutMs: config.kube.requestTimeoutSeconds * 1000,
    resolver,
    metrics: metrics.registry,
    onScan: (summary) => { log.info(summary, 'drift scan') },
    // The message alone, as for certificate checks: pino's err serializer would append the client's raw response.
    onError: (error) => { log.warn({ problem: error instanceof Error ? error.message : String(error) }, 'drift scan failed') }
  })
}

export async function runServe (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${serveUsage}\n`)
    return ExitCode.ok
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`)
  const config = loadConfig({
    configFile: values.config,
    host: values.host,
    port: portOption(values.port),
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    insecureRegistries: values['insecure-registry'],
    logLevel: values['log-level']
  })
  // Synchronous, one write(2) per line (issue 17 §3). The asynchronous destination saved no measurable CPU, and while
  // the event loop is saturated it cannot write as fast as lines come: at c = 64 it held 4.4 MB of queued lines,
  // which outlived young-generation collections, and the warm peak was 8–16 MB higher. A slow log reader now slows
  // admissions instead of growing the heap towards the pod's limit, and no line is lost on a crash.
  const logger = pino({ level: config.logLevel }, destination({ sync: true }))
  const metrics = createMetrics()
  const readiness = new Readiness()
  // Pull Secrets and self-managed certificates; a no-op (no cluster needed) for certificates.mode "files" without Secrets.
  const kube = await startKubeIntegration(config, { readiness, log: logger })
  const onProblem = (problem: string): void => { logger.warn({ problem }, 'registry credentials') }
  const stack = createRegistryStack(config, credentialsFromConfig(config, onProblem, kube.credentialSources), metrics)
  let drift: DriftReport | undefined
  try {
    drift = await startDrift(config, stack.resolver, metrics, logger)
    const server = await startServer(config, { resolver: stack.resolver, metrics, readiness, loggerInstance: logger })
    // Start-up's garbage and grown young generation, given back before the first admission (issue 17 §3).
    const compactMs = compactStartUpHeap()
    logger.debug({ durationMs: compactMs === undefined ? undefined : Math.round(compactMs) }, 'start-up heap compacted')
    kube.attachServer(server.reloadCertificates)
    const uninstall = handleSignals(server)
    try {
      await server.closed
    } finally {
      uninstall()
    }
    return ExitCode.ok
  } finally {
    await drift?.stop()
    kube.close()
    await stack.close()
  }
}
