import { isIP } from 'node:net'

/** The WHATWG URL parser's canonical form: "0:0:0:0:0:0:0:1" and "::1" (Node prints SANs the long way) compare equal. */
export function canonicalIp (ip: string): string | undefined {
  const family = isIP(ip)
  if (family === 0) return undefined
  return new URL(`http://${family === 6 ? `[${ip}]` : ip}/`).hostname
}

export function sameIp (a: string, b: string): boolean {
  const left = canonicalIp(a)
  return left !== undefined && left === canonicalIp(b)
}
