import type { Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https'
import { performance } from 'node:perf_hooks'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type RawServerBase } from 'fastify'
import type { Config } from '../config.js'
import { mutateReview, validateReview, type AdmissionOutcome } from '../admission/handle.js'
import { resolveBudgetMs } from '../admission/deadline.js'
import { decodeReview, InvalidReviewError, type AdmissionRequest } from '../admission/review.js'
import type { Metrics, Webhook } from './metrics.js'
import { deadlineIn, type Resolver } from '../registry/types.js'
import { Readiness } from './readiness.js'
import { admissionLogEntry } from '../admission/log-entry.js'
import { IssuedRecords } from '../admission/issued-records.js'
import { noRouteSchemaCompilers } from './no-route-schemas.js'

/**
 * The HTTP surface: routes, body limits and the error handler. buildApp never listens (tests use inject());
 * server.ts alone opens ports, reads certificates and handles signals.
 */

export { Readiness }

export interface AppDeps {
  resolver: Resolver
  metrics: Metrics
  readiness: Readiness
  /** pino options for fastify's logger; ignored when loggerInstance is given. Default: config.logLevel */
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyBaseLogger
  now?: () => Date
}

export interface AppOptions {
  /** the TLS server options (contents, not paths); only server.ts passes them */
  https?: HttpsOptions
}

interface AdmissionRoute { Querystring: { timeout?: string | string[] } }

const clientErrors: Record<string, { status: number, message: (limit: number) => string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: () => 'the request body is not valid JSON; expected an AdmissionReview' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: () => 'the request body is empty; expected an AdmissionReview' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: () => 'Content-Type must be application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, message: () => 'Content-Length does not match the body' },
  // An UPDATE carries object and oldObject; the apiserver's own request limit is 3 MiB per object, hence ≥ 7 MiB.
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: (limit) => `the request body is larger than ${limit} bytes (server.bodyLimitBytes)` }
}

function errorBody (status: number, message: string): { statusCode: number, error: string, message: string } {
  const names: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error' }
  return { statusCode: status, error: names[status] ?? 'Error', message }
}

function install<S extends RawServerBase> (app: FastifyInstance<S>, config: Readonly<Config>, deps: AppDeps): void {
  const now = deps.now ?? (() => new Date())
  const { metrics, readiness } = deps
  const issued = new IssuedRecords()

  async function answer (webhook: Webhook, request: FastifyRequest<AdmissionRoute, S>, reply: FastifyReply<AdmissionRoute, S>): Promise<void> {
    const started = performance.now()
    const finished = metrics.startRequest(webhook)
    try {
      let review: AdmissionRequest
      try {
        review = decodeReview(request.body)
      } catch (error) {
        if (!(error instanceof InvalidReviewError)) throw error
        metrics.observeAdmission(webhook, 'bad-request', 'invalid-review', (performance.now() - started) / 1000)
        request.log.warn({ webhook, problem: error.message }, 'invalid admission review')
        await reply.code(400).send(errorBody(400, error.message))
        return
      }
      const timeout = request.query.timeout
      const budgetMs = resolveBudgetMs(Array.isArray(timeout) ? timeout[0] : timeout, config.admission)
      const { result: outcome, registryRequests } = await metrics.tally(async (): Promise<AdmissionOutcome> => webhook === 'mutate'
        ? await mutateReview(review, { resolver: deps.resolver, deadline: deadlineIn(budgetMs), annotationKey: config.admission.annotationKey, limits: config.admission, issued, now })
        : validateReview(review, config.admission))
      const seconds = (performance.now() - started) / 1000
      metrics.countOldObjectReuse(outcome.pins.filter((pin) => pin.source === 'old-object').length)
      metrics.observeAdmission(webhook, outcome.decision, outcome.reason, seconds)
      const entry = admissionLogEntry(webhook, review, outcome, { durationMs: Math.round(seconds * 1000), registryRequests, budgetMs })
      if (outcome.decision === 'errored') request.log.error(entry, 'admission')
      else request.log.info(entry, 'admission')
      await reply.code(200).send(outcome.review)
    } finally {
      finished()
    }
  }

  // The apiserver sends JSON only; fastify's default text/plain parser would turn other bodies into confusing 400s.
  app.removeContentTypeParser('text/plain')
  app.post<AdmissionRoute>('/mutate', async (request, reply) => { await answer('mutate', request, reply) })
  app.post<AdmissionRoute>('/validate', async (request, reply) => { await answer('validate', request, reply) })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    if (readiness.ready) return { status: 'ok' }
    return await reply.code(503).send({ status: 'not ready', reasons: readiness.reasons })
  })

  // Once shutdown starts, every answer closes its connection so clients move to another replica during the delay.
  app.addHook('onSend', async (_request, reply) => {
    if (readiness.shuttingDown) reply.header('connection', 'close')
  })

  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send(errorBody(404, `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })

  app.setErrorHandler(async (error: Error & { code?: string, statusCode?: number }, request, reply) => {
    const known = error.code === undefined ? undefined : clientErrors[error.code]
    if (known !== undefined) {
      request.log.warn({ problem: error.code, url: request.url.split('?')[0] }, 'rejected request')
      await reply.code(known.status).send(errorBody(known.status, known.message(config.server.bodyLimitBytes)))
      return
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({ err: error }, 'request failed')
    await reply.code(status).send(errorBody(status, status === 500 ? 'internal error' : error.message))
  })
}

function seconds (value: number): number {
  return Math.round(value * 1000)
}

type CommonOptions = Pick<FastifyServerOptions, 'bodyLimit' | 'requestTimeout' | 'connectionTimeout' | 'keepAliveTimeout' |
'logController' | 'return503OnClosing' | 'forceCloseConnections' | 'logger' | 'loggerInstance' | 'schemaController'>

function fastifyOptions (config: Readonly<Config>, deps: AppDeps): CommonOptions {
  return {
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: seconds(config.server.requestTimeoutSeconds),
    connectionTimeout: seconds(config.server.requestTimeoutSeconds),
    keepAliveTimeout: seconds(config.server.keepAliveTimeoutSeconds),
    // One line per admission is written by the route itself; fastify's two lines per request would double it.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // No route declares a schema; without these fastify would load ajv and fast-json-stringify for nothing (issue 17 §3).
    schemaController: { compilersFactory: noRouteSchemaCompilers },
    forceCloseConnections: 'idle',
    ...(deps.loggerInstance === undefined
      ? { logger: deps.logger ?? { level: config.logLevel } }
      : { loggerInstance: deps.loggerInstance })
  }
}

export function buildApp (config: Readonly<Config>, deps: AppDeps): FastifyInstance
export function buildApp (config: Readonly<Config>, deps: AppDeps, options: AppOptions & { https: HttpsOptions }): FastifyInstance<HttpsServer>
export function buildApp (config: Readonly<Config>, deps: AppDeps, options: AppOptions = {}): FastifyInstance | FastifyInstance<HttpsServer> {
  const base = fastifyOptions(config, deps)
  if (options.https !== undefined) {
    const app = Fastify({ ...base, https: options.https })
    // Slowloris: a client must finish its headers quickly; fastify has no option for this one.
    app.server.headersTimeout = seconds(config.server.headersTimeoutSeconds)
    install(app, config, deps)
    return app
  }
  const app = Fastify(base)
  app.server.headersTimeout = seconds(config.server.headersTimeoutSeconds)
  install(app, config, deps)
  return app
}
