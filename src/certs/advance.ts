import type { CertificateSet, Decision, RotationPolicy, ServingNames } from './rotation.js'

/** Applies one decision of `decide` and returns the next set; the input is not changed. */
export async function advance (set: CertificateSet, decision: Decision, names: ServingNames, policy: RotationPolicy,
  now: Date): Promise<CertificateSet> {
  // Loaded on the first step that makes a key: a replica that finds the stored set current never needs @peculiar/x509 (issue 6).
  const { createCertificateAuthority, issueServingCertificate } = await import('./generate.js')
  const issueLeaf = async (ca: NonNullable<CertificateSet['ca']>): Promise<NonNullable<CertificateSet['leaf']>> =>
    await issueServingCertificate(ca, { now, validityDays: policy.leafValidityDays, ...names })
  switch (decision.action) {
    case 'create': {
      const ca = await createCertificateAuthority({ now, validityDays: policy.caValidityDays })
      // CAs that may have signed a leaf still served elsewhere stay trusted; decide() prunes them once expired.
      return { ca, leaf: await issueLeaf(ca), trusted: [ca.certPem, ...set.trusted], caRotatedAt: now }
    }
    case 'rotate-ca': {
      const ca = await createCertificateAuthority({ now, validityDays: policy.caValidityDays })
      // The old CA's key is dropped here: it never signs again, and only its certificate stays trusted.
      return { ca, leaf: set.leaf, trusted: [ca.certPem, ...set.trusted], caRotatedAt: now }
    }
    case 'trust-ca':
      return { ...set, trusted: set.ca === undefined ? set.trusted : [set.ca.certPem, ...set.trusted], caRotatedAt: now }
    case 'issue-leaf':
      if (set.ca === undefined) throw new Error('issue-leaf needs a CA')
      return { ...set, leaf: await issueLeaf(set.ca) }
    case 'prune-trust':
      return { ...set, trusted: decision.keep }
    case 'none':
      return set
  }
}
