import type { FastifyServerOptions } from 'fastify'

/**
 * Issue 17 §3: unless it is given compilers, fastify requires @fastify/ajv-compiler and fast-json-stringify's compiler
 * (with ajv, ajv-formats and their schemas: ~5 MB of every replica's idle RSS) when the instance is built, whether or
 * not a route ever declares a schema. Ours declare none: src/admission/review.ts decodes the AdmissionReview itself and
 * replies are plain JSON. So fastify gets compilers that refuse every schema, and a route added later with one fails
 * app.ready() at start-up (FST_ERR_SCH_VALIDATION_BUILD / FST_ERR_SCH_SERIALIZATION_BUILD carrying this message)
 * instead of serving without the validation it asked for.
 */

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

export class RouteSchemaRefusedError extends Error {
  readonly code = 'ROUTE_SCHEMA_REFUSED'
  constructor (route: { method?: string, url?: string, httpPart?: string, httpStatus?: string }) {
    const part = route.httpPart ?? `response ${route.httpStatus ?? ''}`.trim()
    super(`${route.method ?? '?'} ${route.url ?? '?'} declares a ${part} schema, but this app builds fastify without schema compilers ` +
      '(src/http/no-route-schemas.ts, issue 17 §3: they cost every replica ~5 MB); validate in the handler as ' +
      'src/admission/review.ts does, or give fastify its compilers back and measure idle RSS')
    this.name = 'RouteSchemaRefusedError'
  }
}

export const noRouteSchemaCompilers: CompilersFactory = {
  buildValidator: () => (route) => { throw new RouteSchemaRefusedError(route) },
  buildSerializer: () => (route) => { throw new RouteSchemaRefusedError(route) }
}
