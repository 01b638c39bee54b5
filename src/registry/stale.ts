import { ErrorCode, type RegistryError } from '../errors.js'

/**
 * Which failed lookups may fall back to a digest resolved earlier (resolver.staleIfErrorSeconds, issue 16 §3): only
 * outages, where the registry said nothing about the image. 401, 403 and 404 are answers (access revoked, tag
 * deleted), a digest mismatch or a bad response means the registry cannot be trusted right now, and a refused address
 * is our own policy; none of them may be papered over.
 */

export const StaleCause = {
  unavailable: 'unavailable',
  timeout: 'timeout',
  rateLimited: 'rate-limited',
  unreachable: 'unreachable'
} as const
export type StaleCause = (typeof StaleCause)[keyof typeof StaleCause]

/** A digest the registry gave this replica earlier, used because asking it again failed. */
export interface Staleness {
  /** epoch ms of the registry answer being reused */
  resolvedAtMs: number
  ageMs: number
  cause: StaleCause
  /** why the fresh lookup failed, with the registry's words */
  error: RegistryError
}

// Connection-level failures only. Certificate errors share REGISTRY_UNREACHABLE but mean the registry is not the one
// we trust, and ENOTFOUND says the name does not exist: a configuration problem, not an outage to ride out.
const outageSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'EPIPE', 'ETIMEDOUT',
  'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/** The first string `code` below the error itself (RegistryError's own `code` is ours, not the socket's). */
function socketCode (error: RegistryError): string | undefined {
  let current: unknown = error.cause
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

export function staleCause (error: RegistryError): StaleCause | undefined {
  switch (error.code) {
    case ErrorCode.registryUnavailable: return StaleCause.unavailable
    case ErrorCode.registryTimeout: return StaleCause.timeout
    case ErrorCode.registryRateLimited: return StaleCause.rateLimited
    case ErrorCode.registryUnreachable: {
      const code = socketCode(error)
      return code !== undefined && outageSocketCodes.has(code) ? StaleCause.unreachable : undefined
    }
    default: return undefined
  }
}
