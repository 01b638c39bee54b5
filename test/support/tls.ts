/**
 * Throw-away X.509 material for tests: a CA and leaf certificates it signs, all ECDSA P-256 made with
 * WebCrypto, so nothing depends on an openssl binary and every run gets fresh keys.
 *
 *   const tls = await writeTlsFiles(dir, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
 *   // tls.caFile, tls.certFile, tls.keyFile (+ the same as PEM strings)
 */
import { webcrypto } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type * as X509 from '@peculiar/x509'
import { x509 } from '../../src/certs/x509.js'

const crypto = webcrypto

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' }
const DAY_MS = 24 * 60 * 60 * 1000

export interface KeyAndCert {
  cert: X509.X509Certificate
  keys: webcrypto.CryptoKeyPair
  certPem: string
  /** PKCS#8 "PRIVATE KEY" PEM, which both Node and Go's tls.LoadX509KeyPair read */
  keyPem: string
}

export type CertificateAuthority = KeyAndCert

export interface LeafOptions {
  commonName?: string
  dnsNames?: readonly string[]
  ipAddresses?: readonly string[]
  /** Extended key usages. Default ['serverAuth']; empty for a pure signing certificate. */
  usages?: ReadonlyArray<'serverAuth' | 'clientAuth'>
}

export interface TlsFiles {
  dir: string
  caFile: string
  certFile: string
  keyFile: string
  caPem: string
  certPem: string
  keyPem: string
  ca: CertificateAuthority
}

function validity(): { notBefore: Date; notAfter: Date } {
  // Back-dated so a peer whose clock is slightly behind still accepts the certificate.
  const now = Date.now()
  return { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 7 * DAY_MS) }
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

export async function createCa(commonName = 'atw test CA'): Promise<CertificateAuthority> {
  const keys = await generateKeys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: SIGNING,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) }
}

export async function issueCert(ca: CertificateAuthority, opts: LeafOptions = {}): Promise<KeyAndCert> {
  const keys = await generateKeys()
  const names: X509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value }))
  ]
  const usages = opts.usages ?? ['serverAuth']
  const ekuOids = { serverAuth: x509.ExtendedKeyUsage.serverAuth, clientAuth: x509.ExtendedKeyUsage.clientAuth }
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert)
  ]
  if (usages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(usages.map((u) => ekuOids[u])))
  // Go ignores the CN for host names, so SANs are the only thing that makes a serving cert valid.
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names))
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${opts.commonName ?? opts.dnsNames?.[0] ?? opts.ipAddresses?.[0] ?? 'atw test leaf'}`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    ...validity(),
    extensions
  })
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) }
}

/**
 * Writes ca.crt, tls.crt and tls.key into `dir` (created if needed). Pass `ca` to reuse one CA for
 * several servers, e.g. a registry and its token server.
 */
export async function writeTlsFiles(
  dir: string,
  opts: LeafOptions & { ca?: CertificateAuthority } = {}
): Promise<TlsFiles> {
  const ca = opts.ca ?? await createCa()
  const leaf = await issueCert(ca, {
    dnsNames: opts.dnsNames ?? ['localhost'],
    ipAddresses: opts.ipAddresses ?? ['127.0.0.1'],
    ...(opts.commonName === undefined ? {} : { commonName: opts.commonName }),
    ...(opts.usages === undefined ? {} : { usages: opts.usages })
  })
  await mkdir(dir, { recursive: true })
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }
  await writeFile(files.caFile, ca.certPem)
  await writeFile(files.certFile, leaf.certPem)
  await writeFile(files.keyFile, leaf.keyPem, { mode: 0o600 })
  return { dir, ...files, caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem, ca }
}

