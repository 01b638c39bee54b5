import { digestOf, isValidDigest } from '../images/digest.js'
import { ErrorCode, RegistryError, type RegistryErrorFacts } from '../errors.js'
import type { Authenticator, Authorization } from './auth.js'
import { BodyLimit, truncateForMessage } from './body-limits.js'
import { parseChallenges } from './challenge.js'
import { repositoryAt, type Endpoint } from './endpoint.js'
import { describeTransportError } from './transport-errors.js'
import type { HttpResponse, Transport } from './transport.js'
import { manifestAccept } from './types.js'

/**
 * Tag → digest over the distribution API. HEAD first (it does not count as a Docker Hub pull), with the four
 * manifest types in Accept so a multi-arch tag answers with its index. GET only when the digest header is missing
 * or on an error whose body explains it; a GET body is hashed and must match any header it carries.
 */

export interface ManifestDigest {
  digest: string
  mediaType: string
  /** registry requests this lookup made (token requests included), for logs and the benchmark */
  requests: number
  credentialSource: string
}

export interface ManifestClientOptions {
  transport: Transport
  authenticator: Authenticator
  /** 'get' hashes every manifest body, trading a Docker Hub pull for verifying the registry's header */
  method: 'head' | 'get'
}

export class ManifestClient {
  constructor (private readonly options: ManifestClientOptions) {}

  async lookup (endpoint: Endpoint, repository: string, tag: string, signal: AbortSignal): Promise<ManifestDigest> {
    const facts: RegistryErrorFacts = { registry: endpoint.registry, repository, reference: tag }
    const url = new URL(`/v2/${repositoryAt(endpoint, repository)}/manifests/${tag}`, endpoint.baseUrl)
    const state = { requests: 0 }
    let auth = await this.options.authenticator.initial(endpoint, repository, tag, signal)
    facts.credentialSource = auth.source
    facts.credentialAdvice = auth.advice
    const method = this.options.method === 'get' ? 'GET' : 'HEAD'
    let response = await this.#send(url, method, auth, endpoint, facts, signal, state)
    if (response.status === 401) {
      auth = await this.options.authenticator.answer(endpoint, parseChallenges(response.headers['www-authenticate']), repository, tag, signal)
      facts.credentialSource = auth.source
      facts.credentialAdvice = auth.advice
      response = await this.#send(url, method, auth, endpoint, facts, signal, state)
    }
    if (response.status !== 200 && method === 'HEAD' && [401, 403, 404].includes(response.status)) {
      // HEAD answers carry no error body; one GET tells the user the registry's own words (MANIFEST_UNKNOWN, …).
      response = await this.#send(url, 'GET', auth, endpoint, facts, signal, state)
    }
    if (response.status !== 200) throw errorFromResponse(response, facts)

    const headerDigest = singleHeader(response, 'docker-content-digest')
    if (headerDigest !== undefined && !isValidDigest(headerDigest)) {
      throw new RegistryError(ErrorCode.registryBadResponse, `the registry sent an invalid Docker-Content-Digest ${JSON.stringify(headerDigest)}`, { ...facts, status: 200 })
    }
    if (response.body === undefined && headerDigest !== undefined) {
      return { digest: headerDigest, mediaType: mediaTypeOf(response, undefined), requests: state.requests, credentialSource: auth.source }
    }
    if (response.body === undefined) response = await this.#send(url, 'GET', auth, endpoint, facts, signal, state)
    if (response.status !== 200) throw errorFromResponse(response, facts)
    return { ...verifiedBodyDigest(response, facts), requests: state.requests, credentialSource: auth.source }
  }

  async #send (url: URL, method: 'GET' | 'HEAD', auth: Authorization, endpoint: Endpoint, facts: RegistryErrorFacts,
    signal: AbortSignal, state: { requests: number }): Promise<HttpResponse> {
    state.requests++
    try {
      return await this.options.transport.send(url, {
        method,
        // identity: the digest is over the bytes the registry stores, not a gzip of them (quay/quay#1310).
        headers: { accept: manifestAccept, 'accept-encoding': 'identity' },
        signal,
        authorization: auth.header,
        maxBodyBytes: BodyLimit.manifest
      }, endpoint.settings)
    } catch (error) {
      const { code, detail, status, plainHttp } = describeTransportError(error, signal)
      const text = plainHttp === true
        ? `${describeEndpoint(endpoint)} answered plain HTTP to HTTPS; ${plainHttpAdvice(endpoint)}`
        : `${describeEndpoint(endpoint)}: ${detail}`
      throw new RegistryError(code, text, { ...facts, status, cause: error })
    }
  }
}

/** Names the registry as the user wrote it, and where it was really asked when a mirror is configured. */
function describeEndpoint (endpoint: Endpoint): string {
  return endpoint.baseUrl.host === endpoint.registry ? `registry ${endpoint.registry}` : `registry ${endpoint.registry} (looked up at ${endpoint.baseUrl.host})`
}

