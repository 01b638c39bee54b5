import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createSecureContext, rootCertificates } from 'node:tls'
import { Agent, request } from 'undici'
import type { RegistryConfig } from '../config.js'
import { BlockedAddressError, guardedLookup, isForbiddenHostName } from './address-guard.js'

/**
 * The only code that opens connections to registries. One keep-alive undici Agent per configured registry (its CA
 * and link-local policy differ), created on first use and reused for every later lookup. Redirects are followed
 * here by hand so that every hop passes the address guard and loses its Authorization when it leaves the origin.
 */

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** undefined for HEAD */
  body: Buffer | undefined
  /** the URL that finally answered, after redirects */
  url: URL
}

export interface SendOptions {
  method: 'GET' | 'HEAD'
  headers: Record<string, string>
  signal: AbortSignal
  /** sent only to `url`'s origin; dropped on any redirect that leaves it */
  authorization?: string | undefined
}

export class RedirectError extends Error {
  readonly code = 'EREDIRECT'
}

export class BodyTooLargeError extends Error {
  readonly code = 'EBODYTOOLARGE'
}

const maxRedirects = 5
// OCI distribution spec: registries SHOULD accept manifests up to 4 MiB; nothing legitimate is bigger.
const maxBodyBytes = 4 * 1024 * 1024

/** One HTTP exchange with a registry or its token server, for metrics and per-admission request counts. */
export interface ExchangeEvent {
  /** the registry as written (config key), whichever host answered */
  registry: string
  /** HTTP status, or "error" when no response arrived */
  status: number | 'error'
  durationMs: number
}

export interface TransportOptions {
  perRequestTimeoutMs: number
  userAgent: string
  onExchange?: ((event: ExchangeEvent) => void) | undefined
}

export class Transport {
  readonly #agents = new Map<string, Agent>()
  readonly #options: TransportOptions
  constructor (options: TransportOptions) {
    this.#options = options
  }

  #agentFor (settings: RegistryConfig): Agent {
    let agent = this.#agents.get(settings.host)
    if (agent === undefined) {
      // One TLS context per registry: passing `ca` instead would rebuild it, with every root certificate, per connection.
      const secureContext = settings.caFile === undefined
        ? undefined
        : createSecureContext({ ca: [...rootCertificates, readFileSync(settings.caFile, 'utf8')] })
      agent = new Agent({
        keepAliveTimeout: 30_000,
        headersTimeout: this.#options.perRequestTimeoutMs,
        bodyTimeout: this.#options.perRequestTimeoutMs,
        connections: 16,
        connect: {
          ...(secureContext === undefined ? {} : { secureContext }),
          ...(settings.allowLinkLocal ? {} : { lookup: guardedLookup }),
          timeout: this.#options.perRequestTimeoutMs
        }
      })
      this.#agents.set(settings.host, agent)
    }
    return agent
  }

  async send (url: URL, options: SendOptions, settings: RegistryConfig): Promise<HttpResponse> {
    const agent = this.#agentFor(settings)
    const origin = url.origin
    let current = url
    for (let hop = 0; ; hop++) {
      if (!settings.allowLinkLocal && isForbiddenHostName(current.hostname)) {
        throw new BlockedAddressError(current.hostname, current.hostname)
      }
      const headers: Record<string, string> = { ...options.headers, 'user-agent': this.#options.userAgent }
      if (options.authorization !== undefined && current.origin === origin) headers['authorization'] = options.authorization
      const started = performance.now()
      let response
      try {
        response = await request(current, {
          method: options.method,
          headers,
          signal: AbortSignal.any([options.signal, AbortSignal.timeout(this.#options.perRequestTimeoutMs)]),
          dispatcher: agent,
          // undici closes the connection after every HEAD unless told otherwise (nodejs/undici#258, servers that send
          // a HEAD body); registries speak the distribution API correctly, and a new TLS handshake per tag lookup was
          // most of our cold-path cost (BENCHMARKS.md).
          reset: false
        })
      } catch (error) {
        this.#options.onExchange?.({ registry: settings.host, status: 'error', durationMs: performance.now() - started })
        throw error
      }
      this.#options.onExchange?.({ registry: settings.host, status: response.statusCode, durationMs: performance.now() - started })
      const location = response.headers['location']
      if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
        await response.body.dump()
        if (hop + 1 >= maxRedirects) throw new RedirectError(`more than ${maxRedirects} redirects, last to ${location}`)
        const next = new URL(location, current)
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && settings.insecure)) {
          throw new RedirectError(`redirect to ${next.protocol}//${next.host} refused: only HTTPS${settings.insecure ? ' or HTTP' : ''} is allowed`)
        }
        current = next
        continue
      }
      const body = options.method === 'HEAD' ? undefined : await readLimited(response.body)
      if (options.method === 'HEAD') await response.body.dump()
      return { status: response.statusCode, headers: response.headers, body, url: current }
    }
  }

  /** Open sockets across all registries (undici's own accounting). */
  get openSockets (): number {
    let total = 0
    for (const agent of this.#agents.values()) {
      for (const stats of Object.values(agent.stats)) total += Number(stats.connected)
    }
    return total
  }

  async close (): Promise<void> {
    await Promise.all([...this.#agents.values()].map(async (agent) => { await agent.close() }))
    this.#agents.clear()
  }
}

async function readLimited (body: AsyncIterable<Buffer> & { destroy: (error?: Error) => unknown }): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body) {
    length += chunk.length
    if (length > maxBodyBytes) {
      body.destroy()
      throw new BodyTooLargeError(`response body exceeds ${maxBodyBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
