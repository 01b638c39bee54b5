/**
 * A misbehaving registry front for client tests, on real sockets: an HTTP (or HTTPS) server on
 * 127.0.0.1 that proxies to a real registry (test/support/registry.ts) but injects one fault at a time.
 *
 *   const reg = await startRegistry({ mode: 'http', t })
 *   const faulty = await startFaultyServer({ upstream: reg, t })
 *   faulty.setFault({ kind: 'status', status: 429, retryAfter: 1, times: 2 })  // then proxies
 *   ... resolve `${faulty.host}/team/app:v1` ...
 *   t.equal(faulty.requests().length, 3)
 *
 * A fault applies to requests that `match` (default all) until it has fired `times` times (default
 * forever); other requests are proxied untouched (Location headers pointing at the upstream are
 * rewritten to this server). Without an upstream, unfaulted requests get 404.
 */
import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { Agent, request } from 'undici'
import { sha256Digest } from './oci-layout.js'
import type { Teardown } from './registry.js'
import { createCa, issueCert } from './tls.js'

interface FaultScope {
  /** Apply to the first N matching requests, then proxy. Default: every matching request. */
  times?: number
  /** Which requests the fault applies to. Default: all. */
  match?: (req: { method: string; path: string; headers: IncomingHttpHeaders }) => boolean
}

export type Fault = FaultScope & (
  | { kind: 'none' }
  /** Proxy, but drop Docker-Content-Digest. */
  | { kind: 'strip-digest' }
  /** Proxy, but replace Docker-Content-Digest (default: a random valid sha256 digest). */
  | { kind: 'wrong-digest'; digest?: string }
  /** Answer this status (e.g. 429, 500, 502, 503) with an OCI error body instead of proxying. */
  | { kind: 'status'; status: number; retryAfter?: number | string; headers?: Record<string, string> }
  /** Read the request and never answer ('request'), or send the head and never the body ('headers'). */
  | { kind: 'hang'; after?: 'request' | 'headers' }
  /** Send the proxied response head one byte at a time, `intervalMs` apart (default 1000), then the body. */
  | { kind: 'slow-headers'; intervalMs?: number }
  /** TCP RST: right after the request, after the head, or after half the body. */
  | { kind: 'reset'; after?: 'request' | 'headers' | 'partial-body' }
  /** Redirect to `location` (absolute or relative). Default status 307. */
  | { kind: 'redirect'; location: string; status?: number }
  /** Redirect every request back to this server, forever. Default status 307. */
  | { kind: 'redirect-loop'; status?: number }
  /** Answer exactly this (default status 200), e.g. a token server sending garbage. */
  | { kind: 'respond'; status?: number; body: string | Buffer; headers?: Record<string, string> }
  /** Proxy, but only after `ms`: a slow but healthy registry. */
  | { kind: 'delay'; ms: number }
)

export type FaultKind = Fault['kind']

export interface FaultyRequest {
  method: string
  /** path and query as received */
  url: string
  /** the fault applied, or 'none' when proxied */
  fault: FaultKind
}

export interface FaultyRequestWithHeaders extends FaultyRequest {
  /** request headers as received (credential-scoping tests look for Authorization) */
  headers: IncomingHttpHeaders
}

export interface FaultyServerOptions {
  /** Registry to proxy to: a base URL, or a fixture registry (its CA is then trusted). */
  upstream?: string | { baseUrl: string; caPem?: string | undefined }
  /** CA for an https upstream given as a string. */
  upstreamCaPem?: string
  /** Serve HTTPS with a throw-away CA (see caPem), or with this certificate. */
  tls?: boolean | { certPem: string; keyPem: string; caPem?: string }
  fault?: Fault
  /** Address to listen on. Default 127.0.0.1; the TLS certificate names it. */
  listenHost?: string
  /** Registers close() with this test's teardown. */
  t?: Teardown
}

export interface FaultyServer {
  /** '127.0.0.1:PORT' */
  host: string
  port: number
  /** 'http://127.0.0.1:PORT' or 'https://127.0.0.1:PORT' */
  baseUrl: string
  /** CA of the serving certificate (TLS only) */
  caPem: string | undefined
  setFault(fault: Fault): void
  /** How often the current fault has fired since the last setFault(). */
  faultsFired(): number
  requests(): FaultyRequest[]
  /** The same requests with their headers. */
  requestsWithHeaders(): FaultyRequestWithHeaders[]
  resetRequests(): void
  /** Connections currently open (hung ones included). */
  openSockets(): number
  /** Connections accepted since start. */
  connections(): number
  /** Most requests for one path that were ever open at the same time (a retry storm shows here). */
  peakInFlight(): number
  /** Destroys every socket, timer and the upstream pool. Idempotent. */
  close(): Promise<void>
}

