import { randomBytes, webcrypto } from 'node:crypto'
import { x509 } from './x509.js'

/**
 * Certificate generation: an ECDSA P-256 CA and serving certificates it signs, PEM-encoded. Callers pass the
 * time, so validity windows are decided by them (and by tests), not by a hidden clock.
 */

/** A certificate and its private key: PEM "CERTIFICATE" and PKCS#8 "PRIVATE KEY", which Node and Go both read. */
export interface CertificatePair {
  certPem: string
  keyPem: string
}

export interface CaOptions {
  now: Date
  validityDays: number
  commonName?: string
}

export interface ServingOptions {
  now: Date
  validityDays: number
  dnsNames: readonly string[]
  ipAddresses: readonly string[]
  commonName?: string
}

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' }
const DAY_MS = 86_400_000
/** Back-dating tolerates peers (apiservers) whose clocks run behind ours. */
const BACKDATE_MS = 3_600_000

function window (now: Date, validityDays: number, notAfterCap?: Date): { notBefore: Date, notAfter: Date } {
  const notAfter = new Date(now.getTime() + validityDays * DAY_MS)
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    // A leaf must not outlive its CA: a chain is only as valid as its shortest link.
    notAfter: notAfterCap !== undefined && notAfterCap < notAfter ? notAfterCap : notAfter
  }
}

/** RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit cleared. */
function serialNumber (): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01
  return bytes.toString('hex')
}

/** PEM text ends with a newline, so bundles can be plain concatenations (Go's and OpenSSL's readers expect line starts). */
function pemText (pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`
}

async function privateKeyPem (key: webcrypto.CryptoKey): Promise<string> {
  return pemText(x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'))
}

async function importSigningKey (keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(keyPem)
  return await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign'])
}

/** Distinct names per CA keep logs and chain building unambiguous while an old and a new CA are both trusted. */
function caName (commonName: string | undefined, now: Date): string {
  return commonName ?? `actortemplate-webhook CA ${now.toISOString().replace(/\.\d+Z$/, 'Z')}`
}

export async function createCertificateAuthority (options: CaOptions): Promise<CertificatePair> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [caName(options.commonName, options.now)] }],
    keys,
    signingAlgorithm: SIGNING,
    ...window(options.now, options.validityDays),
    extensions: [
      // pathLen 0: this CA signs serving certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { certPem: pemText(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) }
}

export async function issueServingCertificate (ca: CertificatePair, options: ServingOptions): Promise<CertificatePair> {
  if (options.dnsNames.length === 0 && options.ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address')
  }
  const caCert = new x509.X509Certificate(ca.certPem)
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])
  const names: x509.JsonGeneralName[] = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...options.ipAddresses.map((value) => ({ type: 'ip' as const, value }))
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [options.commonName ?? options.dnsNames[0] ?? options.ipAddresses[0] ?? 'actortemplate-webhook'] }],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: SIGNING,
    ...window(options.now, options.validityDays, caCert.notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // ECDSA keys sign the handshake; keyEncipherment is an RSA-only usage.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // Go (the apiserver) ignores the CN for host names: the SANs alone make the certificate valid.
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert)
    ]
  })
  return { certPem: pemText(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) }
}
