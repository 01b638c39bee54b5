import type { Agent } from 'undici'
import { BodyLimit } from '../body-limits.js'
import type { Credential, CredentialSource } from '../credentials.js'
import { loadUndici } from '../load-undici.js'
import { readCapped } from '../read-capped.js'

/**
 * GKE Workload Identity: the pod's Google access token from the metadata server, presented to gcr.io and
 * Artifact Registry as user "oauth2accesstoken" (their documented token-as-password scheme). The metadata server is
 * a configured address of our own choosing, so it deliberately bypasses the link-local guard that image hosts get:
 * its dispatcher is private to this class and never used for an image reference.
 */

export interface GoogleIdentityOptions {
  metadataTokenUrl: string
  serviceAccount: string
  timeoutMs: number
  now?: () => number
}

// Refresh before the token's end so a lookup never presents one that expires on the wire.
const refreshMarginMs = 60_000

export class GoogleIdentityError extends Error {
  readonly code = 'GOOGLE_IDENTITY_UNAVAILABLE'
}

export class GoogleIdentity implements CredentialSource {
  readonly #options: GoogleIdentityOptions
  readonly #now: () => number
  // Made on the first token fetch: loading undici at start-up costs every replica its memory (issue 17 §3).
  #dispatcher: Agent | undefined
  #cached: { token: string, refreshAt: number } | undefined
  #pending: Promise<string> | undefined

  constructor (options: GoogleIdentityOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  get source (): string {
    return `the google identity of ServiceAccount ${this.#options.serviceAccount}`
  }

  async credentialFor (_registry?: string, signal?: AbortSignal): Promise<Credential> {
    const password = await untilAborted(this.#token(), signal)
    return {
      username: 'oauth2accesstoken',
      password,
      source: this.source,
      advice: 'grant roles/artifactregistry.reader (or storage.objectViewer for gcr.io) to the Google service account bound to it'
    }
  }

  async #token (): Promise<string> {
    if (this.#cached !== undefined && this.#cached.refreshAt > this.#now()) return this.#cached.token
    this.#pending ??= this.#fetch().finally(() => { this.#pending = undefined })
    return await this.#pending
  }

  async #fetch (): Promise<string> {
    const url = this.#options.metadataTokenUrl
    const { Agent, request } = await loadUndici()
    this.#dispatcher ??= new Agent({ keepAliveTimeout: 10_000, connections: 2 })
    let response
    try {
      response = await request(url, {
        method: 'GET',
        headers: { 'metadata-flavor': 'Google' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        dispatcher: this.#dispatcher
      })
    } catch (error) {
      throw new GoogleIdentityError(`the GKE metadata server at ${new URL(url).host} did not answer (${(error as Error).message}); is Workload Identity enabled for this node pool?`, { cause: error })
    }
    let text
    try {
      text = (await readCapped(response, BodyLimit.tokenResponse)).body?.toString('utf8') ?? ''
    } catch (error) {
      throw new GoogleIdentityError(`the GKE metadata server's token response is too large: ${(error as Error).message}`, { cause: error })
    }
    if (response.statusCode !== 200) {
      throw new GoogleIdentityError(`the GKE metadata server answered ${response.statusCode}; check the iam.gke.io/gcp-service-account annotation of ServiceAccount ${this.#options.serviceAccount}`)
    }
    let body: { access_token?: unknown, expires_in?: unknown }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new GoogleIdentityError('the GKE metadata server sent a token response that is not JSON')
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new GoogleIdentityError('the GKE metadata server sent no access_token')
    }
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000
    this.#cached = { token: body.access_token, refreshAt: this.#now() + Math.max(lifetimeMs - refreshMarginMs, lifetimeMs / 2) }
    return body.access_token
  }

  async close (): Promise<void> {
    await this.#dispatcher?.close()
  }
}

/**
 * The token fetch is shared by concurrent lookups and bounded by its own timeout; each caller waits for it only
 * until its own admission's deadline (issue 13 §1), without cancelling it for the others.
 */
async function untilAborted<T> (work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await work
  if (signal.aborted) throw new GoogleIdentityError('the admission deadline passed before the GKE metadata server was asked')
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new GoogleIdentityError('the GKE metadata server did not answer before the admission deadline')) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
