/**
 * A Map that keeps at most `limit` entries, forgetting the oldest insertion first. For memoising pure work on values
 * that come from users (image references), where an unbounded Map would let anyone grow our memory.
 */
export class RecentMap<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #limit: number

  constructor (limit: number) {
    this.#limit = Math.max(1, limit)
  }

  get size (): number {
    return this.#entries.size
  }

  get (key: K): V | undefined {
    return this.#entries.get(key)
  }

  set (key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.#limit) {
      // A Map iterates in insertion order: its first key is the oldest.
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, value)
  }
}
