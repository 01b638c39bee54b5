import { lookup as dnsLookup } from 'node:dns/promises'
import { BlockedAddressError, isLinkLocalAddress, isNonPublicAddress, lookupRefusing, parseAddress, type LookupFunction } from './address-guard.js'

/**
 * A token realm is a URL the registry names, so an attacker's registry chooses where we send a GET and whose
 * answer we forward as a Bearer token (issue 13 §2). Its address must be public unless the registry itself is on a
 * loopback or private network (an in-cluster registry with its token server next to it).
 */

export class RealmAddressError extends BlockedAddressError {
  constructor (hostname: string, address: string, registryHost: string) {
    super(hostname, address, `a token realm on a loopback or private address is followed only when the registry itself is on one, and ${registryHost} is not`)
  }
}

/** Whether the registry's own host is loopback or private: a literal, "localhost", or a name resolving there. */
export async function isPrivateRegistryHost (hostname: string): Promise<boolean> {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (parseAddress(bare) !== undefined) return isNonPublicAddress(bare)
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true
  try {
    const addresses = await dnsLookup(bare, { all: true })
    return addresses.some((entry) => isNonPublicAddress(entry.address))
  } catch {
    return false
  }
}

function refusal (hostname: string, address: string, registryHost: string, registryPrivate: boolean, allowLinkLocal: boolean): BlockedAddressError | undefined {
  if (!allowLinkLocal && isLinkLocalAddress(address)) return new BlockedAddressError(hostname, address)
  if (!registryPrivate && isNonPublicAddress(address)) return new RealmAddressError(hostname, address, registryHost)
  return undefined
}

/** For a literal realm host, which never goes through `lookup`: the same rule, checked before connecting. */
export async function checkRealmLiteral (hostname: string, registryHost: string, allowLinkLocal: boolean): Promise<void> {
  const bare = hostname.replace(/^\[|\]$/g, '')
  if (parseAddress(bare) === undefined || !isNonPublicAddress(bare)) return
  const blocked = refusal(hostname, bare, registryHost, await isPrivateRegistryHost(registryHost), allowLinkLocal)
  if (blocked !== undefined) throw blocked
}

/** A net.connect `lookup` for realm connections: checked at connect time, so a DNS answer cannot swap the address. */
export function realmLookup (registryHost: string, allowLinkLocal: boolean): LookupFunction {
  let registryPrivate: Promise<boolean> | undefined
  return (hostname, options, callback) => {
    registryPrivate ??= isPrivateRegistryHost(registryHost)
    void registryPrivate.then((isPrivate) => {
      lookupRefusing((name, address) => refusal(name, address, registryHost, isPrivate, allowLinkLocal))(hostname, options, callback)
    })
  }
}
