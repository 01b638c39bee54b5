import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createSecureContext, rootCertificates } from 'node:tls'
import { LRUCache } from 'lru-cache'
import type { Agent } from 'undici'
import type { RegistryConfig } from '../config.js'
import { BlockedAddressError, guardedLookup, isForbiddenHostName } from './address-guard.js'
import { loadUndici, type Undici } from './load-undici.js'
import { readCapped } from './read-capped.js'
import { checkRealmLiteral, realmLookup } from './realm-guard.js'
import { requestSignal } from './request-signal.js'

/**
 * The only code that opens connections to registries. One keep-alive undici Agent per registry (its CA and
 * link-local policy differ) and one per registry for its token realm (whose addresses are guarded more strictly),
 * kept in a bounded LRU: registry hosts come from users, and 40,000 of them must not keep 40,000 Agents (issue 13).
 * Redirects are followed here by hand so that every hop passes the address guard and loses its Authorization when
 * it leaves the origin. Bodies are read up to a cap chosen by the caller.
 */

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** undefined for HEAD, and for an error body over BodyLimit.errorBody (then `bodyDiscarded` is true) */
  body: Buffer | undefined
  bodyDiscarded?: boolean
  /** the URL that finally answered, after redirects */
  url: URL
}

export interface SendOptions {
  method: 'GET' | 'HEAD'
  headers: Record<string, string>
  signal: AbortSignal
  /** sent only to `url`'s origin; dropped on any redirect that leaves it */
  authorization?: string | undefined
  /** most bytes read from a 2xx body: over it the request fails with BodyTooLargeError */
  maxBodyBytes: number
  /**
   * A token realm named by the registry at `registryHost`: connections to it must not reach loopback or private
   * addresses unless that registry is on one too (issue 13 §2).
   */
  realmOf?: { registryHost: string } | undefined
}

export class RedirectError extends Error {
  readonly code = 'EREDIRECT'
}

const maxRedirects = 5

/**
 * How long an idle connection to a registry stays open when the registry does not say (no `Keep-Alive: timeout=`).
 * CREATEs arrive rarely: with undici's default (4 s) nearly every admission paid a new TCP and TLS handshake, a round
 * trip or two to a distant registry (issue 17). docker-registry, like most registries, keeps idle connections without
 * limit and closes them with a FIN, which undici notices; five minutes stays under the shortest silent idle drop of
 * common NAT gateways (AWS: 350 s). A race with a registry closing at the same moment fails as a retryable network
 * error (resolver.maxAttempts).
 */
export const idleConnectionMs = 5 * 60_000
/** A registry's own `Keep-Alive: timeout=N` wins (undici closes 2 s before N), up to this. */
export const maxIdleConnectionMs = 10 * 60_000

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
  /** undici connections per origin: with the per-registry lookup cap, what one registry can make us open */
  connectionsPerOrigin: number
  /** Agents kept (registry and realm ones together); the least recently used is closed beyond this */
  maxAgents: number
  /** an Agent unused this long is closed when next touched or evicted */
  agentIdleMs?: number
  onExchange?: ((event: ExchangeEvent) => void) | undefined
}

export class Transport {
  readonly #agents: LRUCache<string, Agent>
  readonly #closing = new Set<Promise<void>>()
  readonly #options: TransportOptions
  constructor (options: TransportOptions) {
    this.#options = options
    this.#agents = new LRUCache<string, Agent>({
      max: options.maxAgents,
      ttl: options.agentIdleMs ?? 10 * 60_000,
      updateAgeOnGet: true,
      // Evicted or expired: close gracefully (requests in flight finish) and forget the promise once it settles.
      dispose: (agent) => {
        const closing = agent.close().catch(() => {}).finally(() => { this.#closing.delete(closing) })
        this.#closing.add(closing)
      }
    })
  }

