import { setTimeout as sleep } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'
import type { Config } from '../config.js'
import { ErrorCode, InvalidReferenceError, RegistryError, type RegistryErrorFacts } from '../errors.js'
import { lookupLocation, parseReference, pinnedReference, type ImageReference, type LookupLocation } from '../images/reference.js'
import { endpointFor, type Endpoint } from './endpoint.js'
import { LastGoodDigests } from './last-good.js'
import { LookupSlots } from './lookup-slots.js'
import type { ManifestClient, ManifestDigest } from './manifest-client.js'
import type { StaleCause } from './stale.js'
import type { Deadline, Resolution, Resolver } from './types.js'

/**
 * Batch tag → digest resolution: every distinct lookup of a batch is started at once but runs only when one of the
 * bounded lookup slots (global and per registry) is free, waiting at most until its deadline; identical lookups in
 * flight (across concurrent admissions too) share one registry call; transient failures are retried with jittered
 * backoff only while the deadline allows; a registry's Retry-After is honoured by not asking it again before then.
 * Everything remembered is in a bounded lru-cache (issue 13 §1). With resolver.staleIfErrorSeconds an outage falls back
 * to the last digest the registry gave for the same lookup, and the answer says so (issue 16 §3).
 */

export interface LookupEvent {
  registry: string
  /** "pinned", "cached", or the error code */
  outcome: string
  requests: number
  credentialSource: string | undefined
  durationMs: number
  /** the lookup failed (outcome is its error code) and an earlier digest was used instead, for this cause */
  stale?: StaleCause | undefined
  /** this caller joined an identical lookup already in flight (single flight) and sent no request of its own */
  joined?: true
}

export interface RegistryResolverOptions {
  config: Pick<Config, 'registries' | 'resolver'>
  manifests: Pick<ManifestClient, 'lookup'>
  onLookup?: (event: LookupEvent) => void
  now?: () => number
  random?: () => number
}

interface CachedDigest { digest: string, mediaType: string }

/** Everything a reference's lookup needs that depends only on the reference and the (fixed) config. */
interface LookupTarget {
  parsed: ImageReference
  tag: string
  location: LookupLocation
  endpoint: Endpoint
  /** the digest cache's and single flight's key: where the lookup really goes */
  key: string
}

// Warm admissions look the same few references up again and again; parsing each one and building its endpoint URL
// every time was a large share of a cached lookup (BENCHMARKS.md). Bounded in count and characters, because the
// references come from users.
const maxRememberedTargets = 1024
const maxRememberedTargetChars = 1 << 20

