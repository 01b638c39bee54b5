import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * SSRF guard: registry hosts come from user-written image references, so a reference must never make us talk to a
 * link-local or cloud-metadata address (169.254.169.254 answers with instance credentials on every major cloud).
 * The check runs on every resolved address at connect time, so a DNS name pointing there is caught too.
 * Addresses are classified by ipaddr.js, not by hand-parsed octets (issue 13 §3).
 */

const metadataHostNames = new Set(['metadata.google.internal', 'metadata.goog', 'metadata'])

// AWS's IPv6 instance metadata endpoint sits in unique-local space, which is otherwise a legitimate private network.
const metadataAddresses = new Set([ipaddr.parse('fd00:ec2::254').toNormalizedString()])

/** Parses a literal (brackets and zone index allowed) the way the socket layer will see it; undefined for a name. */
export function parseAddress (literal: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = literal.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  // isIP first: ipaddr.js also accepts "0x7f.1"-style IPv4 forms that no socket API hands us.
  return isIP(bare) === 0 ? undefined : ipaddr.parse(bare)
}

/**
 * The IPv4 addresses an IPv6 address carries and a router would reach: IPv4-mapped (::ffff:a.b.c.d, also
 * ::ffff:0:a.b.c.d), the deprecated IPv4-compatible form (::a.b.c.d, RFC 4291 §2.5.5.1), NAT64 (64:ff9b::/96 RFC 6052;
 * 64:ff9b:1::/48 RFC 8215, either layout) and 6to4 (2002::/16, RFC 3056).
 */
function embeddedIpv4 (address: ipaddr.IPv6): ipaddr.IPv4[] {
  const bytes = address.toByteArray()
  const at = (...indexes: number[]): ipaddr.IPv4 => new ipaddr.IPv4(indexes.map((index) => bytes[index] ?? 0))
  const low32 = at(12, 13, 14, 15)
  switch (address.range()) {
    case 'ipv4Mapped':
    case 'rfc6145': return [low32]
    // RFC 6052 §2.2: a /48 prefix puts the IPv4 address in bytes 6-7 and 9-10 (byte 8 is the zero u-octet).
    case 'rfc6052': return [low32, at(6, 7, 9, 10)]
    case '6to4': return [at(2, 3, 4, 5)]
  }
  const parts = address.parts
  const compatible = parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || (parts[7] ?? 0) > 1)
  return compatible ? [low32] : []
}

/** Link-local or metadata, directly or through an IPv4 address embedded in IPv6. */
export function isLinkLocalAddress (literal: string): boolean {
  const address = parseAddress(literal)
  return address !== undefined && isLinkLocal(address)
}

function isLinkLocal (address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.range() === 'linkLocal') return true
  if (address.kind() === 'ipv4') return false
  const v6 = address as ipaddr.IPv6
  if (metadataAddresses.has(v6.toNormalizedString())) return true
  return embeddedIpv4(v6).some((embedded) => embedded.range() === 'linkLocal')
}

const nonPublicRanges = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat', 'unspecified'])

/**
 * Not on the public internet: loopback, private, unique-local, carrier-grade NAT, unspecified and link-local, also
 * when embedded in IPv6. A token realm may point there only when its registry is there too (issue 13 §2).
 */
export function isNonPublicAddress (literal: string): boolean {
  const address = parseAddress(literal)
  if (address === undefined) return false
  if (isLinkLocal(address)) return true
  const embedded = address.kind() === 'ipv6' ? embeddedIpv4(address as ipaddr.IPv6) : []
  return [address, ...embedded].some((candidate) => nonPublicRanges.has(candidate.range()))
}

/** Hostnames refused before any lookup: literal link-local IPs and the well-known metadata names. */
export function isForbiddenHostName (hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '')
  return metadataHostNames.has(bare) || isLinkLocalAddress(bare)
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS'
  constructor (readonly hostname: string, readonly address: string, reason = 'link-local and metadata addresses are never contacted') {
    super(`refusing to connect to ${hostname} (${address}): ${reason}`)
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
export type LookupFunction = (hostname: string, options: { all?: boolean, family?: number | 'IPv4' | 'IPv6' } | undefined, callback: LookupCallback) => void

/** A net.connect `lookup` that resolves all addresses and fails with BlockedAddressError when `refuse` says so. */
export function lookupRefusing (refuse: (hostname: string, address: string) => BlockedAddressError | undefined): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options?.family ?? 0, all: true }, (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (error !== null) {
        callback(error, '')
        return
      }
      for (const entry of addresses) {
        const blocked = refuse(hostname, entry.address)
        if (blocked !== undefined) {
          callback(blocked as NodeJS.ErrnoException, '')
          return
        }
      }
      if (options?.all === true) {
        callback(null, addresses)
        return
      }
      const first = addresses[0]
      if (first === undefined) {
        callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '')
        return
      }
      callback(null, first.address, first.family)
    })
  }
}

const refuseLinkLocal = lookupRefusing((hostname, address) => isLinkLocalAddress(address) ? new BlockedAddressError(hostname, address) : undefined)

/** A net.connect `lookup` that fails with BlockedAddressError when any resolved address is link-local. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  if (isForbiddenHostName(hostname)) {
    callback(new BlockedAddressError(hostname, hostname) as NodeJS.ErrnoException, '')
    return
  }
  refuseLinkLocal(hostname, options, callback)
}
