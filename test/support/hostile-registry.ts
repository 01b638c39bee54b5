/**
 * A hostile (or just counting) registry on real sockets for issue 13: it speaks enough of the distribution API for
 * our client (HEAD/GET manifests, a Bearer or Basic challenge, a /token endpoint on its own origin) and lets a test
 * choose what a hostile server would: huge tokens, huge manifests or error bodies, a realm elsewhere, slow answers.
 * It counts what a test asserts on: requests and connections at once (peaks, optionally shared by several servers),
 * Authorization headers seen, and how many body bytes it managed to write before the client hung up.
 *
 *   const reg = await startHostileRegistry(t, { auth: 'bearer', tokenBytes: 4 << 20 })
 *   ... resolve `${reg.host}/repo-1/app:v1` ...
 */
import { createHash } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { Teardown } from './registry.js'

/** Peaks across every server that shares it, e.g. several registries and the global lookup cap. */
export class ConcurrencyCounter {
  requests = 0
  peakRequests = 0
  connections = 0
  peakConnections = 0
  totalRequests = 0
  totalConnections = 0
  enterRequest (): void {
    this.requests++
    this.totalRequests++
    this.peakRequests = Math.max(this.peakRequests, this.requests)
  }

  enterConnection (): void {
    this.connections++
    this.totalConnections++
    this.peakConnections = Math.max(this.peakConnections, this.connections)
  }
}

export interface HostileRegistryOptions {
  /** 'none': answer every manifest request; 'bearer': 401 with a Bearer challenge unless a Bearer token came; 'basic' likewise */
  auth?: 'none' | 'bearer' | 'basic'
  /** realm named in the Bearer challenge; default this server's own /token */
  realm?: string
  /** characters of the token /token hands out; default 64 */
  tokenBytes?: number
  /** milliseconds before each manifest answer */
  delayMs?: number
  /** omit Docker-Content-Digest on HEAD, so the client GETs the manifest */
  stripDigest?: boolean
  /** manifest bytes on GET; default a small JSON manifest */
  manifestBytes?: number
  /** answer manifests with 404 and an error body of this many bytes */
  errorBodyBytes?: number
  /** for large bodies: send a Content-Length (true) or stream chunked (false, default) */
  contentLength?: boolean
  listenHost?: string
  tls?: { certPem: string, keyPem: string }
  counter?: ConcurrencyCounter
}

export interface HostileRegistry {
  host: string
  baseUrl: string
  counter: ConcurrencyCounter
  /**
   * Authorization schemes seen ("Basic", "Bearer"), by path kind: only the scheme, so a memory test does not measure
   * the tokens this server keeps.
   */
  authorizations: { token: string[], manifest: string[] }
  tokenRequests: () => number
  /** body bytes this server handed to the socket for large bodies before the client closed (or all of them) */
  largeBodyBytesWritten: () => number
  close: () => Promise<void>
}

const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }))
const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
const chunk = Buffer.alloc(64 * 1024, 0x61)

const schemeOf = (authorization: string): string => /^basic /i.test(authorization) ? 'Basic' : /^bearer /i.test(authorization) ? 'Bearer' : 'other'

/** Writes `total` bytes (prefix, filler, suffix), respecting backpressure, and stops as soon as the client is gone. */
async function stream (res: ServerResponse, prefix: Buffer, total: number, count: (bytes: number) => void, suffix: Buffer = Buffer.alloc(0)): Promise<void> {
  let sent = 0
  const write = async (bytes: Buffer): Promise<boolean> => {
    if (res.destroyed || res.socket === null || res.socket.destroyed) return false
    count(bytes.length)
    sent += bytes.length
    if (!res.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
        res.once('drain', done)
        res.once('close', done)
      })
    }
    return true
  }
  if (!await write(prefix)) return
  const fillTo = total - suffix.length
  while (sent < fillTo) {
    if (!await write(chunk.subarray(0, Math.min(chunk.length, fillTo - sent)))) return
  }
  if (await write(suffix)) res.end()
}

