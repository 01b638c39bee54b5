import type { RegistryError, InvalidReferenceError } from '../errors.js'
import type { Staleness } from './stale.js'

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const
export type MediaType = (typeof MediaType)[keyof typeof MediaType]

/** Index-first: a multi-arch tag must pin to its index, never a platform child (spec-checklist §C). */
export const manifestAccept = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ')

export function isIndexMediaType (mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList
}

export interface Pinned {
  ok: true
  /** the reference exactly as written */
  original: string
  /** `<as written>[:latest if no tag]@<digest>` */
  pinned: string
  digest: string
  mediaType: string
  /** true when the answer came from the digest cache or the old object, without a registry call */
  fromCache: boolean
  /** set when the registry failed and an earlier answer stood in (resolver.staleIfErrorSeconds, issue 16 §3) */
  stale?: Staleness | undefined
}

export interface Unresolved {
  ok: false
  original: string
  error: RegistryError | InvalidReferenceError
}

export type Resolution = Pinned | Unresolved

export interface Deadline {
  readonly signal: AbortSignal
  /** epoch ms; retries are only attempted when they can finish before it */
  readonly at: number
}

/**
 * The signal is made on first use: an admission answered from the digest cache never reads it, and an eager
 * AbortSignal.timeout per admission kept a timer and a signal alive for the whole budget (seconds) after the answer,
 * tens of thousands of them under load (BENCHMARKS.md, memory).
 */
class LazyDeadline implements Deadline {
  readonly at: number
  readonly #ms: number
  readonly #madeAt = performance.now()
  #signal: AbortSignal | undefined

  constructor (ms: number, now: number) {
    this.#ms = ms
    this.at = now + ms
  }

  get signal (): AbortSignal {
    this.#signal ??= AbortSignal.timeout(Math.max(1, Math.ceil(this.#ms - (performance.now() - this.#madeAt))))
    return this.#signal
  }
}

export function deadlineIn (ms: number, now: number = Date.now()): Deadline {
  return new LazyDeadline(ms, now)
}

/** The one thing the admission core needs from the registry side; tests may pass a small fake. */
export interface Resolver {
  /** Resolves every reference in parallel under one deadline; identical references are looked up once. */
  resolveAll (references: readonly string[], deadline: Deadline): Promise<Map<string, Resolution>>
}
