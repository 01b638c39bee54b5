import { LRUCache } from 'lru-cache'
import { ErrorCode, RegistryError } from '../errors.js'
import { BodyLimit } from './body-limits.js'
import type { Challenge } from './challenge.js'
import { normaliseAuthKey, type Credential, type CredentialSource } from './credentials.js'
import { mayCarryCredentials, repositoryAt, type Endpoint } from './endpoint.js'
import { realmMayReceiveCredentials, usableRealm, withheldBecause } from './realm-policy.js'
import { describeTransportError } from './transport-errors.js'
import type { Transport } from './transport.js'

/**
 * Registry authentication (distribution docs/spec/auth/token.md). Remembers each registry's challenge so later
 * lookups send a token up front, and caches tokens per realm + service + scope + identity until shortly before they
 * expire: with a cached token a lookup is exactly one registry request. Both caches are bounded LRUs (issue 13): a
 * registry decides how many repositories, realms and how large tokens there are, so it must not decide our memory.
 */

export interface Authorization {
  header: string | undefined
  /** "anonymous" or the credential source, for logs and denials */
  source: string
  advice?: string | undefined
}

interface CachedToken { token: string, expiresAt: number }

interface KnownChallenge { scheme: 'bearer' | 'basic', realm?: string, service?: string }

// token.md: a missing or too small expires_in means 60 seconds.
const minimumTokenLifetimeSeconds = 60
const expirySkewMs = 10_000

// A registry may change how it authenticates; a stale challenge only costs one extra 401 round trip.
const challengeTtlMs = 60 * 60_000

export interface AuthenticatorLimits {
  /** registries whose challenge is remembered */
  maxRegistries: number
  maxTokens: number
  /** characters of cached tokens (and their keys) in total */
  maxTokenBytes: number
}

export interface AuthenticatorOptions {
  transport: Transport
  credentials: CredentialSource
  limits: AuthenticatorLimits
  now?: () => number
}

export class Authenticator {
  readonly #transport: Transport
  readonly #credentials: CredentialSource
  readonly #now: () => number
  readonly #challenges: LRUCache<string, KnownChallenge>
  readonly #tokens: LRUCache<string, CachedToken>
  /** one token request per key in flight; entries leave when it settles, so its size is what is in flight */
  readonly #inflight = new Map<string, Promise<CachedToken>>()