export async function startHostileRegistry (t: Teardown, options: HostileRegistryOptions = {}): Promise<HostileRegistry> {
  const counter = options.counter ?? new ConcurrencyCounter()
  const authorizations = { token: [] as string[], manifest: [] as string[] }
  let tokens = 0
  let largeBytes = 0
  let origin = ''
  const sockets = new Set<Socket>()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const authorization = req.headers.authorization
    if (url.pathname === '/token') {
      tokens++
      if (authorization !== undefined) authorizations.token.push(schemeOf(authorization))
      const size = options.tokenBytes ?? 64
      // Each repository's token is different, as a real token server's would be.
      const prefix = Buffer.from(`{"expires_in":3600,"token":"${url.searchParams.get('scope') ?? ''}`)
      const suffix = Buffer.from('"}')
      const body = Buffer.concat([prefix, Buffer.alloc(size, 0x74), suffix])
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      res.end(body)
      return
    }
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname)
    if (match === null) {
      res.writeHead(404).end()
      return
    }
    if (authorization !== undefined) authorizations.manifest.push(schemeOf(authorization))
    const auth = options.auth ?? 'none'
    const authorized = auth === 'none' || (auth === 'bearer' ? authorization?.startsWith('Bearer ') : authorization?.startsWith('Basic ')) === true
    if (!authorized) {
      const challenge = auth === 'bearer'
        ? `Bearer realm="${options.realm ?? `${origin}/token`}",service="hostile",scope="repository:${match[1] ?? ''}:pull"`
        : 'Basic realm="hostile"'
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json', 'content-length': 2 }).end(req.method === 'HEAD' ? undefined : '{}')
      return
    }
    if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
    if (options.errorBodyBytes !== undefined) {
      const prefix = Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"')
      const headers = { 'content-type': 'application/json', ...(options.contentLength === true ? { 'content-length': options.errorBodyBytes } : {}) }
      res.writeHead(404, headers)
      if (req.method === 'HEAD') { res.end(); return }
      await stream(res, prefix, options.errorBodyBytes, (bytes) => { largeBytes += bytes }, Buffer.from('"}]}'))
      return
    }
    const large = options.manifestBytes !== undefined && req.method === 'GET'
    const headers: Record<string, string | number> = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }
    if (!(options.stripDigest === true || large)) headers['docker-content-digest'] = manifestDigest
    if (!large) {
      res.writeHead(200, { ...headers, 'content-length': manifest.length }).end(req.method === 'HEAD' ? undefined : manifest)
      return
    }
    const total = options.manifestBytes ?? 0
    res.writeHead(200, { ...headers, ...(options.contentLength === true ? { 'content-length': total } : {}) })
    await stream(res, Buffer.alloc(0), total, (bytes) => { largeBytes += bytes })
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    counter.enterRequest()
    res.once('close', () => { counter.requests-- })
    handle(req, res).catch(() => { res.destroy() })
  }
  // A hostile registry takes back the huge tokens it hands out (Node's default is 16 KiB of headers).
  const maxHeaderSize = 16 * 1024 * 1024
  const server: Server = options.tls === undefined
    ? createHttpServer({ maxHeaderSize }, listener)
    : createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem, maxHeaderSize }, listener)
  server.keepAliveTimeout = 60_000
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    counter.enterConnection()
    sockets.add(socket)
    socket.once('close', () => { counter.connections--; sockets.delete(socket) })
  })
  server.on('clientError', (_error, socket: Socket) => { socket.destroy() })
  const listenHost = options.listenHost ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, listenHost, () => { server.off('error', reject); resolve() })
  })
  const { port } = server.address() as AddressInfo
  const host = `${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`
  origin = `${options.tls === undefined ? 'http' : 'https'}://${host}`
  let closed: Promise<void> | undefined
  const registry: HostileRegistry = {
    host,
    baseUrl: origin,
    counter,
    authorizations,
    tokenRequests: () => tokens,
    largeBodyBytesWritten: () => largeBytes,
    close: async () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => { resolve() })
        for (const socket of sockets) socket.destroy()
      })
      await closed
    }
  }
  t.teardown(registry.close)
  return registry
}
