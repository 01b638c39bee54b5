import { spawn } from 'node:child_process'
import { LRUCache } from 'lru-cache'
import type { Credential, CredentialSource } from '../credentials.js'

/**
 * docker-credential-helpers protocol: `docker-credential-<name> get` reads the server URL on stdin and prints
 * {"ServerURL","Username","Secret"}. This is how ECR, ACR and others hand out short-lived registry passwords.
 * Output is never echoed into errors or logs: it may hold the secret.
 */

export interface CredentialHelperOptions {
  name: string
  /** explicit executable; default docker-credential-<name> from PATH */
  path?: string | undefined
  timeoutMs: number
  cacheMs: number
  /** registries whose answer is remembered for cacheMs */
  maxCached?: number
  now?: () => number
}

export class CredentialHelperError extends Error {
  readonly code = 'CREDENTIAL_HELPER_FAILED'
}

// The protocol's way of saying "no credentials for this server" (credentials.ErrCredentialsNotFound).
const notFoundMessage = 'credentials not found in native keychain'

export class CredentialHelper implements CredentialSource {
  readonly #options: CredentialHelperOptions
  readonly #now: () => number
  // Bounded (issue 13 §1): the registries asked about come from users' references, within the bound host patterns.
  readonly #cache: LRUCache<string, { credential: Credential | undefined }>

  constructor (options: CredentialHelperOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#cache = new LRUCache({ max: options.maxCached ?? 256, ttl: Math.max(1, options.cacheMs), perf: { now: this.#now }, ttlResolution: 0 })
  }

  get executable (): string {
    return this.#options.path ?? `docker-credential-${this.#options.name}`
  }

  async credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined> {
    const cached = this.#cache.get(registry)
    if (cached !== undefined) return cached.credential
    const credential = await this.#run(registry, signal)
    if (this.#options.cacheMs > 0) this.#cache.set(registry, { credential })
    return credential
  }

  async #run (registry: string, signal: AbortSignal | undefined): Promise<Credential | undefined> {
    const { stdout, code } = await this.#spawn(registry, signal)
    if (code !== 0) {
      if (stdout.trim() === notFoundMessage) return undefined
      throw new CredentialHelperError(`credential helper ${this.executable} failed for ${registry} (exit code ${code ?? 'none'})`)
    }
    let parsed: { Username?: unknown, Secret?: unknown }
    try {
      parsed = JSON.parse(stdout) as typeof parsed
    } catch {
      throw new CredentialHelperError(`credential helper ${this.executable} printed something that is not JSON for ${registry}`)
    }
    if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string' || parsed.Secret === '') {
      throw new CredentialHelperError(`credential helper ${this.executable} gave no Username/Secret for ${registry}`)
    }
    return { username: parsed.Username, password: parsed.Secret, source: `credential helper ${this.#options.name}` }
  }

  async #spawn (registry: string, signal: AbortSignal | undefined): Promise<{ stdout: string, code: number | null }> {
    if (signal?.aborted === true) throw new CredentialHelperError(`credential helper ${this.executable} not started: the admission deadline has passed`)
    return await new Promise((resolve, reject) => {
      // Its own process group, so a timeout also ends whatever the helper started (a shell's `sleep` would otherwise
      // hold stdout open and keep us waiting).
      const child = spawn(this.executable, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
      const chunks: Buffer[] = []
      let size = 0
      const stop = (reason: string): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (child.pid !== undefined) {
          try { process.kill(-child.pid, 'SIGKILL') } catch { /* already gone */ }
        }
        child.stdout.destroy()
        reject(new CredentialHelperError(`credential helper ${this.executable} ${reason}`))
      }
      const timer = setTimeout(() => { stop(`did not answer within ${this.#options.timeoutMs} ms`) }, this.#options.timeoutMs)
      // Issue 13 §1: the admission's deadline ends the helper too, whatever its own timeout says.
      const onAbort = (): void => { stop('was stopped at the admission deadline') }
      signal?.addEventListener('abort', onAbort, { once: true })
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= 64 * 1024) chunks.push(chunk)
      })
      child.on('error', (error) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        reject(new CredentialHelperError(`credential helper ${this.executable} could not be started: ${(error as NodeJS.ErrnoException).code ?? error.message}`))
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve({ stdout: Buffer.concat(chunks).toString('utf8'), code })
      })
      child.stdin.on('error', () => { /* a helper that exits without reading stdin is judged by its exit code */ })
      child.stdin.end(registry)
    })
  }
}
