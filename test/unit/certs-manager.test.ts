import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { inspectCertificate, issuedBy, splitPemBundle } from '../../src/certs/inspect.js'
import type { RotationPolicy } from '../../src/certs/rotation.js'
import { KubeApiError, KubeErrorReason } from '../../src/kube/api.js'
import { CA_ROTATED_AT_ANNOTATION, certificateSetFromSecret, SecretKey } from '../../src/kube/cert-secret.js'
import { CertificateManager } from '../../src/kube/certificate-manager.js'
import { servingNames } from '../../src/kube/from-config.js'
import { servingFileWriter } from '../../src/kube/serving-files.js'
import { FakeKubeApi, FakeReadiness } from './certs-fake-api.js'

const DAY = 86_400_000
const NS = 'atw-system'
const SECRET = 'atw-certs'
const MUTATING = 'pin.actortemplates.ate.dev'
const VALIDATING = 'validate.actortemplates.ate.dev'
const policy: RotationPolicy = { caValidityDays: 100, caRenewBeforeDays: 20, leafValidityDays: 10, leafRenewBeforeDays: 3, caBundleSettleSeconds: 60 }

interface Replica {
  manager: CertificateManager
  readiness: FakeReadiness
  certFile: string
  keyFile: string
  reloads: number
}

function cluster (): FakeKubeApi {
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', MUTATING, [MUTATING])
  api.addWebhookConfiguration('validating', VALIDATING, [VALIDATING])
  return api
}

async function replica (api: FakeKubeApi, clock: { now: Date }): Promise<Replica> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-certs-'))
  const readiness = new FakeReadiness()
  const certFile = join(dir, 'tls', 'tls.crt')
  const keyFile = join(dir, 'tls', 'tls.key')
  const manager = new CertificateManager({
    api,
    namespace: NS,
    secretName: SECRET,
    names: servingNames('atw', NS),
    webhookConfigurations: [{ kind: 'mutating', name: MUTATING }, { kind: 'validating', name: VALIDATING }],
    policy,
    checkIntervalMs: 300_000,
    writeServingFiles: servingFileWriter(certFile, keyFile),
    readiness,
    now: () => clock.now,
    retryDelayMs: { min: 5, max: 20 }
  })
  const result: Replica = { manager, readiness, certFile, keyFile, reloads: 0 }
  manager.setReloader(async () => { result.reloads++ })
  return result
}

function stored (api: FakeKubeApi) {
  const secret = api.secrets.get(`${NS}/${SECRET}`)
  if (secret === undefined) throw new Error('no Secret stored')
  return { secret, set: certificateSetFromSecret(secret) }
}

t.test('first start: creates the Secret, publishes caBundle to both configurations, writes the files, then is ready', async (t) => {
  const api = cluster()
  const clock = { now: new Date('2026-03-01T00:00:00Z') }
  const one = await replica(api, clock)
  t.same([...one.readiness.blockers.keys()], ['certificate', 'ca-bundle'], 'not ready before the first check')
  const result = await one.manager.check()
  t.same(result.applied.map((step) => step.action), ['create'])
  t.equal(result.bundleInPlace, true)
  t.equal(result.servingChanged, true)
  t.ok(one.readiness.ready, `ready: ${[...one.readiness.blockers.values()].join('; ')}`)
  t.equal(one.reloads, 1, 'the server is told to reload before readiness flips')

  const { secret, set } = stored(api)
  t.equal(secret.type, 'Opaque')
  t.same(Object.keys(secret.data ?? {}).sort(), [SecretKey.caCert, SecretKey.caKey, SecretKey.trusted, SecretKey.leafCert, SecretKey.leafKey].sort())
  t.ok(secret.metadata.annotations?.[CA_ROTATED_AT_ANNOTATION])
  t.same(api.caBundle('mutating', MUTATING), [set.ca?.certPem])
  t.same(api.caBundle('validating', VALIDATING), [set.ca?.certPem])
  t.equal(await readFile(one.certFile, 'utf8'), set.leaf?.certPem)
  t.equal(await readFile(one.keyFile, 'utf8'), set.leaf?.keyPem)
  t.equal((await stat(one.keyFile)).mode & 0o777, 0o600, 'the key is private')
  t.same(inspectCertificate(set.leaf?.certPem ?? '').dnsNames, ['atw.atw-system.svc', 'atw.atw-system.svc.cluster.local'])
  t.same(result.nextCheckAt, new Date(clock.now.getTime() + 300_000), 'checks again after checkIntervalMs')

  const again = await one.manager.check()
  t.same(again.applied, [], 'a second check changes nothing')
  t.equal(again.servingChanged, false)
  t.equal(api.count('replaceSecret') + api.count('createSecret') + api.count('patchWebhookCaBundles'), 3, 'one create, two patches, in all')
})

