import t from 'tap'
import { guardedLookup, isForbiddenHostName, isLinkLocalAddress, isNonPublicAddress } from '../../src/registry/address-guard.js'

// Issue 13 §3: every spelling that reaches a link-local or metadata address is refused, classified by ipaddr.js.
const linkLocal: Array<[string, string]> = [
  ['169.254.169.254', 'IPv4 metadata'],
  ['169.254.0.1', 'IPv4 link-local'],
  ['fe80::1', 'IPv6 link-local'],
  ['FE80::abcd', 'upper case'],
  ['febf::1', 'end of fe80::/10'],
  ['[fe80::1]', 'bracketed'],
  ['fe80::1%eth0', 'with a zone index'],
  ['::ffff:169.254.169.254', 'IPv4-mapped, dotted'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped, hex'],
  ['0:0:0:0:0:ffff:169.254.1.1', 'IPv4-mapped, long form'],
  ['::ffff:0:169.254.169.254', 'IPv4-translated (RFC 6145)'],
  ['fd00:ec2::254', 'AWS IPv6 metadata'],
  ['FD00:EC2:0:0:0:0:0:254', 'AWS IPv6 metadata, long form'],
  ['64:ff9b::169.254.169.254', 'NAT64 well-known prefix, dotted'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 well-known prefix, hex'],
  ['64:ff9b:1:a9fe:a9:fe00::', 'NAT64 local-use /48 layout (RFC 8215, RFC 6052 §2.2)'],
  ['::169.254.169.254', 'IPv4-compatible, dotted'],
  ['::a9fe:a9fe', 'IPv4-compatible, hex'],
  ['2002:a9fe:a9fe::1', '6to4 of 169.254.169.254']
]
const notLinkLocal: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['169.253.255.255', 'below 169.254/16'],
  ['169.255.0.1', 'above 169.254/16'],
  ['::1', 'IPv6 loopback'],
  ['::', 'unspecified'],
  ['fec0::1', 'site-local, not link-local'],
  ['fd00:ec2::253', 'a neighbour of the AWS metadata address'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['64:ff9b::8.8.8.8', 'NAT64 of a public address'],
  ['::8.8.8.8', 'IPv4-compatible public'],
  ['ghcr.io', 'a name'],
  ['2001:db8::1', 'documentation prefix']
]
for (const [address, why] of linkLocal) t.ok(isLinkLocalAddress(address), `${address} is refused: ${why}`)
for (const [address, why] of notLinkLocal) t.notOk(isLinkLocalAddress(address), `${address} is allowed: ${why}`)

const nonPublic = ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd12::1',
  '::ffff:10.0.0.1', '::ffff:127.0.0.1', '::7f00:1', '64:ff9b::10.0.0.1', '169.254.169.254', 'fe80::1']
const publicAddresses = ['8.8.8.8', '1.2.3.4', '2001:4860:4860::8888', '::ffff:8.8.8.8', 'auth.docker.io']
for (const address of nonPublic) t.ok(isNonPublicAddress(address), `${address} is not public`)
for (const address of publicAddresses) t.notOk(isNonPublicAddress(address), `${address} is public (or a name)`)

t.ok(isForbiddenHostName('metadata.google.internal'), 'GCE metadata name')
t.ok(isForbiddenHostName('METADATA.GOOGLE.INTERNAL.'), 'metadata name in any case, with a trailing dot')
t.ok(isForbiddenHostName('[::ffff:a9fe:a9fe]'), 'bracketed IPv4-mapped metadata address')
t.ok(isForbiddenHostName('[fd00:ec2::254]'), 'bracketed AWS IPv6 metadata address')
t.notOk(isForbiddenHostName('localhost'), 'loopback is allowed')

t.test('lookup refuses names that resolve to link-local and passes loopback', async (t) => {
  const lookup = async (host: string, all: boolean) => await new Promise<{ error: NodeJS.ErrnoException | null, address: unknown }>((resolve) => {
    guardedLookup(host, { all }, (error, address) => { resolve({ error, address }) })
  })
  const blocked = await lookup('169.254.169.254', false)
  t.match(blocked.error?.message, /link-local and metadata addresses are never contacted/)
  const aws = await lookup('fd00:ec2::254', false)
  t.match(aws.error?.message, /link-local and metadata addresses are never contacted/)
  const loopback = await lookup('localhost', false)
  t.equal(loopback.error, null)
  t.match(String(loopback.address), /^(127\.0\.0\.1|::1)$/)
  const all = await lookup('localhost', true)
  t.ok(Array.isArray(all.address) && all.address.length > 0, 'all:true returns the address list')
})
