/**
 * Whether this replica should receive admissions. Several parts of the process can hold it back (shutdown, a
 * certificate not yet served, caBundle not yet in place), each under its own name, and /readyz lists them.
 */
export class Readiness {
  readonly #blockers = new Map<string, string>()
  #shuttingDown = false

  block (name: string, reason: string): void {
    this.#blockers.set(name, reason)
  }

  unblock (name: string): void {
    this.#blockers.delete(name)
  }

  /** One way: once shutdown starts the replica never becomes ready again. */
  beginShutdown (): void {
    this.#shuttingDown = true
    this.block('shutdown', 'shutting down')
  }

  get shuttingDown (): boolean {
    return this.#shuttingDown
  }

  get ready (): boolean {
    return this.#blockers.size === 0
  }

  get reasons (): string[] {
    return [...this.#blockers].map(([name, reason]) => `${name}: ${reason}`)
  }
}
