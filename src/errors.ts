/**
 * Coded errors. Every error a user can meet carries a stable `code` (for logs, metrics and tests) and the
 * facts needed to act on it; admission/response.ts is the one place that turns them into denials.
 */

export const ErrorCode = {
  invalidReference: 'INVALID_REFERENCE',
  invalidDigest: 'INVALID_DIGEST',
  invalidConfig: 'INVALID_CONFIG',
  registryUnauthorized: 'REGISTRY_UNAUTHORIZED',
  registryDenied: 'REGISTRY_DENIED',
  registryNotFound: 'REGISTRY_NOT_FOUND',
  registryRateLimited: 'REGISTRY_RATE_LIMITED',
  registryUnavailable: 'REGISTRY_UNAVAILABLE',
  registryUnreachable: 'REGISTRY_UNREACHABLE',
  registryTimeout: 'REGISTRY_TIMEOUT',
  registryBadResponse: 'REGISTRY_BAD_RESPONSE',
  digestMismatch: 'DIGEST_MISMATCH',
  blockedAddress: 'BLOCKED_ADDRESS',
  credentialsUnavailable: 'CREDENTIALS_UNAVAILABLE',
  // issue 13 (registry side): bounded reads and token realm rules
  registryResponseTooLarge: 'REGISTRY_RESPONSE_TOO_LARGE',
  tokenRealmRefused: 'TOKEN_REALM_REFUSED'
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class WebhookError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A reference that does not follow the distribution/reference grammar; `part` names the offending piece. */
export class InvalidReferenceError extends WebhookError {
  readonly reference: string
  readonly part: 'reference' | 'domain' | 'path' | 'tag' | 'digest'
  readonly reason: string
  constructor (reference: string, part: InvalidReferenceError['part'], reason: string) {
    super(part === 'digest' ? ErrorCode.invalidDigest : ErrorCode.invalidReference, `invalid image reference ${JSON.stringify(reference)}: ${reason}`)
    this.reference = reference
    this.part = part
    this.reason = reason
  }
}

export class ConfigError extends WebhookError {
  readonly problems: readonly string[]
  constructor (problems: readonly string[]) {
    super(ErrorCode.invalidConfig, `invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

export interface RegistryErrorFacts {
  /** host[:port] as the user wrote it (or docker.io), i.e. what the user recognises */
  registry: string
  repository: string
  /** the tag (or digest) that was looked up */
  reference: string
  status?: number | undefined
  /** OCI distribution error code from the response body, e.g. MANIFEST_UNKNOWN */
  ociCode?: string | undefined
  ociMessage?: string | undefined
  retryAfterSeconds?: number | undefined
  rateLimit?: { limit?: string | undefined, remaining?: string | undefined } | undefined
  /** which credential source was presented, e.g. "anonymous", "config.json", "secret team-a/pull" */
  credentialSource?: string | undefined
  /** the credential source's own advice for a refusal, e.g. the IAM role to grant */
  credentialAdvice?: string | undefined
  cause?: unknown
}

/** Anything that went wrong while turning a tag into a digest. `detail` is the registry's answer in words. */
export class RegistryError extends WebhookError {
  readonly registry: string
  readonly repository: string
  readonly reference: string
  readonly status: number | undefined
  readonly ociCode: string | undefined
  readonly ociMessage: string | undefined
  readonly retryAfterSeconds: number | undefined
  readonly rateLimit: RegistryErrorFacts['rateLimit']
  readonly credentialSource: string | undefined
  readonly detail: string
  constructor (code: ErrorCode, detail: string, facts: RegistryErrorFacts) {
    super(code, `${facts.registry}/${facts.repository}:${facts.reference}: ${detail}`, { cause: facts.cause })
    this.registry = facts.registry
    this.repository = facts.repository
    this.reference = facts.reference
    this.status = facts.status
    this.ociCode = facts.ociCode
    this.ociMessage = facts.ociMessage
    this.retryAfterSeconds = facts.retryAfterSeconds
    this.rateLimit = facts.rateLimit
    this.credentialSource = facts.credentialSource
    this.detail = detail
  }

  /** Transient failures are worth a bounded retry; everything else is an answer. */
  get retryable (): boolean {
    return this.code === ErrorCode.registryRateLimited || this.code === ErrorCode.registryUnavailable ||
      this.code === ErrorCode.registryUnreachable
  }
}
