import { splitPemBundle } from '../certs/inspect.js'
import type { CertificateSet } from '../certs/rotation.js'
import type { SecretObject } from './api.js'

/**
 * How a CertificateSet is stored in the certificate Secret. The layout follows kubernetes.io/tls and cert-manager
 * (tls.crt, tls.key, ca.crt) so kubectl and people recognise it; the CA key and the published bundle sit beside them.
 */

export const SecretKey = {
  leafCert: 'tls.crt',
  leafKey: 'tls.key',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  trusted: 'ca-bundle.crt'
} as const

export const CA_ROTATED_AT_ANNOTATION = 'actortemplate-webhook.ate.dev/ca-rotated-at'

function decoded (data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key]
  if (value === undefined || value === '') return undefined
  return Buffer.from(value, 'base64').toString('utf8')
}

function pair (certPem: string | undefined, keyPem: string | undefined): { certPem: string, keyPem: string } | undefined {
  return certPem === undefined || keyPem === undefined ? undefined : { certPem, keyPem }
}

/** An empty or foreign Secret decodes to an empty set, which decide() answers with 'create'. */
export function certificateSetFromSecret (secret: SecretObject): CertificateSet {
  const data = secret.data
  const rotatedAt = secret.metadata.annotations?.[CA_ROTATED_AT_ANNOTATION]
  const rotatedAtDate = rotatedAt === undefined ? undefined : new Date(rotatedAt)
  return {
    ca: pair(decoded(data, SecretKey.caCert), decoded(data, SecretKey.caKey)),
    leaf: pair(decoded(data, SecretKey.leafCert), decoded(data, SecretKey.leafKey)),
    trusted: splitPemBundle(decoded(data, SecretKey.trusted) ?? ''),
    caRotatedAt: rotatedAtDate !== undefined && !Number.isNaN(rotatedAtDate.getTime()) ? rotatedAtDate : undefined
  }
}

function encode (text: string | undefined): string | undefined {
  return text === undefined ? undefined : Buffer.from(text, 'utf8').toString('base64')
}

/** The Secret to write: `base` with our keys replaced. Its resourceVersion is kept, so a concurrent writer makes this a conflict. */
export function secretWithCertificateSet (base: SecretObject, set: CertificateSet): SecretObject {
  const values: Record<string, string | undefined> = {
    [SecretKey.caCert]: set.ca?.certPem,
    [SecretKey.caKey]: set.ca?.keyPem,
    [SecretKey.leafCert]: set.leaf?.certPem,
    [SecretKey.leafKey]: set.leaf?.keyPem,
    [SecretKey.trusted]: set.trusted.length === 0 ? undefined : set.trusted.join('')
  }
  // Keys that are not ours survive: someone may have put them there on purpose.
  const data = Object.fromEntries(Object.entries(base.data ?? {}).filter(([key]) => !(key in values)))
  for (const [key, value] of Object.entries(values)) {
    const encoded = encode(value)
    if (encoded !== undefined) data[key] = encoded
  }
  const annotations = Object.fromEntries(Object.entries(base.metadata.annotations ?? {})
    .filter(([key]) => key !== CA_ROTATED_AT_ANNOTATION))
  if (set.caRotatedAt !== undefined) annotations[CA_ROTATED_AT_ANNOTATION] = set.caRotatedAt.toISOString()
  return {
    ...base,
    type: base.type ?? 'Opaque',
    metadata: { ...base.metadata, annotations },
    data
  }
}

/** The PEM bundle to publish as caBundle. */
export function caBundleOf (set: CertificateSet): string {
  return set.trusted.join('')
}
