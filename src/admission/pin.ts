import type { Staleness } from '../registry/stale.js'

/** One image the mutator pinned (or kept from the stored object) in this request. */
export interface Pin {
  field: string
  pointer: string
  /** the reference exactly as the user wrote it */
  original: string
  /** `<original>[:latest]@<digest>`, what is stored */
  pinned: string
  digest: string
  mediaType: string
  /**
   * registry: asked now; cache: the resolver's digest cache; old-object: the stored object's digest on UPDATE;
   * stale: the registry failed and an earlier answer stood in (issue 16 §3)
   */
  source: PinSource
  /** only for source stale */
  stale?: Staleness | undefined
}

export const PinSource = { registry: 'registry', cache: 'cache', oldObject: 'old-object', stale: 'stale' } as const
export type PinSource = (typeof PinSource)[keyof typeof PinSource]