  #agentFor ({ Agent }: Undici, settings: RegistryConfig, realmOf: SendOptions['realmOf']): Agent {
    const key = realmOf === undefined ? settings.host : `${settings.host}\nrealm of ${realmOf.registryHost}`
    let agent = this.#agents.get(key)
    if (agent === undefined) {
      // One TLS context per registry: passing `ca` instead would rebuild it, with every root certificate, per connection.
      const secureContext = settings.caFile === undefined
        ? undefined
        : createSecureContext({ ca: [...rootCertificates, readFileSync(settings.caFile, 'utf8')] })
      const lookup = realmOf !== undefined
        ? realmLookup(realmOf.registryHost, settings.allowLinkLocal)
        : settings.allowLinkLocal ? undefined : guardedLookup
      agent = new Agent({
        keepAliveTimeout: idleConnectionMs,
        keepAliveMaxTimeout: maxIdleConnectionMs,
        headersTimeout: this.#options.perRequestTimeoutMs,
        bodyTimeout: this.#options.perRequestTimeoutMs,
        connections: this.#options.connectionsPerOrigin,
        connect: {
          ...(secureContext === undefined ? {} : { secureContext }),
          ...(lookup === undefined ? {} : { lookup }),
          timeout: this.#options.perRequestTimeoutMs
        }
      })
      this.#agents.set(key, agent)
    }
    return agent
  }

  async send (url: URL, options: SendOptions, settings: RegistryConfig): Promise<HttpResponse> {
    const loaded = await loadUndici()
    const agent = this.#agentFor(loaded, settings, options.realmOf)
    const origin = url.origin
    let current = url
    for (let hop = 0; ; hop++) {
      if (!settings.allowLinkLocal && isForbiddenHostName(current.hostname)) {
        throw new BlockedAddressError(current.hostname, current.hostname)
      }
      if (options.realmOf !== undefined) await checkRealmLiteral(current.hostname, options.realmOf.registryHost, settings.allowLinkLocal)
      const headers: Record<string, string> = { ...options.headers, 'user-agent': this.#options.userAgent }
      if (options.authorization !== undefined && current.origin === origin) headers['authorization'] = options.authorization
      // Armed for this hop until its body is read: a registry that stalls mid-body is cut off like one that never answers.
      const exchange = requestSignal(options.signal, this.#options.perRequestTimeoutMs)
      try {
        const answer = await this.#exchange(loaded, agent, current, options, headers, exchange.signal, settings, hop + 1 >= maxRedirects)
        if (!(answer instanceof URL)) return answer
        current = answer
      } finally {
        exchange.release()
      }
    }
  }

  /** One hop: the response, or the URL a redirect points to (its body already discarded). */
  async #exchange (loaded: Undici, agent: Agent, current: URL, options: SendOptions, headers: Record<string, string>,
    signal: AbortSignal, settings: RegistryConfig, lastHop: boolean): Promise<HttpResponse | URL> {
    const started = performance.now()
    let response
    try {
      response = await loaded.request(current, {
        method: options.method,
        headers,
        signal,
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
      if (lastHop) throw new RedirectError(`more than ${maxRedirects} redirects, last to ${location}`)
      const next = new URL(location, current)
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && settings.insecure)) {
        throw new RedirectError(`redirect to ${next.protocol}//${next.host} refused: only HTTPS${settings.insecure ? ' or HTTP' : ''} is allowed`)
      }
      return next
    }
    if (options.method === 'HEAD') {
      await response.body.dump()
      return { status: response.statusCode, headers: response.headers, body: undefined, url: current }
    }
    const read = await readCapped(response, options.maxBodyBytes)
    return { status: response.statusCode, headers: response.headers, body: read.body, ...(read.discarded ? { bodyDiscarded: true } : {}), url: current }
  }

  /** Open sockets across all registries (undici's own accounting). */
  get openSockets (): number {
    let total = 0
    for (const agent of this.#agents.values()) {
      for (const stats of Object.values(agent.stats)) total += Number(stats.connected)
    }
    return total
  }

  /** Agents currently kept, for tests and metrics. */
  get agentCount (): number {
    return this.#agents.size
  }

  async close (): Promise<void> {
    this.#agents.clear()
    await Promise.all([...this.#closing])
  }
}
