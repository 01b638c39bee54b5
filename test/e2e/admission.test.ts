/**
 * issue 4, scenarios 1, 2, 3, 5 and 6: `kubectl` against a real kube-apiserver with the shipped webhook
 * configurations, the webhook process and a real registry. Assertions are on kubectl's exit code, stdout and stderr,
 * and on the stored object.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { installCrd, startCluster } from '../support/cluster.js'
import { buildDockerImage, buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, shippedWebhookConfigurations, withoutClientConfig, withUrlClientConfig, type WebhookConfiguration } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import {
  actorTemplate, ANNOTATION, createNamespace, manifest, servedDigest, storedTemplate, timed, waitForWebhooks, warnings
} from './harness.js'

t.setTimeout(10 * 60 * 1000)

const [cluster, registry] = await Promise.all([startCluster(), startRegistry({ mode: 'http' }), buildWebhook()])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-admission-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const host = registry.host
const images = {
  pause: { repo: 'pause', tag: '3.10', image: buildOciImage() },
  agent: { repo: 'acme/agent', tag: '1.4', image: buildOciIndex() },
  sidecar: { repo: 'acme/sidecar', tag: '2.0', image: buildDockerImage() },
  logger: { repo: 'acme/logger', tag: 'v3', image: buildOciImage() }
}
const [tls] = await Promise.all([
  writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
  installCrd(cluster),
  ...Object.values(images).map(({ repo, tag, image }) => pushImage(registry, image, repo, tag))
])
const ref = (name: keyof typeof images): string => `${host}/${images[name].repo}:${images[name].tag}`
const pinned = (name: keyof typeof images): string => `${ref(name)}@${images[name].image.digest}`
/** How the warnings abbreviate a digest: the algorithm and 12 hex digits. */
const short = (digest: string | undefined): string => `${(digest ?? '').slice(0, 'sha256:'.length + 12)}…`

const webhook = await startWebhook({
  tls,
  args: ['--insecure-registry', host],
  config: { server: { shutdownDelaySeconds: 0 } },
  t
})
const shipped = await shippedWebhookConfigurations(cluster)
await applyObjects(cluster, withUrlClientConfig(shipped, { baseUrl: webhook.url, caPem: tls.caPem }))
await createNamespace(cluster, 'probe')
await waitForWebhooks(cluster, 'probe', ref('pause'), pinned('pause'))

t.test('the installed configurations are the shipped ones; only clientConfig points at the process', async (t) => {
  for (const configuration of shipped) {
    const got = await cluster.kubectl(['get', configuration.kind.toLowerCase(), configuration.metadata.name, '-o', 'json'])
    const installed = JSON.parse(got.stdout) as WebhookConfiguration
    // The apiserver adds defaults (objectSelector, …), so the shipped fields must match, not equal.
    t.match(withoutClientConfig(installed), withoutClientConfig(configuration), `${configuration.metadata.name}: as shipped`)
    const paths = configuration.webhooks.map((webhook) => webhook.clientConfig.service?.path)
    t.same(installed.webhooks.map((webhook) => webhook.clientConfig),
      paths.map((path) => ({ url: `${webhook.url}${path ?? ''}`, caBundle: Buffer.from(tls.caPem).toString('base64') })), `${configuration.metadata.name}: clientConfig`)
  }
})

