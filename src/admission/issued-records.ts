import { LRUCache } from 'lru-cache'
import type { PinRecord, PinRecords } from './annotation.js'

/**
 * Annotation records this process wrote recently. The webhook is registered with reinvocationPolicy IfNeeded: when a
 * later webhook changes the object, the apiserver calls us again with the images we pinned and the records we wrote,
 * which look exactly like a user's pre-set entries (issue 13 §4). Only records remembered here are carried over; any
 * other entry the request brings is dropped. Another replica does not know them, so there a reinvocation drops the
 * records of that CREATE: less said, never a lie.
 *
 * Records are kept under their `resolvedAt`: every fresh record of one admission shares it, so an admission costs one
 * short cache key instead of one ~150-character key per image (issue 17 §4: the per-record keys were 10–25 µs of each
 * warm admission, most of it hashing and evicting long strings).
 */

interface IssuedRecord { field: string, record: PinRecord }

/** Records remembered in total (the bound the cache had when it held one record per entry). */
const maxRecords = 4096
/**
 * Records remembered for one resolvedAt. Stale pins keep the time the registry really answered, so an outage can give
 * many admissions the same moment; past this many, newer ones are not remembered (their reinvocation drops them).
 */
const maxRecordsPerMoment = 256

function sameRecord (a: PinRecord, b: PinRecord): boolean {
  return a.original === b.original && a.digest === b.digest && a.mediaType === b.mediaType &&
    a.resolvedAt === b.resolvedAt && a.source === b.source
}

export class IssuedRecords {
  // Reinvocation follows within the same apiserver request (webhook timeouts are at most 30 s); setting a moment again
  // when it gains records restarts its time, so its latest records get the whole 120 s.
  readonly #issued = new LRUCache<string, IssuedRecord[]>({ max: maxRecords, maxSize: maxRecords, sizeCalculation: (moment) => Math.max(1, moment.length), ttl: 120_000 })

  remember (records: PinRecords): void {
    let moment: IssuedRecord[] | undefined
    let at: string | undefined
    for (const [field, record] of Object.entries(records)) {
      if (record.resolvedAt !== at) {
        if (moment !== undefined && at !== undefined) this.#issued.set(at, moment)
        at = record.resolvedAt
        moment = this.#issued.get(at) ?? []
      }
      if (moment !== undefined && moment.length < maxRecordsPerMoment) moment.push({ field, record })
    }
    if (moment !== undefined && at !== undefined) this.#issued.set(at, moment)
  }

  readonly vouches = (field: string, record: PinRecord): boolean =>
    this.#issued.get(record.resolvedAt)?.some((issued) => issued.field === field && sameRecord(issued.record, record)) === true
}
