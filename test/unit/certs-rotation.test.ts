import t from 'tap'
import { advance } from '../../src/certs/advance.js'
import { createCertificateAuthority } from '../../src/certs/generate.js'
import { inspectCertificate, issuedBy } from '../../src/certs/inspect.js'
import { decide, type CertificateSet, type Decision, type RotationPolicy } from '../../src/certs/rotation.js'

const DAY = 86_400_000
const names = { dnsNames: ['hook.ns.svc', 'hook.ns.svc.cluster.local'], ipAddresses: [] }
const policy: RotationPolicy = { caValidityDays: 100, caRenewBeforeDays: 20, leafValidityDays: 10, leafRenewBeforeDays: 3, caBundleSettleSeconds: 600 }
const start = new Date('2026-01-01T00:00:00Z')
const at = (days: number): Date => new Date(start.getTime() + days * DAY)

async function fresh (now = start): Promise<CertificateSet> {
  return await advance({ trusted: [] }, { action: 'create', reason: 'test' }, names, policy, now)
}

/** Applies decisions until "none", publishing the bundle at `now` as the manager would after each write. */
async function settle (set: CertificateSet, now: Date, publishedAt?: Date): Promise<{ set: CertificateSet, steps: Decision[], last: Decision }> {
  const steps: Decision[] = []
  for (let i = 0; i < 8; i++) {
    const decision = decide(set, names, policy, now, publishedAt)
    if (decision.action === 'none') return { set, steps, last: decision }
    steps.push(decision)
    set = await advance(set, decision, names, policy, now)
  }
  throw new Error('did not settle')
}

t.test('nothing stored: create a CA, a leaf for the Service names, and trust the CA', async (t) => {
  t.match(decide({ trusted: [] }, names, policy, start), { action: 'create', reason: 'there is no CA yet' })
  const set = await fresh()
  t.ok(set.ca !== undefined && set.leaf !== undefined)
  t.equal(set.trusted.length, 1)
  t.ok(issuedBy(set.leaf?.certPem ?? '', set.ca?.certPem ?? ''))
  t.same(inspectCertificate(set.leaf?.certPem ?? '').dnsNames, names.dnsNames)
  const decision = decide(set, names, policy, start, start)
  t.equal(decision.action, 'none')
  if (decision.action === 'none') t.same(decision.recheckAt, at(policy.leafValidityDays - policy.leafRenewBeforeDays), 'next look when the leaf is due')
})

t.test('the leaf is renewed well before it expires, from the same CA', async (t) => {
  const set = await fresh()
  t.equal(decide(set, names, policy, at(6.9), start).action, 'none')
  const due = decide(set, names, policy, at(7), start)
  t.match(due, { action: 'issue-leaf', reason: /within leafRenewBeforeDays/ })
  const renewed = await advance(set, due, names, policy, at(7))
  t.equal(renewed.ca, set.ca, 'same CA')
  t.same(renewed.trusted, set.trusted, 'caBundle unchanged: nothing to publish')
  t.not(renewed.leaf?.certPem, set.leaf?.certPem)
  t.equal(decide(renewed, names, policy, at(7), start).action, 'none')
})

t.test('a leaf for other names, a broken leaf or a leaf from an unknown CA is replaced at once', async (t) => {
  const set = await fresh()
  t.match(decide(set, { dnsNames: ['renamed.ns.svc'], ipAddresses: [] }, policy, start, start), { action: 'issue-leaf', reason: /other hosts/ })
  t.match(decide(set, { ...names, ipAddresses: ['10.0.0.1'] }, policy, start, start), { action: 'issue-leaf' })
  t.match(decide({ ...set, leaf: undefined }, names, policy, start, start), { action: 'issue-leaf', reason: /no serving certificate/ })
  t.match(decide({ ...set, leaf: { certPem: 'garbage', keyPem: set.leaf?.keyPem ?? '' } }, names, policy, start, start),
    { action: 'issue-leaf', reason: /does not parse/ })
  const other = await fresh()
  t.match(decide({ ...set, leaf: { certPem: set.leaf?.certPem ?? '', keyPem: other.leaf?.keyPem ?? '' } }, names, policy, start, start),
    { action: 'issue-leaf', reason: /key does not belong/ })
  t.match(decide({ ...set, leaf: other.leaf }, names, policy, start, undefined),
    { action: 'issue-leaf', reason: /CA that caBundle does not hold/ }, 'no point waiting: nobody trusts it anyway')
})