t.test('the empty Secret the manifests ship is filled by update, never create (RBAC grants no create)', async (t) => {
  const api = cluster()
  api.secrets.set(`${NS}/${SECRET}`, { metadata: { name: SECRET, namespace: NS, resourceVersion: '1', annotations: { keep: 'me' } }, type: 'Opaque' })
  const one = await replica(api, { now: new Date('2026-03-01T00:00:00Z') })
  await one.manager.check()
  t.equal(api.count('createSecret'), 0)
  t.equal(api.count('replaceSecret'), 1)
  t.equal(stored(api).secret.metadata.annotations?.['keep'], 'me', 'foreign annotations survive')
})

t.test('two replicas starting together make one CA: the loser of the create race adopts the winner\'s', async (t) => {
  const api = cluster()
  const clock = { now: new Date('2026-03-01T00:00:00Z') }
  const [a, b] = await Promise.all([replica(api, clock), replica(api, clock)])
  const results = await Promise.all([a.manager.check(), b.manager.check()])
  t.same(results.map((result) => result.applied.length).sort(), [0, 1], 'exactly one replica wrote')
  t.equal(api.count('createSecret'), 2, 'both tried')
  const { set } = stored(api)
  t.equal(await readFile(a.certFile, 'utf8'), set.leaf?.certPem)
  t.equal(await readFile(b.certFile, 'utf8'), set.leaf?.certPem, 'both serve the stored leaf')
  t.same(api.caBundle('mutating', MUTATING), [set.ca?.certPem])
  t.ok(a.readiness.ready && b.readiness.ready)
})

t.test('an update that loses to a concurrent writer re-reads and decides again from the stored state', async (t) => {
  const api = cluster()
  const clock = { now: new Date('2026-03-01T00:00:00Z') }
  const a = await replica(api, clock)
  await a.manager.check()
  const original = stored(api).set
  clock.now = new Date(clock.now.getTime() + 8 * DAY)
  const b = await replica(api, clock)
  // B is about to renew the due leaf; A renews it first, between B's read and B's replace.
  let raced = false
  api.before = async (call) => {
    if (call.startsWith('replaceSecret') && !raced) {
      raced = true
      api.before = undefined
      await a.manager.check()
    }
  }
  const result = await b.manager.check()
  t.ok(raced)
  t.same(result.applied, [], 'B stored nothing: A had already renewed')
  const { set } = stored(api)
  t.equal(set.ca?.certPem, original.ca?.certPem, 'still the one CA')
  t.not(set.leaf?.certPem, original.leaf?.certPem, 'renewed once')
  t.equal(await readFile(b.certFile, 'utf8'), set.leaf?.certPem)
})

