import t from 'tap'
import { guardedLookup, isForbiddenHostName, isLinkLocalAddress } from '../../src/registry/address-guard.js'

const linkLocal = ['169.254.169.254', '169.254.0.1', 'fe80::1', 'FE80::abcd', 'febf::1', '[fe80::1]', '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:169.254.1.1', 'fe80::1%eth0']
const notLinkLocal = ['127.0.0.1', '10.0.0.1', '169.253.255.255', '169.255.0.1', '::1', 'fec0::1', '::ffff:127.0.0.1', 'ghcr.io', '2001:db8::1']

for (const address of linkLocal) t.ok(isLinkLocalAddress(address), `${address} is link-local`)
for (const address of notLinkLocal) t.notOk(isLinkLocalAddress(address), `${address} is not link-local`)

t.ok(isForbiddenHostName('metadata.google.internal'), 'GCE metadata name')
t.ok(isForbiddenHostName('METADATA.GOOGLE.INTERNAL.'), 'metadata name in any case, with a trailing dot')
t.ok(isForbiddenHostName('[::ffff:a9fe:a9fe]'), 'bracketed IPv4-mapped metadata address')
t.notOk(isForbiddenHostName('localhost'), 'loopback is allowed')

t.test('lookup refuses names that resolve to link-local and passes loopback', async (t) => {
  const lookup = async (host: string, all: boolean) => await new Promise<{ error: NodeJS.ErrnoException | null, address: unknown }>((resolve) => {
    guardedLookup(host, { all }, (error, address) => { resolve({ error, address }) })
  })
  const blocked = await lookup('169.254.169.254', false)
  t.match(blocked.error?.message, /link-local and metadata addresses are never contacted/)
  const loopback = await lookup('localhost', false)
  t.equal(loopback.error, null)
  t.match(String(loopback.address), /^(127\.0\.0\.1|::1)$/)
  const all = await lookup('localhost', true)
  t.ok(Array.isArray(all.address) && all.address.length > 0, 'all:true returns the address list')
})