/** What turns our HTTPS into the HTTP a plain registry speaks: the insecure setting, or the mirror's own URL. */
function plainHttpAdvice (endpoint: Endpoint): string {
  if (endpoint.settings.mirror !== undefined) {
    return `if the mirror ${endpoint.baseUrl.host} is a plain-HTTP registry, write its URL with http:// in the mirror setting (config)`
  }
  return `if it is a plain-HTTP registry, pass --insecure-registry ${endpoint.registry} (CLI) or set \`insecure: true\` (config)`
}

function singleHeader (response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function mediaTypeOf (response: HttpResponse, body: unknown): string {
  const header = singleHeader(response, 'content-type')?.split(';')[0]?.trim()
  if (header !== undefined && header !== '' && header !== 'application/json') return header
  const fromBody = body !== null && typeof body === 'object' ? (body as { mediaType?: unknown }).mediaType : undefined
  return typeof fromBody === 'string' ? fromBody : header ?? 'unknown'
}

function verifiedBodyDigest (response: HttpResponse, facts: RegistryErrorFacts): { digest: string, mediaType: string } {
  const body = response.body ?? Buffer.alloc(0)
  const headerDigest = singleHeader(response, 'docker-content-digest')
  const algorithm = headerDigest?.startsWith('sha512:') === true ? 'sha512' : 'sha256'
  const computed = digestOf(body, algorithm)
  if (headerDigest !== undefined && headerDigest !== computed) {
    throw new RegistryError(ErrorCode.digestMismatch,
      `the registry's Docker-Content-Digest ${headerDigest} does not match the manifest it sent (${computed}); refusing to pin`,
      { ...facts, status: 200 })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new RegistryError(ErrorCode.registryBadResponse, 'the manifest is not JSON', { ...facts, status: 200 })
  }
  return { digest: computed, mediaType: mediaTypeOf(response, parsed) }
}

interface OciErrorBody { errors?: Array<{ code?: unknown, message?: unknown }> }

function ociError (body: Buffer | undefined): { ociCode?: string, ociMessage?: string } {
  if (body === undefined || body.length === 0) return {}
  try {
    const first = (JSON.parse(body.toString('utf8')) as OciErrorBody).errors?.[0]
    return {
      ...(typeof first?.code === 'string' ? { ociCode: truncateForMessage(first.code, 64) } : {}),
      ...(typeof first?.message === 'string' ? { ociMessage: truncateForMessage(first.message) } : {})
    }
  } catch {
    return {}
  }
}

function retryAfterSeconds (response: HttpResponse): number | undefined {
  const value = singleHeader(response, 'retry-after')
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(value)
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : undefined
}

const statusCodes: Record<number, ErrorCode> = {
  401: ErrorCode.registryUnauthorized,
  403: ErrorCode.registryDenied,
  404: ErrorCode.registryNotFound,
  429: ErrorCode.registryRateLimited
}

const advice: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.registryUnauthorized]: 'check the pull credentials configured for this registry',
  [ErrorCode.registryDenied]: 'the credentials lack pull access to this repository',
  [ErrorCode.registryNotFound]: 'check the repository and tag, or push the image first',
  [ErrorCode.registryRateLimited]: 'retry later or configure credentials with a higher pull limit',
  [ErrorCode.registryUnavailable]: 'the registry is failing; retry later'
}

export function errorFromResponse (response: HttpResponse, facts: RegistryErrorFacts): RegistryError {
  const code = statusCodes[response.status] ?? (response.status >= 500 ? ErrorCode.registryUnavailable : ErrorCode.registryBadResponse)
  const { ociCode, ociMessage } = ociError(response.body)
  const retryAfter = retryAfterSeconds(response)
  const limit = singleHeader(response, 'ratelimit-limit')
  const remaining = singleHeader(response, 'ratelimit-remaining')
  const answer = [`${response.status}`, ociCode, ociMessage === undefined ? undefined : `"${ociMessage}"`].filter(Boolean).join(' ')
  const to = facts.credentialSource === undefined || facts.credentialSource === 'anonymous' ? 'an anonymous request' : facts.credentialSource
  const parts = [`registry ${facts.registry} answered ${answer} to ${to}`]
  if (response.bodyDiscarded === true) parts.push(`its error body was over ${BodyLimit.errorBody} bytes and was not read`)
  if (retryAfter !== undefined) parts.push(`retry after ${retryAfter}s`)
  const refused = code === ErrorCode.registryUnauthorized || code === ErrorCode.registryDenied
  const hint = (refused ? facts.credentialAdvice : undefined) ?? advice[code]
  return new RegistryError(code, `${parts.join('; ')}${hint === undefined ? '' : `; ${hint}`}`, {
    ...facts,
    status: response.status,
    ociCode,
    ociMessage,
    retryAfterSeconds: retryAfter,
    rateLimit: limit === undefined && remaining === undefined ? undefined : { limit, remaining }
  })
}