t.test('an unusable CA is replaced, and CAs trusted before stay trusted until they expire', async (t) => {
  const set = await fresh()
  const other = await createCertificateAuthority({ now: start, validityDays: 100 })
  t.match(decide({ ...set, ca: { certPem: set.ca?.certPem ?? '', keyPem: other.keyPem } }, names, policy, start), { action: 'create', reason: /CA key does not belong/ })
  t.match(decide({ ...set, ca: { certPem: 'x', keyPem: 'y' } }, names, policy, start), { action: 'create', reason: /does not parse/ })
  t.match(decide(set, names, policy, at(101)), { action: 'create', reason: /the CA expired/ })
  const leafAsCa = { certPem: set.leaf?.certPem ?? '', keyPem: set.leaf?.keyPem ?? '' }
  t.match(decide({ ...set, ca: leafAsCa }, names, policy, start), { action: 'create', reason: /is not a CA/ })
  const replaced = await advance({ ...set, ca: { certPem: 'x', keyPem: 'y' } }, { action: 'create', reason: 'test' }, names, policy, at(1))
  t.equal(replaced.trusted.length, 2, 'the old CA is still trusted: other replicas may serve its leaf')
  t.equal(replaced.trusted[1], set.trusted[0])
})

t.test('a caBundle without the current CA gets it back, and waits to settle like a rotation', async (t) => {
  const set = await fresh()
  const stray = await createCertificateAuthority({ now: start, validityDays: 100 })
  const decision = decide({ ...set, trusted: [stray.certPem] }, names, policy, at(1), at(1))
  t.match(decision, { action: 'trust-ca' })
  const fixed = await advance({ ...set, trusted: [stray.certPem] }, decision, names, policy, at(1))
  t.same(fixed.trusted, [set.ca?.certPem, stray.certPem])
  t.same(fixed.caRotatedAt, at(1))
})

t.test('expired, unreadable and repeated caBundle entries are pruned', async (t) => {
  const set = await fresh()
  const old = await createCertificateAuthority({ now: at(-10), validityDays: 5 })
  const messy = { ...set, trusted: [...set.trusted, old.certPem, 'junk', ...set.trusted] }
  const decision = decide(messy, names, policy, start, start)
  t.match(decision, { action: 'prune-trust' })
  t.same((await advance(messy, decision, names, policy, start)).trusted, set.trusted)
})

t.test('CA rotation: new CA trusted beside the old one, the leaf moves only after caBundle settled, the old CA goes when it expires', async (t) => {
  const created = await fresh()
  const rotateAt = at(80)
  const set = await advance(created, { action: 'issue-leaf', reason: 'a leaf that is not due' }, names, policy, at(79))
  const decision = decide(set, names, policy, rotateAt, start)
  t.match(decision, { action: 'rotate-ca', reason: /within caRenewBeforeDays/ })
  const rotated = await advance(set, decision, names, policy, rotateAt)
  t.not(rotated.ca?.certPem, set.ca?.certPem)
  t.same(rotated.trusted, [rotated.ca?.certPem, set.ca?.certPem], 'caBundle holds new and old')
  t.equal(rotated.leaf, set.leaf, 'the served leaf stays: every apiserver trusts it')
  t.same(rotated.caRotatedAt, rotateAt)
  t.notOk(rotated.trusted.includes(set.ca?.keyPem ?? 'none'), 'the old key is gone')

  t.match(decide(rotated, names, policy, rotateAt, undefined), { action: 'none', reason: /waiting for caBundle to hold the current CA/ })
  const published = new Date(rotateAt.getTime() + 5000)
  const waiting = decide(rotated, names, policy, new Date(published.getTime() + 599_000), published)
  t.match(waiting, { action: 'none', reason: /waiting for caBundle to settle/ })
  if (waiting.action === 'none') t.same(waiting.recheckAt, new Date(published.getTime() + 600_000))
  const due = decide(rotated, names, policy, at(86.5), undefined)
  t.match(due, { action: 'none', reason: /within leafRenewBeforeDays; waiting for caBundle/ }, 'even a due renewal waits for the new CA to settle')
  const moveAt = new Date(published.getTime() + 600_000)
  const move = decide(rotated, names, policy, moveAt, published)
  t.match(move, { action: 'issue-leaf', reason: /previous CA and caBundle has settled/ })
  const moved = await advance(rotated, move, names, policy, moveAt)
  t.ok(issuedBy(moved.leaf?.certPem ?? '', moved.ca?.certPem ?? ''))
  t.equal(moved.trusted.length, 2)

  const { last } = await settle(moved, moveAt, published)
  t.equal(last.action, 'none')
  if (last.action === 'none') t.ok(last.recheckAt <= at(100), 'next look no later than the old CA expiry')
  const renewed = await settle(moved, at(95), published)
  t.same(renewed.steps.map((step) => step.action), ['issue-leaf'], 'an ordinary renewal from the new CA')
  const afterExpiry = await settle(renewed.set, at(100.5), published)
  t.same(afterExpiry.steps.map((step) => step.action), ['prune-trust'])
  t.same(afterExpiry.set.trusted, [moved.ca?.certPem], 'only the new CA is left')
})

