import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'

/**
 * SSRF guard: registry hosts come from user-written image references, so a reference must never make us talk to a
 * link-local or cloud-metadata address (169.254.169.254 answers with instance credentials on every major cloud).
 * The check runs on every resolved address at connect time, so a DNS name pointing there is caught too.
 */

const metadataHostNames = new Set(['metadata.google.internal', 'metadata.goog', 'metadata'])

function ipv4Octets (address: string): number[] | undefined {
  const parts = address.split('.')
  if (parts.length !== 4) return undefined
  const octets = parts.map(Number)
  return octets.every((octet) => Number.isInteger(octet) && octet >= 0 && octet <= 255) ? octets : undefined
}

/** The IPv4 address embedded in an IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:XXXX:XXXX). */
function mappedIpv4 (address: string): string | undefined {
  const lower = address.toLowerCase()
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted?.[1] !== undefined) return dotted[1]
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (hex?.[1] === undefined || hex[2] === undefined) return undefined
  const high = parseInt(hex[1], 16)
  const low = parseInt(hex[2], 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

export function isLinkLocalAddress (address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 4) {
    const octets = ipv4Octets(bare)
    return octets !== undefined && octets[0] === 169 && octets[1] === 254
  }
  if (family === 6) {
    const embedded = mappedIpv4(bare)
    if (embedded !== undefined) return isLinkLocalAddress(embedded)
    // fe80::/10 covers fe80–febf in the first hextet.
    const first = parseInt(bare.split(':')[0] ?? '', 16)
    return Number.isInteger(first) && (first & 0xffc0) === 0xfe80
  }
  return false
}

/** Hostnames refused before any lookup: literal link-local IPs and the well-known metadata names. */
export function isForbiddenHostName (hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '')
  return metadataHostNames.has(bare) || isLinkLocalAddress(bare)
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS'
  constructor (readonly hostname: string, readonly address: string) {
    super(`refusing to connect to ${hostname} (${address}): link-local and metadata addresses are never contacted`)
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/** A net.connect `lookup` that fails with BlockedAddressError when any resolved address is link-local. */
export function guardedLookup (hostname: string, options: { all?: boolean, family?: number | 'IPv4' | 'IPv6' } | undefined, callback: LookupCallback): void {
  if (isForbiddenHostName(hostname)) {
    callback(new BlockedAddressError(hostname, hostname) as NodeJS.ErrnoException, '')
    return
  }
  dnsLookup(hostname, { family: options?.family ?? 0, all: true }, (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
    if (error !== null) {
      callback(error, '')
      return
    }
    const blocked = addresses.find((entry) => isLinkLocalAddress(entry.address))
    if (blocked !== undefined) {
      callback(new BlockedAddressError(hostname, blocked.address) as NodeJS.ErrnoException, '')
      return
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