interface Upstream {
  status: number
  headers: OutgoingHttpHeaders
  body: Buffer
}

// Hop-by-hop headers describe one connection and must not be copied to the other.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

function ociError(status: number): Buffer {
  const code = status === 429 ? 'TOOMANYREQUESTS' : status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'UNAVAILABLE'
  return Buffer.from(JSON.stringify({ errors: [{ code, message: `injected fault: HTTP ${status}` }] }))
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => { resolve(Buffer.concat(chunks)) })
    req.on('error', reject)
  })
}

/** Sends a TCP RST where the platform allows it, so the peer sees ECONNRESET rather than a clean close. */
function reset(socket: Socket): void {
  try {
    socket.resetAndDestroy()
  } catch {
    // A TLS socket has no TCP handle of its own; reset the one underneath.
    const parent = (socket as Socket & { _parent?: Socket | null })._parent
    if (parent !== undefined && parent !== null) {
      try {
        parent.resetAndDestroy()
      } catch {
        // fall through
      }
    }
    socket.destroy()
  }
}

function responseHead(status: number, headers: OutgoingHttpHeaders): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`]
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`)
  }
  // Raw responses bypass Node's keep-alive bookkeeping, so the connection ends with them.
  lines.push('connection: close')
  return `${lines.join('\r\n')}\r\n\r\n`
}