t.test('1. kubectl create -f with tags: created, pinned to the digests the registry serves, with warnings and the annotation', async (t) => {
  await createNamespace(cluster, 'team-a')
  const template = actorTemplate('agent', 'team-a', ref('pause'), [
    { name: 'agent', image: ref('agent') },
    { name: 'sidecar', image: ref('sidecar') },
    { name: 'logger', image: ref('logger') }
  ])
  const { value: created, ms } = await timed(() => cluster.kubectl(['create', '-f', '-'], { input: manifest(template) }))
  t.comment(`kubectl create with 4 tag references: ${ms} ms`)
  t.equal(created.code, 0, 'kubectl exits 0', { stderr: created.stderr })
  t.equal(created.stdout, 'actortemplate.ate.dev/agent created\n')

  const served = Object.fromEntries(await Promise.all(Object.entries(images).map(async ([name, { repo, tag }]) =>
    [name, await servedDigest(registry, repo, tag)] as const)))
  const stored = await storedTemplate(cluster, 'team-a', 'agent')
  t.equal(stored?.spec.pauseImage, `${ref('pause')}@${served['pause']}`, 'pauseImage is tag@<served digest>')
  t.same(stored?.spec.containers?.map((container) => container.image), [
    `${ref('agent')}@${served['agent']}`,
    `${ref('sidecar')}@${served['sidecar']}`,
    `${ref('logger')}@${served['logger']}`
  ], 'every container image is tag@<served digest>')
  t.equal(served['agent'], images.agent.image.digest, 'the index is pinned by its own digest, not a platform child')

  t.same(warnings(created), [
    `spec.pauseImage: ${ref('pause')} pinned to ${short(served['pause'])} (manifest)`,
    `spec.containers[0].image: ${ref('agent')} pinned to ${short(served['agent'])} (index)`,
    `spec.containers[1].image: ${ref('sidecar')} pinned to ${short(served['sidecar'])} (manifest)`,
    `spec.containers[2].image: ${ref('logger')} pinned to ${short(served['logger'])} (manifest)`
  ], 'kubectl prints one warning per pinned image')

  const records = JSON.parse(stored?.metadata.annotations?.[ANNOTATION] ?? '{}') as Record<string, { original: string, digest: string, source: string }>
  t.same(Object.keys(records), ['spec.pauseImage', 'spec.containers[0].image', 'spec.containers[1].image', 'spec.containers[2].image'])
  t.match(records['spec.containers[0].image'], { original: ref('agent'), digest: served['agent'], source: 'registry' })

  const logged = (await webhook.settledAdmissions()).filter((line) => line['object'] === 'team-a/agent')
  t.match(logged, [{ webhook: 'mutate', decision: 'patched' }, { webhook: 'validate', decision: 'allowed' }], 'one log line per webhook call')
  for (const line of logged) t.comment(`webhook ${String(line['webhook'])}: ${String(line['durationMs'])} ms, ${String(line['registryRequests'])} registry requests`)
})

t.test('2. an already-pinned template is stored byte-identical', async (t) => {
  await createNamespace(cluster, 'team-b')
  const template = actorTemplate('pinned', 'team-b', `${pinned('pause')}`, [
    { name: 'agent', image: pinned('agent') },
    { name: 'digest-only', image: `${host}/${images.sidecar.repo}@${images.sidecar.image.digest}` },
    { name: 'elsewhere', image: `registry.k8s.io/pause:3.10.2@sha256:${'f5'.repeat(32)}` }
  ])
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(template) })
  t.equal(created.code, 0, 'created', { stderr: created.stderr })
  t.equal(created.stderr, '', 'no warnings: nothing was pinned')
  const stored = await storedTemplate(cluster, 'team-b', 'pinned')
  // The apiserver re-serialises with sorted keys, so "byte-identical" is every string exactly as sent, and nothing more.
  t.strictSame(stored?.spec, template.spec, 'the stored spec is the submitted spec')
  t.equal(stored?.spec.pauseImage, template.spec.pauseImage, 'pauseImage, tag and digest, exactly as written')
  t.same(stored?.spec.containers?.map((container) => container.image), template.spec.containers?.map((container) => container.image),
    'every image exactly as written: tag+digest, digest only, another registry')
  t.equal(stored?.metadata.annotations, undefined, 'no annotation')
  // issue 16 §1: the mutating webhook's matchConditions keep a pinned template away from /mutate altogether.
  const calls = (await webhook.settledAdmissions()).filter((line) => line['object'] === 'team-b/pinned')
  t.same(calls.map((line) => line['webhook']), ['validate'], 'only /validate is called (overlays/validating-webhook has no matchConditions)')
  t.match(calls, [{ webhook: 'validate', decision: 'allowed' }])
})

