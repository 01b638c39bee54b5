/**
 * issue 16 §4 on the real kube-apiserver, with the default install's admission objects as shipped (manifests/: the
 * MutatingWebhookConfiguration with its matchConditions, the ValidatingAdmissionPolicy and its binding; only
 * clientConfig points at a webhook process on loopback):
 *   - both up: 20 pinned templates make 0 webhook calls, an unpinned one makes one (counted at the webhook: its
 *     atw_admissions_total and its per-admission log lines); metadata UPDATEs skip it, the owned annotation does not;
 *   - webhook process stopped: pinned templates are created, an unpinned one is denied naming the unavailable webhook,
 *     a container named pause and a malformed pinned reference are denied by the policy;
 *   - registry stopped: with resolver.staleIfErrorSeconds a tag this webhook resolved a minute before is pinned with
 *     the stale-use warning; without it, denied as before; pinned templates need neither;
 *   - both stopped: pinned templates are still created, unpinned ones denied;
 *   - malformed objects (no spec, wrong types) never make the match condition error: they reach the webhook.
 * Three webhook processes share one certificate, so pointing the configuration at another is changing its URL.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createActorTemplate } from '../support/apiserver-create.js'
import { metricValue } from '../support/battery-webhook.js'
import { installCrd, startCluster, type KubectlResult } from '../support/cluster.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, MANIFESTS_DIR, shippedPolicy, shippedWebhookConfigurations, withUrlClientConfig } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook, type WebhookProcess } from '../support/webhook-process.js'
import { actorTemplate, ANNOTATION, createNamespace, manifest, storedTemplate, warnings, type ActorTemplate } from './harness.js'

t.setTimeout(15 * 60 * 1000)

const NAMESPACE = 'team-o'
// The age of the last good answer when the registry goes away: "resolved a minute before" (issue 16 §4).
const STALE_AGE_MS = 60_000

const [cluster, registry] = await Promise.all([startCluster(), startRegistry({ mode: 'http' }), buildWebhook()])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-outage-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const pause = buildOciImage()
const agent = buildOciIndex()
await Promise.all([installCrd(cluster), pushImage(registry, pause, 'pause', '3.10'), pushImage(registry, agent, 'acme/agent', '1.4')])
const pausePinned = `${registry.host}/pause:3.10@${pause.digest}`
const agentTag = `${registry.host}/acme/agent:1.4`
const agentPinned = `${agentTag}@${agent.digest}`

const tls = await writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
async function webhook (staleIfErrorSeconds: number): Promise<WebhookProcess> {
  // burstWindowMs 0: every admission asks the registry, so a stale pin is the outage's doing, not a reused answer.
  const config = { server: { shutdownDelaySeconds: 0 }, resolver: { staleIfErrorSeconds, burstWindowMs: 0 } }
  return await startWebhook({ tls, args: ['--insecure-registry', registry.host], config, t })
}
const [withStale, withoutStale, doomed] = await Promise.all([webhook(600), webhook(0), webhook(0)])

const shipped = await shippedWebhookConfigurations(cluster, MANIFESTS_DIR)
// (No assertion at the top level here: tap would end the root test and run the teardowns while setup still awaits.)
if (shipped.length !== 1) throw new Error(`manifests/ should hold the mutating configuration only, found ${shipped.length}`)
await applyObjects(cluster, await shippedPolicy(cluster))
await createNamespace(cluster, NAMESPACE)

/** Admission reviews the process answered, from its /metrics, checked against its per-admission log lines. */
async function calls (process: WebhookProcess): Promise<number> {
  const url = process.logs().find((line) => line.msg === 'serving metrics')?.['url']
  if (typeof url !== 'string') throw new Error('the webhook did not log its metrics URL')
  const counted = metricValue(await (await fetch(url)).text(), 'atw_admissions_total', {})
  // The log line reaches this process through a pipe, after the answer may have: compare once the log is quiet.
  const logged = (await process.settledAdmissions()).length
  if (counted !== logged) throw new Error(`metrics say ${counted} admissions, the log ${logged}`)
  return counted
}

