import type { Server } from 'node:http'
import type { Registry } from 'prom-client'

// Not `import { createServer } from 'node:http'`: building that ES module namespace reads every export of node:http,
// including its lazy WebSocket, CloseEvent and MessageEvent getters, which load Node's bundled undici (a 745 KB
// script) into every replica: +2 MB of idle RSS for classes serve never uses (issue 17 §3). fastify's own
// require('node:http') reads no getter; getBuiltinModule returns the same module object without a namespace.
const { createServer } = process.getBuiltinModule('node:http')

/**
 * /metrics on its own plain-HTTP port (config server.metricsHost / metricsPort, issue 13 §5). Prometheus and its
 * operators expect an unauthenticated `metrics` port on the pod; keeping it off the admission port means the TLS port
 * answers only the apiserver, and a NetworkPolicy can admit scrapers from the monitoring namespace to this port alone.
 * It serves nothing else but /healthz, and only GET and HEAD.
 */
export function createMetricsServer (registry: Registry): Server {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
      response.end(request.method === 'HEAD' ? undefined : body)
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD')
      send(405, 'text/plain; charset=utf-8', 'method not allowed\n')
      return
    }
    if (path === '/healthz') {
      send(200, 'application/json; charset=utf-8', '{"status":"ok"}')
      return
    }
    if (path !== '/metrics') {
      send(404, 'text/plain; charset=utf-8', `no route for ${request.method} ${path ?? ''}; this port serves /metrics\n`)
      return
    }
    registry.metrics().then((text) => { send(200, registry.contentType, text) }, (error: unknown) => {
      send(500, 'text/plain; charset=utf-8', `cannot collect metrics: ${error instanceof Error ? error.message : String(error)}\n`)
    })
  })
  // A scrape is one short request; idle or slow clients must not hold sockets.
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  server.keepAliveTimeout = 65_000
  return server
}