t.test('3. a container named pause is denied with its field path and reason; nothing is stored', async (t) => {
  await createNamespace(cluster, 'team-c')
  const template = actorTemplate('bad', 'team-c', ref('pause'), [{ name: 'agent', image: ref('agent') }, { name: 'pause', image: ref('logger') }])
  const denied = await cluster.kubectl(['create', '-f', '-'], { input: manifest(template) })
  t.equal(denied.code, 1, 'kubectl exits 1')
  t.equal(denied.stdout, '')
  t.match(denied.stderr, /^Error from server \(Forbidden\): error when creating "STDIN": admission webhook "validate\.actortemplates\.ate\.dev" denied the request: spec\.containers\[1\]\.name: "pause" is reserved for the sandbox container; choose another name/m)
  t.equal(await storedTemplate(cluster, 'team-c', 'bad'), undefined, 'nothing stored')
})

t.test('5. kubectl create --dry-run=server: the same decisions, nothing stored', async (t) => {
  await createNamespace(cluster, 'team-e')
  const tagged = actorTemplate('dry', 'team-e', ref('pause'), [{ name: 'agent', image: ref('agent') }])
  const dry = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: manifest(tagged) })
  t.equal(dry.code, 0, 'allowed', { stderr: dry.stderr })
  const answered = JSON.parse(dry.stdout) as ReturnType<typeof actorTemplate>
  t.equal(answered.spec.containers?.[0]?.image, pinned('agent'), 'the dry-run answer is pinned')
  t.equal(answered.spec.pauseImage, pinned('pause'))
  t.same(warnings(dry).map((line) => line.split(':')[0]), ['spec.pauseImage', 'spec.containers[0].image'], 'the same warnings')
  t.equal(await storedTemplate(cluster, 'team-e', 'dry'), undefined, 'nothing stored')
  t.match((await webhook.settledAdmissions()).filter((line) => line['object'] === 'team-e/dry'), [{ webhook: 'mutate', dryRun: true, decision: 'patched' }])

  const plain = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: manifest(tagged) })
  t.equal(plain.stdout, 'actortemplate.ate.dev/dry created (server dry run)\n')

  const pause = actorTemplate('dry-pause', 'team-e', ref('pause'), [{ name: 'pause', image: ref('agent') }])
  const denied = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: manifest(pause) })
  t.equal(denied.code, 1)
  t.match(denied.stderr, 'Error from server (Forbidden): error when creating "STDIN": admission webhook "validate.actortemplates.ate.dev" denied the request: spec.containers[0].name: "pause" is reserved for the sandbox container; choose another name')

  const missing = actorTemplate('dry-missing', 'team-e', ref('pause'), [{ name: 'agent', image: `${host}/acme/agent:9.9` }])
  const notFound = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: manifest(missing) })
  t.equal(notFound.code, 1)
  t.match(notFound.stderr, /Error from server \(Forbidden\): error when creating "STDIN": admission webhook "pin\.actortemplates\.ate\.dev" denied the request: spec\.containers\[0\]\.image: .*acme\/agent:9\.9/)
  for (const name of ['dry-pause', 'dry-missing']) t.equal(await storedTemplate(cluster, 'team-e', name), undefined, `${name} not stored`)
})