export class RegistryResolver implements Resolver {
  readonly #options: RegistryResolverOptions
  readonly #now: () => number
  readonly #random: () => number
  /** single flight; an entry leaves when its lookup settles, so its size is what is in flight */
  readonly #inflight = new Map<string, Promise<ManifestDigest>>()
  readonly #cache: LRUCache<string, CachedDigest>
  readonly #coolingUntil: LRUCache<string, { until: number, error: RegistryError }>
  readonly #targets = new LRUCache<string, LookupTarget>({
    max: maxRememberedTargets,
    maxSize: maxRememberedTargetChars,
    sizeCalculation: (_target, reference) => reference.length + 1
  })

  readonly #slots: LookupSlots
  /** only when resolver.staleIfErrorSeconds > 0; a one-shot CLI run asks each lookup once and never falls back */
  readonly #lastGood: LastGoodDigests | undefined

  constructor (options: RegistryResolverOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    const { resolver } = options.config
    // The injected clock drives expiry; ttlResolution 0 so a test's clock step is seen at once.
    const perf = { now: this.#now }
    this.#cache = new LRUCache({ max: resolver.maxCachedDigests, perf, ttlResolution: 0 })
    this.#coolingUntil = new LRUCache({ max: resolver.maxRegistryHosts, perf, ttlResolution: 0 })
    this.#slots = new LookupSlots(resolver.maxLookupsInFlight, resolver.maxLookupsInFlightPerRegistry)
    // As many as the digest cache may hold: the same references, one small record each.
    this.#lastGood = resolver.staleIfErrorSeconds > 0
      ? new LastGoodDigests({ windowMs: resolver.staleIfErrorSeconds * 1000, maxEntries: resolver.maxCachedDigests, now: this.#now })
      : undefined
  }

  /** Lookups holding a slot and lookups waiting for one, for tests and metrics. */
  get slotCounts (): { inFlight: number, waiting: number } {
    return this.#slots.counts
  }

  async resolveAll (references: readonly string[], deadline: Deadline): Promise<Map<string, Resolution>> {
    const unique = [...new Set(references)]
    const results = await Promise.all(unique.map(async (reference) => [reference, await this.resolveOne(reference, deadline)] as const))
    return new Map(results)
  }

  async resolveOne (original: string, deadline: Deadline): Promise<Resolution> {
    let target
    try {
      target = this.#targetOf(original)
    } catch (error) {
      if (error instanceof InvalidReferenceError) return { ok: false, original, error }
      throw error
    }
    const { parsed, tag, location, endpoint, key } = target
    if (parsed.digest !== undefined) {
      return { ok: true, original, pinned: original, digest: parsed.digest, mediaType: 'unknown', fromCache: true }
    }
    const started = this.#now()

    const cached = this.#cache.get(key)
    if (cached !== undefined) {
      this.#emit(location.registry, 'cached', 0, undefined, started)
      return { ok: true, original, pinned: pinnedReference(parsed, cached.digest), digest: cached.digest, mediaType: cached.mediaType, fromCache: true }
    }
    const flight = { joined: false }
    try {
      const found = await this.#shared(key, deadline, flight, { registry: location.registry, repository: location.repository, reference: tag },
        async () => await this.#withRetries(endpoint.registry, location.repository, tag, deadline,
          async () => await this.#inSlot(endpoint, location.repository, tag, deadline,
            async () => await this.#options.manifests.lookup(endpoint, location.repository, tag, deadline.signal))))
      const { cacheTtlSeconds, burstWindowMs } = this.#options.config.resolver
      const keepMs = Math.max(cacheTtlSeconds * 1000, burstWindowMs)
      if (keepMs > 0) this.#cache.set(key, { digest: found.digest, mediaType: found.mediaType }, { ttl: keepMs })
      this.#lastGood?.remember(key, found)
      this.#emit(location.registry, 'pinned', flight.joined ? 0 : found.requests, found.credentialSource, started, undefined, flight.joined)
      return { ok: true, original, pinned: pinnedReference(parsed, found.digest), digest: found.digest, mediaType: found.mediaType, fromCache: false }
    } catch (error) {
      const typed = error instanceof RegistryError
        ? error
        : new RegistryError(ErrorCode.registryUnreachable, (error as Error).message, { registry: location.registry, repository: location.repository, reference: tag, cause: error })
      const stale = this.#lastGood?.recall(key, typed)
      this.#emit(location.registry, typed.code, 0, typed.credentialSource, started, stale?.staleness.cause, flight.joined)
      if (stale !== undefined) {
        return { ok: true, original, pinned: pinnedReference(parsed, stale.digest), digest: stale.digest, mediaType: stale.mediaType, fromCache: true, stale: stale.staleness }
      }
      return { ok: false, original, error: typed }
    }
  }

  /** Throws InvalidReferenceError; only references that parse are remembered. */
  #targetOf (original: string): LookupTarget {
    const known = this.#targets.get(original)
    if (known !== undefined) return known
    const parsed = parseReference(original)
    const tag = parsed.tag ?? 'latest'
    const location = lookupLocation(parsed)
    const endpoint = endpointFor(this.#options.config, location.registry, location.endpointHost)
    const target: LookupTarget = { parsed, tag, location, endpoint, key: `${endpoint.baseUrl.href}${location.repository}:${tag}` }
    this.#targets.set(original, target)
    return target
  }

  /**
   * Single flight: concurrent identical lookups wait for the one already on the wire, but each caller only until its
   * own deadline; the lookup runs under the deadline of the admission that started it, which may be later (issue 7).
   * Sets `flight.joined` when this caller waited for a lookup already in flight, for the single-flight hit count.
   */
  async #shared (key: string, deadline: Deadline, flight: { joined: boolean }, facts: RegistryErrorFacts,
    lookup: () => Promise<ManifestDigest>): Promise<ManifestDigest> {
    let pending = this.#inflight.get(key)
    if (pending === undefined) {
      pending = lookup().finally(() => this.#inflight.delete(key))
      this.#inflight.set(key, pending)
      // Runs under this caller's deadline and settles by it, with the registry's own words.
      return await pending
    }
    flight.joined = true
    const timedOut = (): RegistryError => new RegistryError(ErrorCode.registryTimeout, `registry ${facts.registry}: no answer before the admission deadline`, facts)
    if (deadline.signal.aborted) throw timedOut()
    let onAbort = (): void => {}
    const expired = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(timedOut()) }
      deadline.signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([pending, expired])
    } finally {
      deadline.signal.removeEventListener('abort', onAbort)
    }
  }

  /** One attempt holds one slot; a retry's backoff holds none. The slot is per origin asked, where sockets open. */
  async #inSlot (endpoint: Endpoint, repository: string, tag: string, deadline: Deadline, attempt: () => Promise<ManifestDigest>): Promise<ManifestDigest> {
    let release
    try {
      release = await this.#slots.acquire(endpoint.baseUrl.host, deadline.signal)
    } catch (error) {
      const { maxLookupsInFlight, maxLookupsInFlightPerRegistry } = this.#options.config.resolver
      throw new RegistryError(ErrorCode.registryTimeout,
        `registry ${endpoint.registry}: no lookup slot before the admission deadline (at most ${maxLookupsInFlightPerRegistry} lookups per registry and ${maxLookupsInFlight} in all run at once; the rest wait in line)`,
        { registry: endpoint.registry, repository, reference: tag, cause: error })
    }
    try {
      return await attempt()
    } finally {
      release()
    }
  }

  async #withRetries (registry: string, repository: string, tag: string, deadline: Deadline,
    attempt: () => Promise<ManifestDigest>): Promise<ManifestDigest> {
    const { maxAttempts, retryBaseDelayMs } = this.#options.config.resolver
    for (let tries = 1; ; tries++) {
      this.#throwIfCooling(registry, repository, tag)
      try {
        return await attempt()
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error
        const retryAfterMs = (error.retryAfterSeconds ?? 0) * 1000
        if (error.code === ErrorCode.registryRateLimited && retryAfterMs > 0) {
          this.#coolingUntil.set(registry, { until: this.#now() + retryAfterMs, error }, { ttl: retryAfterMs })
        }
        if (!error.retryable || tries >= maxAttempts) throw error
        const backoffMs = retryBaseDelayMs * 2 ** (tries - 1) * (0.5 + this.#random())
        const delayMs = Math.max(retryAfterMs, backoffMs)
        if (this.#now() + delayMs >= deadline.at) throw error
        await sleep(delayMs, undefined, { signal: deadline.signal }).catch(() => { throw error })
      }
    }
  }

  /** After a 429 with Retry-After nobody asks that registry again before the time it named. */
  #throwIfCooling (registry: string, repository: string, tag: string): void {
    const cooling = this.#coolingUntil.get(registry)
    if (cooling === undefined) return
    const remainingMs = cooling.until - this.#now()
    if (remainingMs <= 0) {
      this.#coolingUntil.delete(registry)
      return
    }
    const seconds = Math.ceil(remainingMs / 1000)
    throw new RegistryError(ErrorCode.registryRateLimited,
      `${registry} is rate limiting us (${cooling.error.status ?? 429} ${cooling.error.ociCode ?? 'TOOMANYREQUESTS'}); not asking again for ${seconds}s; retry later`,
      { registry, repository, reference: tag, status: cooling.error.status, ociCode: cooling.error.ociCode, retryAfterSeconds: seconds, rateLimit: cooling.error.rateLimit })
  }

  #emit (registry: string, outcome: string, requests: number, credentialSource: string | undefined, started: number,
    stale?: StaleCause, joined = false): void {
    this.#options.onLookup?.({
      registry, outcome, requests, credentialSource, durationMs: this.#now() - started,
      ...(stale === undefined ? {} : { stale }), ...(joined ? { joined: true as const } : {})
    })
  }
}