export async function startFaultyServer(opts: FaultyServerOptions = {}): Promise<FaultyServer> {
  const upstreamUrl = typeof opts.upstream === 'string' ? opts.upstream : opts.upstream?.baseUrl
  const upstreamCa = typeof opts.upstream === 'object' ? opts.upstream.caPem : opts.upstreamCaPem
  const upstreamAgent = new Agent({ connect: upstreamCa === undefined ? {} : { ca: upstreamCa } })
  const listenHost = opts.listenHost ?? '127.0.0.1'
  const urlHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost

  let tls: { certPem: string; keyPem: string; caPem?: string } | undefined
  if (opts.tls === true) {
    const ca = await createCa('atw faulty-server CA')
    const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: [...new Set(['127.0.0.1', listenHost])] })
    tls = { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem }
  } else if (typeof opts.tls === 'object') {
    tls = opts.tls
  }

  let fault: Fault = opts.fault ?? { kind: 'none' }
  let fired = 0
  let records: FaultyRequestWithHeaders[] = []
  let accepted = 0
  const openByPath = new Map<string, number>()
  let peak = 0
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let origin = ''

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
  }

  async function proxy(req: IncomingMessage, body: Buffer): Promise<Upstream> {
    if (upstreamUrl === undefined) {
      return { status: 404, headers: { 'content-type': 'application/json' }, body: ociError(404) }
    }
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== 'host' && name !== 'content-length' && !HOP_BY_HOP.has(name)) headers[name] = value
    }
    const res = await request(new URL(req.url ?? '/', upstreamUrl), {
      method: (req.method ?? 'GET') as 'GET',
      headers,
      dispatcher: upstreamAgent,
      ...(body.length > 0 || (req.method !== 'GET' && req.method !== 'HEAD') ? { body } : {})
    })
    const out: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
    }
    const location = out['location']
    if (typeof location === 'string' && location.startsWith(upstreamUrl)) {
      out['location'] = origin + location.slice(new URL(upstreamUrl).origin.length)
    }
    return { status: res.statusCode, headers: out, body: Buffer.from(await res.body.arrayBuffer()) }
  }

  function send(req: IncomingMessage, res: ServerResponse, up: Upstream): void {
    res.writeHead(up.status, up.headers)
    // Node never writes a HEAD body but keeps the upstream's Content-Length, as a registry would.
    res.end(req.method === 'HEAD' ? undefined : up.body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const url = req.url ?? '/'
    const body = await readBody(req)
    const current = fault
    const path = url.split('?')[0] ?? url
    const applies = current.kind !== 'none' &&
      (current.times === undefined || fired < current.times) &&
      (current.match === undefined || current.match({ method, path, headers: req.headers }))
    records.push({ method, url, fault: applies ? current.kind : 'none', headers: req.headers })
    if (!applies) {
      send(req, res, await proxy(req, body))
      return
    }
    fired++
    const socket = req.socket
    switch (current.kind) {
      case 'strip-digest':
      case 'wrong-digest': {
        const up = await proxy(req, body)
        delete up.headers['docker-content-digest']
        if (current.kind === 'wrong-digest') {
          up.headers['docker-content-digest'] = current.digest ?? sha256Digest(randomBytes(32))
        }
        send(req, res, up)
        return
      }
      case 'status': {
        const payload = ociError(current.status)
        res.writeHead(current.status, {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...(current.retryAfter === undefined ? {} : { 'retry-after': String(current.retryAfter) }),
          ...current.headers
        })
        res.end(method === 'HEAD' ? undefined : payload)
        return
      }
      case 'hang': {
        if (current.after === 'headers') {
          const up = await proxy(req, body)
          // A head promising a body that never comes.
          res.writeHead(up.status, { ...up.headers, 'content-length': Math.max(up.body.length, 1) })
          res.flushHeaders()
        }
        // Nothing else: close() destroys the socket.
        return
      }
      case 'slow-headers': {
        const up = await proxy(req, body)
        const head = Buffer.from(responseHead(up.status, { ...up.headers, 'content-length': up.body.length }))
        const rest = method === 'HEAD' ? Buffer.alloc(0) : up.body
        const interval = current.intervalMs ?? 1000
        const drip = (i: number): void => {
          if (socket.destroyed) return
          if (i < head.length) {
            socket.write(head.subarray(i, i + 1))
            later(interval, () => { drip(i + 1) })
          } else {
            socket.end(rest)
          }
        }
        drip(0)
        return
      }
      case 'reset': {
        const after = current.after ?? 'request'
        if (after === 'request') {
          reset(socket)
          return
        }
        const up = await proxy(req, body)
        const head = responseHead(up.status, { ...up.headers, 'content-length': Math.max(up.body.length, 2) })
        const part = after === 'partial-body' && method !== 'HEAD' ? up.body.subarray(0, Math.max(1, Math.floor(up.body.length / 2))) : Buffer.alloc(0)
        socket.write(Buffer.concat([Buffer.from(head), part]), () => {
          // Let the bytes leave before the RST, which would otherwise discard them.
          later(20, () => { reset(socket) })
        })
        return
      }
      case 'respond': {
        const payload = Buffer.from(current.body)
        res.writeHead(current.status ?? 200, { 'content-length': payload.length, ...current.headers })
        res.end(method === 'HEAD' ? undefined : payload)
        return
      }
      case 'delay': {
        await new Promise<void>((resolve) => { later(current.ms, resolve) })
        if (!socket.destroyed) send(req, res, await proxy(req, body))
        return
      }
      case 'redirect':
      case 'redirect-loop': {
        let location: string
        if (current.kind === 'redirect') {
          location = current.location
        } else {
          const next = new URL(url, origin)
          next.searchParams.set('atw-hop', String(Number(next.searchParams.get('atw-hop') ?? '0') + 1))
          location = next.pathname + next.search
        }
        res.writeHead(current.status ?? 307, { location, 'content-length': 0 })
        res.end()
      }
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const open = (openByPath.get(path) ?? 0) + 1
    openByPath.set(path, open)
    peak = Math.max(peak, open)
    res.once('close', () => { openByPath.set(path, (openByPath.get(path) ?? 1) - 1) })
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      const message = Buffer.from(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `faulty-server: ${String(err)}` }] }))
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': message.length })
      res.end(message)
    })
  }
  const server: Server = tls === undefined
    ? createHttpServer(listener)
    : createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, listener)
  server.on('connection', (socket: Socket) => {
    accepted++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // A client that resets first must not crash the test process.
  server.on('clientError', (_err, socket: Socket) => { socket.destroy() })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, listenHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  origin = `${tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`

  let closed: Promise<void> | undefined
  const faulty: FaultyServer = {
    host: `${urlHost}:${port}`,
    port,
    baseUrl: origin,
    caPem: tls?.caPem,
    setFault(next) {
      fault = next
      fired = 0
    },
    faultsFired: () => fired,
    requests: () => records.map(({ method, url, fault }) => ({ method, url, fault })),
    requestsWithHeaders: () => [...records],
    resetRequests() {
      records = []
      peak = Math.max(0, ...openByPath.values())
    },
    openSockets: () => sockets.size,
    connections: () => accepted,
    peakInFlight: () => peak,
    close() {
      closed ??= (async () => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        const stopped = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
        // Wait for each 'close', so openSockets() is 0 once close() resolves.
        const gone = [...sockets].map((socket) => new Promise<void>((resolve) => {
          socket.once('close', () => { resolve() })
          socket.destroy()
        }))
        await Promise.all([stopped, ...gone])
        await upstreamAgent.close()
      })()
      return closed
    }
  }
  opts.t?.teardown(() => faulty.close())
  return faulty
}