  constructor (options: AuthenticatorOptions) {
    this.#transport = options.transport
    this.#credentials = options.credentials
    this.#now = options.now ?? Date.now
    // The injected clock drives expiry too; ttlResolution 0 so a test's clock step is seen at once.
    const perf = { now: this.#now }
    this.#challenges = new LRUCache({ max: options.limits.maxRegistries, ttl: challengeTtlMs, perf, ttlResolution: 0 })
    this.#tokens = new LRUCache({
      max: options.limits.maxTokens,
      maxSize: options.limits.maxTokenBytes,
      sizeCalculation: (token, key) => token.token.length + key.length,
      perf,
      ttlResolution: 0
    })
  }

  /** What to send on the first try: nothing for a registry never seen, else a (cached or fresh) token or Basic. */
  async initial (endpoint: Endpoint, repository: string, tag: string, signal: AbortSignal): Promise<Authorization> {
    const known = this.#challenges.get(endpoint.registry)
    if (known === undefined) return { header: undefined, source: 'anonymous' }
    return await this.#authorize(endpoint, known, repository, tag, signal)
  }

  /** After a 401: learn the challenge and produce credentials for the retry, or explain why there are none. */
  async answer (endpoint: Endpoint, challenges: readonly Challenge[], repository: string, tag: string, signal: AbortSignal): Promise<Authorization> {
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer' && challenge.params['realm'] !== undefined)
    const basic = challenges.find((challenge) => challenge.scheme === 'basic')
    const known: KnownChallenge | undefined = bearer !== undefined
      ? { scheme: 'bearer', realm: bearer.params['realm'], service: bearer.params['service'] }
      : basic !== undefined ? { scheme: 'basic' } : undefined
    if (known === undefined) {
      throw new RegistryError(ErrorCode.registryUnauthorized, `${endpoint.registry} answered 401 without a usable WWW-Authenticate challenge`,
        { registry: endpoint.registry, repository, reference: tag, status: 401 })
    }
    this.#challenges.set(endpoint.registry, known)
    return await this.#authorize(endpoint, known, repository, tag, signal, bearer?.params['scope'])
  }

  async #authorize (endpoint: Endpoint, known: KnownChallenge, repository: string, tag: string, signal: AbortSignal, scope?: string): Promise<Authorization> {
    const credential = await this.#credentialFor(endpoint, repository, tag, signal)
    if (known.scheme === 'basic') {
      if (credential === undefined || !mayCarryCredentials(endpoint.baseUrl, endpoint)) return { header: undefined, source: 'anonymous' }
      return { header: basicHeader(credential), source: credential.source, advice: credential.advice }
    }
    const realm = usableRealm(known.realm ?? '', endpoint, repository, tag)
    // A token bought with the credentials is a credential too, and it travels to baseUrl (issue 7: a plain-HTTP mirror).
    const usable = credential !== undefined && mayCarryCredentials(endpoint.baseUrl, endpoint) && realmMayReceiveCredentials(realm, endpoint)
      ? credential
      : undefined
    const withheld = credential === undefined || usable !== undefined ? undefined : withheldBecause(realm, endpoint)
    const wantedScope = scope ?? `repository:${repositoryAt(endpoint, repository)}:pull`
    const key = [realm.href, known.service ?? '', wantedScope, usable === undefined ? '' : `${usable.source}|${usable.username}`].join('\n')
    const cached = this.#tokens.get(key)
    if (cached !== undefined && cached.expiresAt > this.#now()) return { header: `Bearer ${cached.token}`, source: usable?.source ?? 'anonymous', advice: usable?.advice }
    let pending = this.#inflight.get(key)
    if (pending === undefined) {
      pending = this.#fetchToken(endpoint, realm, known.service, wantedScope, usable, repository, tag, signal, withheld)
        .finally(() => this.#inflight.delete(key))
      this.#inflight.set(key, pending)
    }
    const token = await pending
    const ttl = token.expiresAt - this.#now()
    // A token bigger than the whole cache is used once and not kept (lru-cache refuses it).
    if (ttl > 0) this.#tokens.set(key, token, { ttl })
    return { header: `Bearer ${token.token}`, source: usable?.source ?? 'anonymous', advice: usable?.advice }
  }

  /** A provider that cannot produce credentials (metadata server down, helper failing) is a denial reason, not anonymity. */
  async #credentialFor (endpoint: Endpoint, repository: string, tag: string, signal: AbortSignal): Promise<Credential | undefined> {
    try {
      return await this.#credentials.credentialFor(normaliseAuthKey(endpoint.registry), signal)
    } catch (error) {
      // Issue 13 §1: providers run inside the admission's deadline; running out of it is a timeout, not bad credentials.
      if (signal.aborted) {
        throw new RegistryError(ErrorCode.registryTimeout, `no credentials for ${endpoint.registry} before the admission deadline: ${(error as Error).message}`,
          { registry: endpoint.registry, repository, reference: tag, cause: error })
      }
      throw new RegistryError(ErrorCode.credentialsUnavailable, `no credentials for ${endpoint.registry}: ${(error as Error).message}`,
        { registry: endpoint.registry, repository, reference: tag, cause: error })
    }
  }

  async #fetchToken (endpoint: Endpoint, realm: URL, service: string | undefined, scope: string, credential: Credential | undefined,
    repository: string, tag: string, signal: AbortSignal, withheld?: string): Promise<CachedToken> {
    const url = new URL(realm)
    if (service !== undefined) url.searchParams.set('service', service)
    url.searchParams.set('scope', scope)
    if (credential !== undefined) url.searchParams.set('account', credential.username)
    const facts = { registry: endpoint.registry, repository, reference: tag, credentialSource: credential?.source ?? 'anonymous', credentialAdvice: credential?.advice }
    let response
    try {
      response = await this.#transport.send(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal,
        authorization: credential === undefined ? undefined : basicHeader(credential),
        maxBodyBytes: BodyLimit.tokenResponse,
        realmOf: { registryHost: endpoint.baseUrl.hostname }
      }, endpoint.settings)
    } catch (error) {
      const { code, detail, status } = describeTransportError(error, signal)
      throw new RegistryError(code, `token server ${realm.host}: ${detail}`, { ...facts, status, cause: error })
    }
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError(response.status === 401 ? ErrorCode.registryUnauthorized : ErrorCode.registryDenied,
        `token server ${realm.host} answered ${response.status} to ${credential === undefined ? 'an anonymous request' : credential.source}${credential?.advice === undefined ? '' : `; ${credential.advice}`}` +
          (withheld === undefined ? '' : ` (the credentials for ${endpoint.registry} were not sent: ${withheld})`),
        { ...facts, status: response.status })
    }
    if (response.status !== 200) {
      throw new RegistryError(response.status === 429 ? ErrorCode.registryRateLimited : response.status >= 500 ? ErrorCode.registryUnavailable : ErrorCode.registryBadResponse,
        `token server ${realm.host} answered ${response.status}`, { ...facts, status: response.status })
    }
    const token = parseTokenResponse(response.body ?? Buffer.alloc(0), this.#now())
    if (token === undefined) {
      throw new RegistryError(ErrorCode.registryBadResponse, `token server ${realm.host} sent a response without a token`, { ...facts, status: 200 })
    }
    return token
  }
}

function basicHeader (credential: Credential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`
}

/** token.md: `access_token` wins over `token`; expiry counts from `issued_at` when the server gives one. */
export function parseTokenResponse (body: Buffer, now: number): CachedToken | undefined {
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  if (json === null || typeof json !== 'object') return undefined
  const fields = json as { access_token?: unknown, token?: unknown, expires_in?: unknown, issued_at?: unknown }
  const token = typeof fields.access_token === 'string' && fields.access_token !== '' ? fields.access_token
    : typeof fields.token === 'string' && fields.token !== '' ? fields.token : undefined
  if (token === undefined) return undefined
  const lifetime = typeof fields.expires_in === 'number' && fields.expires_in >= minimumTokenLifetimeSeconds
    ? fields.expires_in : minimumTokenLifetimeSeconds
  const issued = typeof fields.issued_at === 'string' ? Date.parse(fields.issued_at) : NaN
  // A server clock ahead of ours must not stretch the token's life past what it allows.
  const start = Number.isFinite(issued) ? Math.min(issued, now) : now
  return { token, expiresAt: start + lifetime * 1000 - expirySkewMs }
}
