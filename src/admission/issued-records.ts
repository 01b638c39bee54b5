import { LRUCache } from 'lru-cache'
import type { PinRecord, PinRecords } from './annotation.js'

/**
 * Annotation records this process wrote recently. The webhook is registered with reinvocationPolicy IfNeeded: when a
 * later webhook changes the object, the apiserver calls us again with the images we pinned and the records we wrote,
 * which look exactly like a user's pre-set entries (issue 13 §4). Only records remembered here are carried over; any
 * other entry the request brings is dropped. Another replica does not know them, so there a reinvocation drops the
 * records of that CREATE: less said, never a lie.
 */
export class IssuedRecords {
  // Reinvocation follows within the same apiserver request (webhook timeouts are at most 30 s).
  readonly #issued = new LRUCache<string, true>({ max: 4096, ttl: 120_000 })

  static #key (field: string, record: PinRecord): string {
    return `${field}\0${record.original}\0${record.digest}\0${record.mediaType}\0${record.resolvedAt}\0${record.source}`
  }

  remember (records: PinRecords): void {
    for (const [field, record] of Object.entries(records)) this.#issued.set(IssuedRecords.#key(field, record), true)
  }

  readonly vouches = (field: string, record: PinRecord): boolean => this.#issued.has(IssuedRecords.#key(field, record))
}
