import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:tls'
import t from 'tap'
import { createCertificateAuthority, issueServingCertificate, type CertificatePair } from '../../src/certs/generate.js'
import { inspectCertificate, issuedBy, keyMatches, splitPemBundle } from '../../src/certs/inspect.js'
import { canonicalIp, sameIp } from '../../src/certs/ip.js'

const now = new Date('2026-06-01T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

t.test('a CA is an ECDSA P-256 self-signed CA with the asked validity, back-dated an hour', async (t) => {
  const ca = await createCertificateAuthority({ now, validityDays: 30 })
  const facts = inspectCertificate(ca.certPem)
  t.equal(facts.isCa, true)
  t.equal(facts.notBefore.getTime(), now.getTime() - HOUR)
  t.equal(facts.notAfter.getTime(), now.getTime() + 30 * DAY)
  t.ok(issuedBy(ca.certPem, ca.certPem), 'self-signed')
  t.ok(keyMatches(ca.certPem, ca.keyPem))
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8, which Node and Go both load')
  const x509 = new X509Certificate(ca.certPem)
  t.equal(x509.publicKey.asymmetricKeyType, 'ec')
  t.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  const other = await createCertificateAuthority({ now: new Date(now.getTime() + 1000), validityDays: 30 })
  t.not(inspectCertificate(other.certPem).subject, facts.subject, 'two CAs never share a name')
  t.not(x509.serialNumber, new X509Certificate(other.certPem).serialNumber)
})

t.test('a serving certificate carries the DNS and IP SANs, serverAuth, and is signed by its CA only', async (t) => {
  const ca = await createCertificateAuthority({ now, validityDays: 365 })
  const stranger = await createCertificateAuthority({ now, validityDays: 365 })
  const leaf = await issueServingCertificate(ca, {
    now, validityDays: 90, dnsNames: ['hook.ns.svc', 'hook.ns.svc.cluster.local'], ipAddresses: ['127.0.0.1', '::1']
  })
  const facts = inspectCertificate(leaf.certPem)
  t.same(facts.dnsNames, ['hook.ns.svc', 'hook.ns.svc.cluster.local'])
  t.equal(facts.ipAddresses.length, 2)
  t.ok(sameIp(facts.ipAddresses[0] ?? '', '127.0.0.1'))
  t.ok(sameIp(facts.ipAddresses[1] ?? '', '::1'), `IPv6 printed as ${facts.ipAddresses[1] ?? ''} still matches ::1`)
  t.equal(facts.isCa, false)
  t.match(facts.subject, /CN=hook\.ns\.svc/)
  t.same(new X509Certificate(leaf.certPem).keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage serverAuth only')
  t.ok(issuedBy(leaf.certPem, ca.certPem))
  t.notOk(issuedBy(leaf.certPem, stranger.certPem))
  t.ok(keyMatches(leaf.certPem, leaf.keyPem))
  t.notOk(keyMatches(leaf.certPem, ca.keyPem))
  t.notOk(keyMatches(leaf.certPem, 'not a key'))
  t.equal(facts.notAfter.getTime(), now.getTime() + 90 * DAY)
})

t.test('a serving certificate never outlives its CA', async (t) => {
  const ca = await createCertificateAuthority({ now, validityDays: 10 })
  const leaf = await issueServingCertificate(ca, { now, validityDays: 90, dnsNames: ['a.b.svc'], ipAddresses: [] })
  t.equal(inspectCertificate(leaf.certPem).notAfter.getTime(), inspectCertificate(ca.certPem).notAfter.getTime())
})

t.test('a serving certificate needs a name', async (t) => {
  const ca = await createCertificateAuthority({ now, validityDays: 10 })
  await t.rejects(issueServingCertificate(ca, { now, validityDays: 1, dnsNames: [], ipAddresses: [] }), /at least one DNS name or IP/)
})

t.test('PEM bundles split into certificates; IPs compare in canonical form', async (t) => {
  const a = await createCertificateAuthority({ now, validityDays: 1 })
  const b = await createCertificateAuthority({ now, validityDays: 1 })
  t.same(splitPemBundle(`# comment\n${a.certPem}\n\n${b.certPem}`), [a.certPem, b.certPem])
  t.same(splitPemBundle(''), [])
  t.equal(canonicalIp('0:0:0:0:0:0:0:1'), '[::1]')
  t.equal(canonicalIp('not-an-ip'), undefined)
  t.notOk(sameIp('10.0.0.1', '10.0.0.2'))
})

async function serve (pair: CertificatePair): Promise<Server> {
  const server = createServer({ cert: pair.certPem, key: pair.keyPem }, (_request, response) => { response.end('ok') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

async function handshake (port: number, ca: string, servername: string): Promise<string | undefined> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername })
    socket.once('secureConnect', () => { socket.end(); resolve(undefined) })
    socket.once('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message) })
  })
}

t.test('a real TLS client trusts the serving certificate for the Service name, through the CA', async (t) => {
  const issued = new Date()
  const ca = await createCertificateAuthority({ now: issued, validityDays: 1 })
  const leaf = await issueServingCertificate(ca, { now: issued, validityDays: 1, dnsNames: ['hook.ns.svc'], ipAddresses: ['127.0.0.1'] })
  const server = await serve(leaf)
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  t.equal(await handshake(port, ca.certPem, 'hook.ns.svc'), undefined, 'the name the apiserver dials')
  t.equal(await handshake(port, ca.certPem, 'other.ns.svc'), 'ERR_TLS_CERT_ALTNAME_INVALID')
  const stranger = await createCertificateAuthority({ now: issued, validityDays: 1 })
  t.equal(await handshake(port, stranger.certPem, 'hook.ns.svc'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  t.equal(await handshake(port, `${stranger.certPem}${ca.certPem}`, 'hook.ns.svc'), undefined, 'a bundle of two CAs works')
})
