import { ErrorCode } from '../errors.js'
import { BlockedAddressError } from './address-guard.js'
import { BodyTooLargeError } from './body-limits.js'
import { RealmAddressError } from './realm-guard.js'
import { RedirectError } from './transport.js'

// undici's HeadersTimeoutError, BodyTimeoutError and ConnectTimeoutError, by their stable codes: importing undici's
// error classes here would load undici at start-up, before any lookup needs it (issue 17 §3, idle RSS).
const undiciTimeoutCodes = new Set<unknown>(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * Turns a thrown transport failure into our error code and a sentence a user can act on. `plainHttp` marks a server
 * that answered our TLS hello in clear text (OpenSSL's ERR_SSL_WRONG_VERSION_NUMBER): the caller knows which setting
 * would fix it and says so.
 */
export function describeTransportError (error: unknown, deadline: AbortSignal): { code: ErrorCode, detail: string, status?: number, plainHttp?: true } {
  const realm = findCause(error, (cause) => cause instanceof RealmAddressError)
  if (realm !== undefined) return { code: ErrorCode.tokenRealmRefused, detail: (realm as Error).message }
  const blocked = findCause(error, (cause) => cause instanceof BlockedAddressError)
  if (blocked !== undefined) return { code: ErrorCode.blockedAddress, detail: (blocked as Error).message }
  if (error instanceof RedirectError) return { code: ErrorCode.registryBadResponse, detail: error.message }
  if (error instanceof BodyTooLargeError) return { code: ErrorCode.registryResponseTooLarge, detail: error.message, status: error.status }
  if (deadline.aborted) return { code: ErrorCode.registryTimeout, detail: 'no answer before the admission deadline' }
  if (undiciTimeoutCodes.has((error as { code?: unknown } | null)?.code) ||
    (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return { code: ErrorCode.registryTimeout, detail: 'no answer within the per-request timeout' }
  }
  const code = (findCause(error, (cause) => typeof (cause as { code?: unknown }).code === 'string') as { code?: string } | undefined)?.code
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'ECONNREFUSED': return { code: ErrorCode.registryUnreachable, detail: 'connection refused (is the registry running?)' }
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET': return { code: ErrorCode.registryUnreachable, detail: 'the connection was reset' }
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return { code: ErrorCode.registryUnreachable, detail: 'the host name does not resolve' }
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return { code: ErrorCode.registryUnreachable, detail: 'it answered plain HTTP to HTTPS (it is not a TLS server)', plainHttp: true }
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      // A trusted CA but the wrong name: caFile would not help, the registry must present a certificate for this host.
      return { code: ErrorCode.registryUnreachable, detail: `TLS certificate is for another host (${code}): ${message}; the registry must serve a certificate naming the host in the reference` }
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
      return { code: ErrorCode.registryUnreachable, detail: `TLS certificate not trusted (${code}): ${message}; configure caFile for this registry` }
    default: return { code: ErrorCode.registryUnreachable, detail: `${code === undefined ? '' : `${code}: `}${message}` }
  }
}

function findCause (error: unknown, predicate: (cause: object) => boolean): object | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    if (predicate(current)) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