let names = 0
function template (pauseImage: string, containers: ActorTemplate['spec']['containers'] = []): ActorTemplate {
  return actorTemplate(`t${++names}`, NAMESPACE, pauseImage, containers ?? [])
}

async function create (body: ActorTemplate): Promise<KubectlResult> {
  return await cluster.kubectl(['create', '-f', '-'], { input: manifest(body) })
}

/**
 * Points the shipped configuration at `target` and waits until the apiserver calls it: a pinned template carrying the
 * annotation the webhook owns always reaches it (matchConditions), and answers from a live target or fails on a stopped one.
 */
async function pointAt (target: WebhookProcess, live: boolean): Promise<void> {
  await applyObjects(cluster, withUrlClientConfig(shipped, { baseUrl: target.url, caPem: tls.caPem }))
  const probe = { ...actorTemplate('probe', NAMESPACE, pausePinned, []), metadata: { name: 'probe', namespace: NAMESPACE, annotations: { [ANNOTATION]: '{}' } } }
  const deadline = Date.now() + 60_000
  for (;;) {
    const before = live ? await calls(target) : 0
    const result = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: manifest(probe) })
    if (live ? result.code === 0 && await calls(target) > before : result.stderr.includes(`${target.url}/mutate`)) return
    if (Date.now() > deadline) throw new Error(`the configuration does not reach ${target.url}: ${result.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

async function pinnedStored (t: Test, result: KubectlResult, name: string): Promise<void> {
  t.equal(result.code, 0, `${name} created`, { stderr: result.stderr })
  t.equal(result.stdout, `actortemplate.ate.dev/${name} created\n`)
}

// While the registry is up, the webhook without the stale window resolves the tag too, so that later it is denied
// in exactly the state the other one pins from its memory.
await pointAt(withoutStale, true)
const resolvedByWithout = await create(template(pausePinned, [{ name: 'agent', image: agentTag }]))
if (resolvedByWithout.code !== 0) throw new Error(`cannot pin while everything is up: ${resolvedByWithout.stderr}`)
await pointAt(withStale, true)
let resolvedAt = 0

t.test('both up: 20 pinned templates make 0 webhook calls, an unpinned one makes 1', async (t) => {
  const before = await calls(withStale)
  const started = performance.now()
  const pinnedNames: string[] = []
  for (let i = 0; i < 20; i++) {
    const body = template(pausePinned, [{ name: 'agent', image: agentPinned }, { name: 'side', image: `${registry.host}/acme/agent@${agent.digest}` }])
    await pinnedStored(t, await create(body), body.metadata.name)
    pinnedNames.push(body.metadata.name)
  }
  const pinnedMs = Math.round(performance.now() - started)
  t.equal(await calls(withStale) - before, 0, '0 calls for 20 pinned templates')

  const unpinned = template(`${registry.host}/pause:3.10`, [{ name: 'agent', image: agentTag }])
  const created = await create(unpinned)
  resolvedAt = Date.now()
  await pinnedStored(t, created, unpinned.metadata.name)
  t.equal(await calls(withStale) - before, 1, 'one call for the unpinned one')
  const stored = await storedTemplate(cluster, NAMESPACE, unpinned.metadata.name)
  t.same([stored?.spec.pauseImage, stored?.spec.containers?.[0]?.image], [pausePinned, agentPinned], 'and it is stored pinned')
  t.match(warnings(created), [/^spec\.pauseImage: .* pinned to sha256:/, /^spec\.containers\[0\]\.image: .* pinned to sha256:/])

  const [first = '', second = ''] = pinnedNames
  const labelled = await cluster.kubectl(['label', 'actortemplate', first, '-n', NAMESPACE, 'team=o'])
  t.equal(labelled.code, 0, 'a metadata UPDATE of a pinned template', { stderr: labelled.stderr })
  t.equal(await calls(withStale) - before, 1, 'makes no call (spec unchanged, annotation untouched)')

  const forged = template(pausePinned)
  forged.metadata.annotations = { [ANNOTATION]: JSON.stringify({ 'spec.pauseImage': { original: 'x', digest: 'sha256:forged' } }) }
  await pinnedStored(t, await create(forged), forged.metadata.name)
  t.equal(await calls(withStale) - before, 2, 'a pinned CREATE carrying the webhook\'s annotation is sent to it (issue 13)')
  t.notMatch((await storedTemplate(cluster, NAMESPACE, forged.metadata.name))?.metadata.annotations?.[ANNOTATION] ?? '', 'forged', 'which drops the forged record')
  const annotated = await cluster.kubectl(['annotate', '--overwrite', 'actortemplate', second, '-n', NAMESPACE, `${ANNOTATION}={"spec.pauseImage":{"digest":"sha256:forged"}}`])
  t.equal(annotated.code, 0, { stderr: annotated.stderr })
  t.equal(await calls(withStale) - before, 3, 'and so is an UPDATE that sets it')
  t.notMatch((await storedTemplate(cluster, NAMESPACE, second))?.metadata.annotations?.[ANNOTATION] ?? '', 'forged')
  t.comment(`20 pinned creates through kubectl: ${pinnedMs} ms in all`)
})

t.test('malformed objects: the match condition never errors; the webhook is called, then the CRD schema denies', async (t) => {
  // A condition that errors would deny with failurePolicy Fail before any call; these must reach the webhook instead.
  const spec = { pauseImage: pausePinned, snapshotsConfig: { location: 'gs://bucket/prefix/' } }
  const cases: Array<[string, unknown]> = [
    ['no spec', undefined],
    ['spec is a string', 'x'],
    ['no pauseImage', { snapshotsConfig: spec.snapshotsConfig }],
    ['pauseImage is a number', { ...spec, pauseImage: 42 }],
    ['containers is a string', { ...spec, containers: 'x' }],
    ['a container is a string', { ...spec, containers: ['x'] }],
    ['a container without image', { ...spec, containers: [{ name: 'a' }] }],
    ['an image is a number', { ...spec, containers: [{ name: 'a', image: 7 }] }]
  ]
  for (const [what, body] of cases) {
    const before = await calls(withStale)
    const object = { apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: `malformed-${++names}`, namespace: NAMESPACE }, ...(body === undefined ? {} : { spec: body }) }
    const answer = await createActorTemplate(cluster, NAMESPACE, object, { dryRun: true })
    t.equal(await calls(withStale) - before, 1, `${what}: the webhook is called`)
    t.not(answer.status, 201, `${what}: not admitted (${answer.status})`)
    t.notMatch(answer.message, /match ?condition/i, `${what}: no condition error`)
    t.comment(`${what}: ${answer.status} ${answer.message.slice(0, 240)}`)
  }
})

t.test('webhook process stopped: pinned created, unpinned denied naming the webhook, pause and malformed denied by the policy', async (t) => {
  await pointAt(doomed, true)
  t.same(await doomed.stop(), { code: 0, signal: null }, 'the webhook process exits')
  await pointAt(doomed, false)

  const pinned = template(pausePinned, [{ name: 'agent', image: agentPinned }])
  await pinnedStored(t, await create(pinned), pinned.metadata.name)

  const unpinned = await create(template(pausePinned, [{ name: 'agent', image: agentTag }]))
  t.equal(unpinned.code, 1, 'an unpinned template is denied')
  t.match(unpinned.stderr, 'Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook "pin.actortemplates.ate.dev": failed to call webhook: ')
  t.match(unpinned.stderr, 'connect: connection refused')
  t.comment(unpinned.stderr.trim())

  const reservedBody = template(pausePinned, [{ name: 'pause', image: agentPinned }])
  const reserved = await create(reservedBody)
  t.equal(reserved.code, 1, 'a container named pause is denied')
  t.match(reserved.stderr, `Error from server (Forbidden): error when creating "STDIN": actortemplates.ate.dev "${reservedBody.metadata.name}" is forbidden: ` +
    "ValidatingAdmissionPolicy 'pinned.actortemplates.ate.dev' with binding 'pinned.actortemplates.ate.dev' denied request: " +
    'spec.containers[0].name: "pause" is reserved for the sandbox container; choose another name')
  t.notMatch(reserved.stderr, 'failed calling webhook', 'by the policy, without the webhook')
  t.comment(reserved.stderr.trim())

  const malformed = await create(template(pausePinned, [{ name: 'agent', image: `${registry.host}/Acme/Agent@${agent.digest}` }]))
  t.equal(malformed.code, 1, 'a well-formed digest on a malformed name skips the webhook and is denied by the policy')
  t.match(malformed.stderr, 'spec.containers[0].image: ')
  t.match(malformed.stderr, 'is not a valid image reference (registry host, lowercase repository path, tag, one @ before the digest)')
  t.match(malformed.stderr, 'write <image>@sha256:<digest> or run "actortemplate-webhook pin"')
})

t.test(`registry stopped: stale pin with staleIfErrorSeconds after ${STALE_AGE_MS / 1000} s, denied without it; pinned needs neither`, async (t) => {
  const wait = resolvedAt + STALE_AGE_MS - Date.now()
  t.comment(`waiting ${Math.max(0, wait)} ms so the tag was resolved ${STALE_AGE_MS / 1000} s before`)
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  await registry.stop()
  await pointAt(withStale, true)

  const before = await calls(withStale)
  const pinned = template(pausePinned, [{ name: 'agent', image: agentPinned }])
  await pinnedStored(t, await create(pinned), pinned.metadata.name)
  t.equal(await calls(withStale) - before, 0, 'a pinned template: no call, no registry')

  const stale = template(pausePinned, [{ name: 'agent', image: agentTag }])
  const created = await create(stale)
  await pinnedStored(t, created, stale.metadata.name)
  const age = Math.round((Date.now() - resolvedAt) / 1000)
  t.match(warnings(created), [new RegExp(`^spec\\.containers\\[0\\]\\.image: .*agent:1\\.4 pinned to ${agent.digest.slice(0, 19)}… from 1m ago: registry unreachable$`)],
    `the stale-use warning with the age (${age} s) and why`)
  t.equal((await storedTemplate(cluster, NAMESPACE, stale.metadata.name))?.spec.containers?.[0]?.image, agentPinned, 'stored with the earlier digest')
  t.comment(created.stderr.trim())

  await pointAt(withoutStale, true)
  const denied = await create(template(pausePinned, [{ name: 'agent', image: agentTag }]))
  t.equal(denied.code, 1, 'without staleIfErrorSeconds: denied as before')
  t.match(denied.stderr, `admission webhook "pin.actortemplates.ate.dev" denied the request: spec.containers[0].image: cannot pin ${agentTag}: registry ${registry.host}: connection refused`)
  t.comment(denied.stderr.trim())
})

t.test('webhook and registry stopped: pinned created, unpinned denied', async (t) => {
  t.equal(registry.pid(), undefined, 'the registry is still stopped')
  await withoutStale.stop()
  await pointAt(withoutStale, false)
  const pinned = template(pausePinned, [{ name: 'agent', image: agentPinned }])
  await pinnedStored(t, await create(pinned), pinned.metadata.name)
  const unpinned = await create(template(pausePinned, [{ name: 'agent', image: agentTag }]))
  t.equal(unpinned.code, 1)
  t.match(unpinned.stderr, 'failed calling webhook "pin.actortemplates.ate.dev"')
})