t.test('CA rotation through the manager: old+new caBundle first, the leaf moves after it settled, old CA pruned at expiry', async (t) => {
  const api = cluster()
  const clock = { now: new Date('2026-03-01T00:00:00Z') }
  const one = await replica(api, clock)
  await one.manager.check()
  const first = stored(api).set

  const step = async (days: number) => { clock.now = new Date(clock.now.getTime() + days * DAY); return await one.manager.check() }
  for (let day = 0; day < 77; day += 7) await step(7)
  const rotation = await step(3)
  t.same(rotation.applied.map((d) => d.action), ['rotate-ca'])
  const rotated = stored(api).set
  t.not(rotated.ca?.certPem, first.ca?.certPem)
  const both = `${rotated.ca?.certPem ?? ''}${first.ca?.certPem ?? ''}`
  t.same(api.caBundle('mutating', MUTATING), [both], 'caBundle holds the new and the old CA')
  t.same(api.caBundle('validating', VALIDATING), [both])
  const served = await readFile(one.certFile, 'utf8')
  t.ok(issuedBy(served, first.ca?.certPem ?? ''), 'still serving the leaf of the old CA')
  t.equal(rotation.decision.action, 'none')
  t.same(rotation.nextCheckAt, new Date(clock.now.getTime() + 60_000), 'looks again when caBundle has settled')

  clock.now = rotation.nextCheckAt
  const moved = await one.manager.check()
  t.same(moved.applied.map((d) => d.action), ['issue-leaf'])
  const now = await readFile(one.certFile, 'utf8')
  t.ok(issuedBy(now, rotated.ca?.certPem ?? ''), 'the served leaf is from the new CA')
  t.equal(splitPemBundle(stored(api).set.trusted.join('')).length, 2)

  await step(25)
  t.same(api.caBundle('mutating', MUTATING), [rotated.ca?.certPem], 'the old CA left caBundle after it expired')
  t.ok(new X509Certificate(await readFile(one.certFile, 'utf8')).checkIssued(new X509Certificate(rotated.ca?.certPem ?? '')))
})

t.test('a missing webhook configuration keeps readiness false, with the reason, until it appears', async (t) => {
  const api = new FakeKubeApi()
  api.addWebhookConfiguration('mutating', MUTATING, [MUTATING])
  const one = await replica(api, { now: new Date('2026-03-01T00:00:00Z') })
  const result = await one.manager.check()
  t.equal(result.bundleInPlace, false)
  t.notOk(one.readiness.blockers.has('certificate'), 'the certificate is served')
  t.match(one.readiness.blockers.get('ca-bundle'), /validating webhook configuration validate.actortemplates.ate.dev does not exist/)
  api.addWebhookConfiguration('validating', VALIDATING, [VALIDATING])
  await one.manager.check()
  t.ok(one.readiness.ready)
  t.same(api.caBundle('validating', VALIDATING), [stored(api).set.ca?.certPem])
})

t.test('someone removing caBundle (e.g. a forced re-apply) is repaired at the next check', async (t) => {
  const api = cluster()
  const one = await replica(api, { now: new Date('2026-03-01T00:00:00Z') })
  await one.manager.check()
  api.addWebhookConfiguration('mutating', MUTATING, [MUTATING])
  await one.manager.check()
  t.same(api.caBundle('mutating', MUTATING), [stored(api).set.ca?.certPem])
})

t.test('start() retries API failures with backoff and resolves once the files exist; stop() ends the loop', async (t) => {
  const api = cluster()
  let failures = 2
  api.before = (call) => {
    if (call.startsWith('readSecret') && failures-- > 0) throw new KubeApiError(KubeErrorReason.failed, 'read Secret: HTTP 500: etcd is sad', { status: 500 })
  }
  const one = await replica(api, { now: new Date() })
  await one.manager.start()
  t.teardown(() => { one.manager.stop() })
  t.equal(failures, -1, 'two failures, then success')
  t.ok(one.readiness.ready)
  t.equal(await readFile(one.certFile, 'utf8'), stored(api).set.leaf?.certPem)
})

t.test('a Secret write the API refuses (e.g. RBAC) fails the check with the API\'s words', async (t) => {
  const api = cluster()
  api.before = (call) => {
    if (call.startsWith('createSecret')) throw new KubeApiError(KubeErrorReason.forbidden, 'create Secret atw-system/atw-certs: HTTP 403: forbidden', { status: 403 })
  }
  const one = await replica(api, { now: new Date() })
  await t.rejects(one.manager.check(), /HTTP 403: forbidden/)
  t.ok(one.readiness.blockers.has('certificate'))
})
