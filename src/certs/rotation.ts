import type { CertificatePair } from './generate.js'
import { inspectCertificate, issuedBy, keyMatches, type CertificateFacts } from './inspect.js'
import { sameIp } from './ip.js'

/**
 * What to do next with a stored certificate set, as a pure function of the set, the wanted names, the policy and the
 * time. One step at a time: the caller applies the step, stores the result and asks again until the answer is "none".
 *
 * CA rotation, so that no apiserver call fails:
 *   1. rotate-ca: a new CA becomes current; the old CA stays in `trusted` (the caBundle) and still signs the served leaf.
 *   2. The caller publishes `trusted` (old + new) as caBundle and reports when it saw it in place (`bundlePublishedAt`).
 *   3. After `caBundleSettleSeconds` more, issue-leaf moves the leaf to the new CA; every apiserver trusts both by then.
 *   4. The old CA certificate is pruned from `trusted` when it expires (its key was dropped in step 1).
 */

export interface CertificateSet {
  ca?: CertificatePair | undefined
  leaf?: CertificatePair | undefined
  /** PEM certificates published as caBundle: the current CA first, then CAs that may still have signed a served leaf */
  trusted: string[]
  /** when the current CA entered `trusted` */
  caRotatedAt?: Date | undefined
}

export interface RotationPolicy {
  caValidityDays: number
  /** must exceed leafRenewBeforeDays, or a leaf capped by its CA's expiry would be renewed over and over */
  caRenewBeforeDays: number
  leafValidityDays: number
  leafRenewBeforeDays: number
  caBundleSettleSeconds: number
}

export interface ServingNames {
  dnsNames: readonly string[]
  ipAddresses: readonly string[]
}

export type Decision =
  | { action: 'create', reason: string }
  | { action: 'rotate-ca', reason: string }
  | { action: 'trust-ca', reason: string }
  | { action: 'issue-leaf', reason: string }
  | { action: 'prune-trust', reason: string, keep: string[] }
  /** `recheckAt`: the earliest time the answer can change without the set changing */
  | { action: 'none', reason: string, recheckAt: Date }

const DAY_MS = 86_400_000

function tryInspect (pem: string | undefined): CertificateFacts | undefined {
  if (pem === undefined) return undefined
  try {
    return inspectCertificate(pem)
  } catch {
    return undefined
  }
}

function caProblem (ca: CertificatePair | undefined, facts: CertificateFacts | undefined, now: Date): string | undefined {
  if (ca === undefined) return 'there is no CA yet'
  if (facts === undefined) return 'the stored CA certificate does not parse'
  if (!facts.isCa) return 'the stored CA certificate is not a CA'
  if (!keyMatches(ca.certPem, ca.keyPem)) return 'the stored CA key does not belong to the CA certificate'
  if (facts.notAfter <= now) return `the CA expired at ${facts.notAfter.toISOString()}`
  return undefined
}

function sameNames (facts: CertificateFacts, names: ServingNames): boolean {
  const dns = (list: readonly string[]): string => [...new Set(list.map((name) => name.toLowerCase()))].sort().join(',')
  const ipsMatch = facts.ipAddresses.length === new Set(names.ipAddresses).size &&
    names.ipAddresses.every((ip) => facts.ipAddresses.some((have) => sameIp(have, ip)))
  return dns(facts.dnsNames) === dns(names.dnsNames) && ipsMatch
}

/**
 * Why the leaf must be re-issued, or undefined. `waitable`: the leaf still works and was signed by a trusted CA other than
 * the current one, so its replacement (signed by the current CA) must wait until caBundle has settled, even if it is
 * due for renewal: renewal windows are days, settling is minutes.
 */