t.test('waiting for caBundle to settle never outlasts the leaf', async (t) => {
  const created = await fresh()
  const set = await advance(created, { action: 'issue-leaf', reason: 'test' }, names, policy, at(79))
  const rotated = await advance(set, { action: 'rotate-ca', reason: 'test' }, names, policy, at(80))
  t.match(decide(rotated, names, { ...policy, caBundleSettleSeconds: 2 * 86_400 }, at(80), at(80)),
    { action: 'none', reason: /waiting for caBundle to settle/ }, 'settled on day 82, the leaf lasts until day 89: wait')
  t.match(decide(rotated, names, { ...policy, caBundleSettleSeconds: 15 * 86_400 }, at(80), at(80)),
    { action: 'issue-leaf', reason: /would expire before caBundle settles/ }, 'settled on day 95, after the leaf expired: do not wait')
})

t.test('1000 simulated days: always a valid leaf from a CA published long enough, never two CAs with keys', async (t) => {
  let set = await fresh()
  let cas = 1
  const firstCa = set.ca?.certPem ?? ''
  const bundlePublishedAt = new Map<string, Date>([[set.trusted.join(''), start]])
  const caPublishedAt = new Map<string, Date>([[firstCa, start]])
  const problems: string[] = []
  for (let hour = 0; hour < 1000 * 24; hour += 6) {
    const now = new Date(start.getTime() + hour * 3_600_000)
    const before = set.ca?.certPem
    set = (await settle(set, now, bundlePublishedAt.get(set.trusted.join('')))).set
    if (set.ca?.certPem !== before) cas++
    const leaf = inspectCertificate(set.leaf?.certPem ?? '')
    if (!(leaf.notBefore <= now && now < leaf.notAfter)) problems.push(`${now.toISOString()}: leaf not valid`)
    const issuer = set.trusted.find((pem) => issuedBy(set.leaf?.certPem ?? '', pem))
    if (issuer === undefined) problems.push(`${now.toISOString()}: leaf issuer not in caBundle`)
    const published = caPublishedAt.get(issuer ?? '')
    if (issuer !== firstCa && (published === undefined || now.getTime() - published.getTime() < policy.caBundleSettleSeconds * 1000)) {
      problems.push(`${now.toISOString()}: the leaf's CA was not published long enough`)
    }
    // The manager publishes after storing; record it as the apiservers would see it from now on.
    if (!bundlePublishedAt.has(set.trusted.join(''))) bundlePublishedAt.set(set.trusted.join(''), now)
    for (const pem of set.trusted) if (!caPublishedAt.has(pem)) caPublishedAt.set(pem, now)
  }
  t.same(problems, [])
  t.ok(cas >= 12 && cas <= 14, `a 100-day CA renewed 20 days early makes about 1000/80 CAs (made ${cas})`)
})
