import { createPrivateKey, X509Certificate } from 'node:crypto'

/** Facts read from PEM text with node:crypto: no I/O, no clock. */
export interface CertificateFacts {
  subject: string
  notBefore: Date
  notAfter: Date
  isCa: boolean
  dnsNames: string[]
  ipAddresses: string[]
  /** SHA-256 fingerprint, colon-separated hex: identifies a CA in a bundle */
  fingerprint: string
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** The certificates of a PEM bundle, each with a trailing newline; text outside the blocks is ignored. */
export function splitPemBundle (bundle: string): string[] {
  return [...bundle.matchAll(PEM_BLOCK)].map((match) => `${match[0]}\n`)
}

function subjectAltNames (certificate: X509Certificate): { dnsNames: string[], ipAddresses: string[] } {
  const dnsNames: string[] = []
  const ipAddresses: string[] = []
  // Node prints "DNS:a, IP Address:10.0.0.1"; our names never contain ", ", and quoted oddities are not ours to match.
  for (const entry of (certificate.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4))
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11))
  }
  return { dnsNames, ipAddresses }
}

export function inspectCertificate (pem: string): CertificateFacts {
  const certificate = new X509Certificate(pem)
  return {
    subject: certificate.subject,
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
    isCa: certificate.ca,
    ...subjectAltNames(certificate),
    fingerprint: certificate.fingerprint256
  }
}

/** False (never a throw) for a key that does not parse or belongs to another certificate. */
export function keyMatches (certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    return false
  }
}

/** True when `caPem` names and signed `certPem`: a name match alone is not enough, two CAs may share a name. */
export function issuedBy (certPem: string, caPem: string): boolean {
  try {
    const certificate = new X509Certificate(certPem)
    const ca = new X509Certificate(caPem)
    return certificate.checkIssued(ca) && certificate.verify(ca.publicKey)
  } catch {
    return false
  }
}