function leafProblem (set: CertificateSet, ca: CertificatePair, names: ServingNames, policy: RotationPolicy, now: Date):
  { reason: string, waitable: boolean } | undefined {
  const leaf = set.leaf
  const facts = tryInspect(leaf?.certPem)
  if (leaf === undefined) return { reason: 'there is no serving certificate yet', waitable: false }
  if (facts === undefined) return { reason: 'the stored serving certificate does not parse', waitable: false }
  if (!keyMatches(leaf.certPem, leaf.keyPem)) return { reason: 'the stored serving key does not belong to the certificate', waitable: false }
  if (facts.notAfter <= now) return { reason: `the serving certificate expired at ${facts.notAfter.toISOString()}`, waitable: false }
  const fromCurrent = issuedBy(leaf.certPem, ca.certPem)
  const fromPrevious = !fromCurrent && set.trusted.some((pem) => issuedBy(leaf.certPem, pem))
  if (!fromCurrent && !fromPrevious) return { reason: 'the serving certificate was signed by a CA that caBundle does not hold', waitable: false }
  if (facts.notAfter.getTime() - now.getTime() <= policy.leafRenewBeforeDays * DAY_MS) {
    return { reason: `the serving certificate expires at ${facts.notAfter.toISOString()}, within leafRenewBeforeDays`, waitable: fromPrevious }
  }
  if (!sameNames(facts, names)) return { reason: 'the serving certificate names other hosts than the Service', waitable: fromPrevious }
  if (fromPrevious) return { reason: 'the serving certificate was signed by the previous CA', waitable: true }
  return undefined
}

export function decide (set: CertificateSet, names: ServingNames, policy: RotationPolicy, now: Date,
  bundlePublishedAt?: Date): Decision {
  const caFacts = tryInspect(set.ca?.certPem)
  const problem = caProblem(set.ca, caFacts, now)
  if (problem !== undefined || set.ca === undefined || caFacts === undefined) return { action: 'create', reason: problem ?? 'there is no CA yet' }
  const caRenewAt = caFacts.notAfter.getTime() - policy.caRenewBeforeDays * DAY_MS
  if (now.getTime() >= caRenewAt) {
    return { action: 'rotate-ca', reason: `the CA expires at ${caFacts.notAfter.toISOString()}, within caRenewBeforeDays` }
  }

  const trusted = set.trusted.map((pem) => ({ pem, facts: tryInspect(pem) }))
  if (!trusted.some(({ facts }) => facts?.fingerprint === caFacts.fingerprint)) {
    return { action: 'trust-ca', reason: 'caBundle does not hold the current CA' }
  }

  const leaf = leafProblem(set, set.ca, names, policy, now)
  let recheckAt = caRenewAt
  if (leaf !== undefined) {
    if (!leaf.waitable) return { action: 'issue-leaf', reason: leaf.reason }
    if (bundlePublishedAt === undefined) {
      return { action: 'none', reason: `${leaf.reason}; waiting for caBundle to hold the current CA`, recheckAt: now }
    }
    const settled = Math.max(set.caRotatedAt?.getTime() ?? 0, bundlePublishedAt.getTime()) + policy.caBundleSettleSeconds * 1000
    if (now.getTime() >= settled) return { action: 'issue-leaf', reason: `${leaf.reason} and caBundle has settled` }
    // Waiting must not outlast the leaf: a new CA some apiserver may not know yet beats an expired certificate for all.
    const leafExpiry = tryInspect(set.leaf?.certPem)?.notAfter.getTime() ?? 0
    if (settled >= leafExpiry) return { action: 'issue-leaf', reason: `${leaf.reason}, and it would expire before caBundle settles` }
    return { action: 'none', reason: `${leaf.reason}; waiting for caBundle to settle`, recheckAt: new Date(settled) }
  }

  const seen = new Set<string>()
  const keep: string[] = []
  for (const { pem, facts } of trusted) {
    if (facts === undefined || facts.notAfter <= now || seen.has(facts.fingerprint)) continue
    seen.add(facts.fingerprint)
    keep.push(pem)
    recheckAt = Math.min(recheckAt, facts.notAfter.getTime())
  }
  if (keep.length !== set.trusted.length) {
    return { action: 'prune-trust', reason: 'caBundle holds expired, unreadable or repeated certificates', keep }
  }

  const leafFacts = tryInspect(set.leaf?.certPem)
  if (leafFacts !== undefined) recheckAt = Math.min(recheckAt, leafFacts.notAfter.getTime() - policy.leafRenewBeforeDays * DAY_MS)
  return { action: 'none', reason: 'the certificates are current', recheckAt: new Date(recheckAt) }
}
