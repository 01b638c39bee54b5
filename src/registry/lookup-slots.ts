/**
 * Counting semaphore for registry lookups, global and per registry (issue 13 §1): a template with thousands of
 * references, or many admissions at once, queue for a slot instead of opening thousands of sockets. A waiter leaves
 * the line when its signal aborts (its admission's deadline), so nobody waits past the time they can use an answer.
 */

export class SlotWaitAborted extends Error {
  readonly code = 'ESLOTWAIT'
}

interface Waiter {
  key: string
  grant: () => void
}

export interface SlotCounts {
  inFlight: number
  waiting: number
}

export class LookupSlots {
  readonly #maxTotal: number
  readonly #maxPerKey: number
  #total = 0
  /** keys with a lookup in flight only; an idle registry leaves no entry */
  readonly #perKey = new Map<string, number>()
  readonly #waiting: Waiter[] = []

  constructor (maxTotal: number, maxPerKey: number) {
    this.#maxTotal = maxTotal
    this.#maxPerKey = maxPerKey
  }

  get counts (): SlotCounts {
    return { inFlight: this.#total, waiting: this.#waiting.length }
  }

  /** Resolves with a release function once a slot for `key` is free; rejects with SlotWaitAborted when `signal` aborts first. */
  async acquire (key: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) throw new SlotWaitAborted('the deadline passed before a lookup slot was free')
    if (this.#free(key)) return this.#take(key)
    return await new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          resolve(this.#take(key))
        }
      }
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(waiter)
        if (index >= 0) this.#waiting.splice(index, 1)
        reject(new SlotWaitAborted('the deadline passed while waiting for a lookup slot'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(waiter)
    })
  }

  #free (key: string): boolean {
    return this.#total < this.#maxTotal && (this.#perKey.get(key) ?? 0) < this.#maxPerKey
  }

  #take (key: string): () => void {
    this.#total++
    this.#perKey.set(key, (this.#perKey.get(key) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#total--
      const left = (this.#perKey.get(key) ?? 1) - 1
      if (left === 0) this.#perKey.delete(key)
      else this.#perKey.set(key, left)
      this.#wakeNext()
    }
  }

  /** First in line whose registry has room: a busy registry must not hold up lookups for idle ones. */
  #wakeNext (): void {
    const index = this.#waiting.findIndex((waiter) => this.#free(waiter.key))
    if (index < 0) return
    const [waiter] = this.#waiting.splice(index, 1)
    waiter?.grant()
  }
}