t.test('6. re-applying the same tag manifest succeeds without a change', async (t) => {
  await createNamespace(cluster, 'team-f')
  const text = (name: string): string =>
    manifest(actorTemplate(name, 'team-f', ref('pause'), [{ name: 'agent', image: ref('agent') }, { name: 'logger', image: ref('logger') }]))
  const kept = [
    `spec.pauseImage: ${ref('pause')} kept at ${short(images.pause.image.digest)} (stored digest)`,
    `spec.containers[0].image: ${ref('agent')} kept at ${short(images.agent.image.digest)} (stored digest)`,
    `spec.containers[1].image: ${ref('logger')} kept at ${short(images.logger.image.digest)} (stored digest)`
  ]

  t.test('kubectl apply, then kubectl apply again', async (t) => {
    const first = await cluster.kubectl(['apply', '-f', '-'], { input: text('client-side') })
    t.equal(first.code, 0, 'first apply', { stderr: first.stderr })
    t.equal(first.stdout, 'actortemplate.ate.dev/client-side created\n')
    const before = await storedTemplate(cluster, 'team-f', 'client-side')
    t.equal(before?.spec.containers?.[0]?.image, pinned('agent'))
    for (const round of [1, 2]) {
      // The three-way merge sees tags in the manifest and digests in the live object, so kubectl sends the tags again
      // (and says "configured"); the webhook pins them to the stored digests and the apiserver finds nothing changed.
      const again = await cluster.kubectl(['apply', '-f', '-'], { input: text('client-side') })
      t.equal(again.code, 0, `re-apply ${round}`, { stderr: again.stderr })
      t.equal(again.stdout, 'actortemplate.ate.dev/client-side configured\n')
      t.same(warnings(again), kept, 'the stored digests are kept, visibly')
      t.notMatch(again.stderr, /error/i)
    }
    const after = await storedTemplate(cluster, 'team-f', 'client-side')
    t.strictSame(after?.spec, before?.spec, 'the spec is unchanged')
    t.equal(after?.metadata['resourceVersion'], before?.metadata['resourceVersion'], 'nothing was written: same resourceVersion')
  })

  t.test('kubectl apply --server-side, then again', async (t) => {
    const first = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: text('server-side') })
    t.equal(first.code, 0, 'first apply', { stderr: first.stderr })
    t.equal(first.stdout, 'actortemplate.ate.dev/server-side serverside-applied\n')
    const before = await storedTemplate(cluster, 'team-f', 'server-side')
    t.equal(before?.spec.containers?.[0]?.image, pinned('agent'))
    for (const round of [1, 2]) {
      const again = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: text('server-side') })
      t.equal(again.code, 0, `re-apply ${round}`, { stderr: again.stderr })
      t.equal(again.stdout, 'actortemplate.ate.dev/server-side serverside-applied\n')
      t.same(warnings(again), kept, 'the stored digests are kept, visibly')
    }
    const after = await storedTemplate(cluster, 'team-f', 'server-side')
    t.strictSame(after?.spec, before?.spec, 'the spec is unchanged')
    t.equal(after?.metadata['resourceVersion'], before?.metadata['resourceVersion'], 'nothing was written: same resourceVersion')
  })

  t.test('kubectl apply, then kubectl apply --server-side: a field-manager conflict unless --force-conflicts', async (t) => {
    const first = await cluster.kubectl(['apply', '-f', '-'], { input: text('migrated') })
    t.equal(first.code, 0, 'client-side apply', { stderr: first.stderr })
    const before = await storedTemplate(cluster, 'team-f', 'migrated')
    // The apiserver lets kubectl take over client-side-applied fields only where the live value still equals the
    // last-applied annotation; the webhook pinned those fields, so they conflict (kubectl's own advice follows).
    const conflict = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: text('migrated') })
    t.equal(conflict.code, 1)
    t.match(conflict.stderr, 'error: Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using ate.dev/v1alpha1:\n- .spec.containers\n- .spec.pauseImage')
    const forced = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: text('migrated') })
    t.equal(forced.code, 0, 'with --force-conflicts', { stderr: forced.stderr })
    t.same(warnings(forced), kept)
    const after = await storedTemplate(cluster, 'team-f', 'migrated')
    t.strictSame(after?.spec, before?.spec, 'the spec is unchanged')
  })
})
