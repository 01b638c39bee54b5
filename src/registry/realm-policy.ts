import { ErrorCode, RegistryError } from '../errors.js'
import { normaliseAuthKey } from './credentials.js'
import { mayCarryCredentials, type Endpoint } from './endpoint.js'

/**
 * Which token realms a registry may send us to, and which may receive its credentials (issue 13 §2). Pure.
 * Origins (scheme, host and port) are compared, never host names alone: another port on the registry's host is
 * another server, maybe another tenant's.
 */

// Docker Hub's token service lives on another origin than its registry API (spec-checklist §C), so its realm belongs
// to every spelling of the Hub (credentials.ts normalises index.docker.io and registry-1.docker.io to docker.io).
export const dockerHubRealmOrigin = 'https://auth.docker.io'

function isDockerHub (endpoint: Endpoint): boolean {
  return normaliseAuthKey(endpoint.registry) === 'docker.io'
}

const maxRealmHostLength = 253

/** The realm URL, or a typed error: unparseable, not HTTP(S), a host no DNS name can be, or plain HTTP named by a registry not marked insecure. */
export function usableRealm (realm: string, endpoint: Endpoint, repository: string, tag: string): URL {
  const facts = { registry: endpoint.registry, repository, reference: tag, status: 401 }
  let url: URL | undefined
  try {
    url = new URL(realm)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new RegistryError(ErrorCode.registryBadResponse, `${endpoint.registry} named an unusable token realm ${JSON.stringify(realm)}`, facts)
  }
  // Past 255 bytes OpenSSL refuses the TLS server name with an exception that escapes undici's promise (issue 13 §1);
  // no real realm has a host that long, so it is refused here as the image grammar refuses such a registry host.
  if (url.hostname.length > maxRealmHostLength || url.hostname.split('.').some((label) => label.length > 63)) {
    throw new RegistryError(ErrorCode.registryBadResponse,
      `${endpoint.registry} named a token realm whose host is not a valid DNS name (${url.hostname.length} characters)`, facts)
  }
  // Its answer becomes the Bearer token we send, so a plain-HTTP realm would let anyone on the path choose it.
  if (url.protocol === 'http:' && !endpoint.settings.insecure) {
    throw new RegistryError(ErrorCode.tokenRealmRefused,
      `${endpoint.registry} named a plain-HTTP token realm ${url.origin}; refused: only HTTPS realms are followed unless the registry is marked insecure`, facts)
  }
  return url
}

/** allowedRealmHosts entries are host[:port]; without a port they mean the scheme's default port. */
function listedRealm (realm: URL, endpoint: Endpoint): boolean {
  return endpoint.settings.allowedRealmHosts.some((entry) => {
    try {
      return new URL(`${realm.protocol}//${entry}`).host === realm.host
    } catch {
      return false
    }
  })
}

/** Credentials for registry A go to A's own origin, a realm its admin allowed, or (for the Hub) auth.docker.io; never in clear. */
export function realmMayReceiveCredentials (realm: URL, endpoint: Endpoint): boolean {
  if (!mayCarryCredentials(realm, endpoint)) return false
  if (realm.origin === endpoint.baseUrl.origin || listedRealm(realm, endpoint)) return true
  return isDockerHub(endpoint) && realm.origin === dockerHubRealmOrigin
}

/** Why configured credentials stay home, for the denial: otherwise it would read as if none were configured. */
export function withheldBecause (realm: URL, endpoint: Endpoint): string {
  if (!mayCarryCredentials(endpoint.baseUrl, endpoint)) return `${endpoint.baseUrl.origin} is plain HTTP and ${endpoint.registry} is not marked insecure`
  if (!mayCarryCredentials(realm, endpoint)) return `the token realm is plain HTTP and ${endpoint.registry} is not marked insecure`
  return `${realm.host} is not ${endpoint.registry}'s origin (${endpoint.baseUrl.host}); list it in allowedRealmHosts if it belongs to this registry`
}
