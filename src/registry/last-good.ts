import { LRUCache } from 'lru-cache'
import type { RegistryError } from '../errors.js'
import { staleCause, type Staleness } from './stale.js'

/**
 * The last digest the registry gave this replica for each lookup, kept for resolver.staleIfErrorSeconds so an outage
 * can fall back to it (issue 16 §3). Bounded like the resolver's other caches (issue 13 §1): the references come from
 * users. Only registry answers are remembered, never cache hits, so the age is the age of the registry's word.
 */

export interface GoodAnswer { digest: string, mediaType: string }

interface Remembered extends GoodAnswer { resolvedAtMs: number }

export interface LastGoodOptions {
  windowMs: number
  maxEntries: number
  now: () => number
}

export class LastGoodDigests {
  readonly #now: () => number
  readonly #cache: LRUCache<string, Remembered>

  constructor (options: LastGoodOptions) {
    this.#now = options.now
    // The injected clock drives expiry; ttlResolution 0 so "past the window" is exact, not up to a tick late.
    this.#cache = new LRUCache({ max: options.maxEntries, ttl: options.windowMs, perf: { now: options.now }, ttlResolution: 0 })
  }

  remember (key: string, answer: GoodAnswer): void {
    this.#cache.set(key, { digest: answer.digest, mediaType: answer.mediaType, resolvedAtMs: this.#now() })
  }

  /** The remembered answer when `error` is an outage and the answer is inside the window; otherwise undefined. */
  recall (key: string, error: RegistryError): (GoodAnswer & { staleness: Staleness }) | undefined {
    const cause = staleCause(error)
    if (cause === undefined) return undefined
    const remembered = this.#cache.get(key)
    if (remembered === undefined) return undefined
    const ageMs = Math.max(0, this.#now() - remembered.resolvedAtMs)
    return { digest: remembered.digest, mediaType: remembered.mediaType, staleness: { resolvedAtMs: remembered.resolvedAtMs, ageMs, cause, error } }
  }
}
