/**
 * issue 18: `actortemplate-webhook outdated` against a real kube-apiserver with the shipped webhook configurations, the
 * webhook process and a real registry. Templates are created from tags (the webhook pins them), two of the tags then
 * move; the compiled CLI, run as its own process with a kubeconfig, must report exactly those, look each distinct tag
 * up once, write replacements the apiserver accepts through the webhook, and exit 2 naming a registry that is down.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { startDriftReport } from '../../src/outdated/drift-report.js'
import { createRegistryStack } from '../../src/registry/create-resolver.js'
import { credentialsFromConfig } from '../../src/registry/credentials-from-config.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { buildDockerImage, buildOciImage, buildOciIndex, type BuiltImage } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, shippedWebhookConfigurations, withUrlClientConfig } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import { actorTemplate, ANNOTATION, createNamespace, manifest, storedTemplate, timed, waitForWebhooks } from './harness.js'

t.setTimeout(10 * 60 * 1000)

const [cluster, registry, guarded, cli] = await Promise.all([startCluster(), startRegistry({ mode: 'http' }), startRegistry({ mode: 'basic' }), buildWebhook()])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
t.teardown(() => guarded.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-outdated-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const host = registry.host
const images: Record<'pause' | 'agent' | 'sidecar' | 'logger' | 'fixed', { repo: string, tag: string, image: BuiltImage }> = {
  pause: { repo: 'pause', tag: '3.10', image: buildOciImage() },
  agent: { repo: 'acme/agent', tag: '1.4', image: buildOciIndex() },
  sidecar: { repo: 'acme/sidecar', tag: '2.0', image: buildDockerImage() },
  logger: { repo: 'acme/logger', tag: 'v3', image: buildOciImage() },
  fixed: { repo: 'acme/fixed', tag: '1', image: buildOciImage() }
}
const [tls] = await Promise.all([
  writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
  installCrd(cluster),
  ...Object.values(images).map(({ repo, tag, image }) => pushImage(registry, image, repo, tag))
])
type Name = keyof typeof images
const ref = (name: Name): string => `${host}/${images[name].repo}:${images[name].tag}`
const pinned = (name: Name): string => `${ref(name)}@${images[name].image.digest}`

// The private registry's credentials: a config.json for the webhook, the same auth as a pull Secret for the CLI.
const dockerConfigJson = JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from(`${guarded.username}:${guarded.password}`).toString('base64') } } })
const dockerConfig = join(dir, 'config.json')
await writeFile(dockerConfig, dockerConfigJson, { mode: 0o600 })
const privateImage = await pushImage(guarded, buildOciImage(), 'acme/private', '1.0')
const privateRef = `${guarded.host}/acme/private:1.0`

const webhook = await startWebhook({
  tls,
  args: ['--insecure-registry', host],
  config: { server: { shutdownDelaySeconds: 0 }, registries: [{ host: guarded.host, caFile: guarded.caFile }], credentials: { dockerConfigFiles: [dockerConfig] } },
  t
})
await applyObjects(cluster, withUrlClientConfig(await shippedWebhookConfigurations(cluster), { baseUrl: webhook.url, caPem: tls.caPem }))
await createNamespace(cluster, 'team-a')
await createNamespace(cluster, 'team-b')
await waitForWebhooks(cluster, 'team-a', ref('pause'), pinned('pause'))

// Created from tags, pinned by the webhook: 7 tagged images over 4 distinct tags, and one image pinned by digest alone.
const created = [
  actorTemplate('agent', 'team-a', ref('pause'), [{ name: 'agent', image: ref('agent') }, { name: 'sidecar', image: ref('sidecar') }]),
  actorTemplate('worker', 'team-b', ref('pause'), [{ name: 'logger', image: ref('logger') }, { name: 'agent', image: ref('agent') }]),
  actorTemplate('fixed', 'team-b', ref('pause'), [{ name: 'fixed', image: `${host}/${images.fixed.repo}@${images.fixed.image.digest}` }])
]
const fixed = created[2]
if (fixed !== undefined) fixed.metadata['labels'] = { tier: 'gold' }
for (const template of created) {
  const result = await cluster.kubectl(['create', '-f', '-'], { input: manifest(template) })
  if (result.code !== 0) throw new Error(`kubectl create ${template.metadata.name}: ${result.stderr}`)
}
const pinnedAt = async (namespace: string, name: string, field: string): Promise<string | undefined> => {
  const stored = await storedTemplate(cluster, namespace, name)
  const records = JSON.parse(stored?.metadata.annotations?.[ANNOTATION] ?? '{}') as Record<string, { resolvedAt: string }>
  return records[field]?.resolvedAt
}

// The two tags move: new content pushed under the same names.
const moved = { agent: buildOciIndex(), logger: buildOciImage() }
await pushImage(registry, moved.agent, images.agent.repo, images.agent.tag)
await pushImage(registry, moved.logger, images.logger.repo, images.logger.tag)

interface Run { code: number | null, stdout: string, stderr: string }

/** The compiled CLI as its own process; only PATH and HOME are passed, so no KUBECONFIG or ATW_* of the caller leaks in. */
async function outdated (...args: string[]): Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: dir }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
      resolve({ code, stdout, stderr })
    })
  })
}
const clusterArgs = ['--kubeconfig', cluster.kubeconfig, '--insecure-registry', host]
const short = (digest: string): string => digest.slice(0, 'sha256:'.length + 12)
const hex = (digest: string): string => digest.slice('sha256:'.length, 'sha256:'.length + 12)

t.test('outdated -A: exactly the images of the two moved tags, with when they were pinned; exit 1; one lookup per tag', async (t) => {
  registry.resetRequests()
  const { value: run, ms } = await timed(() => outdated('outdated', '-A', ...clusterArgs))
  t.comment(`outdated -A over 3 templates: ${ms} ms (process start included)`)
  t.equal(run.code, 1, 'exit 1: something moved', { stderr: run.stderr })
  const lines = run.stdout.trimEnd().split('\n')
  t.match(lines[0], /^TEMPLATE +FIELD +STATUS +TAG +PINNED +PINNED AT +CURRENT$/)
  t.same(lines.slice(1, -1).map((line) => line.split(/ {2,}/)), [
    ['team-a/agent', 'spec.containers[0].image', 'moved', ref('agent'), short(images.agent.image.digest),
      await pinnedAt('team-a', 'agent', 'spec.containers[0].image'), short(moved.agent.digest)],
    ['team-b/fixed', 'spec.containers[0].image', 'no tag to follow', `${host}/${images.fixed.repo}`, short(images.fixed.image.digest), '-', '-'],
    ['team-b/worker', 'spec.containers[0].image', 'moved', ref('logger'), short(images.logger.image.digest),
      await pinnedAt('team-b', 'worker', 'spec.containers[0].image'), short(moved.logger.digest)],
    ['team-b/worker', 'spec.containers[1].image', 'moved', ref('agent'), short(images.agent.image.digest),
      await pinnedAt('team-b', 'worker', 'spec.containers[1].image'), short(moved.agent.digest)]
  ], 'the agent and logger tags, wherever they are used; nothing else but the digest-only image')
  t.equal(lines.at(-1), '2 templates of 3 outdated: 3 of 7 tagged images moved; 1 with no tag to follow')
  t.equal(run.stderr, '')

  await registry.waitForRequests((requests) => requests.filter((request) => request.path.includes('/manifests/')).length >= 4)
  // The registry logs as each handler finishes: give a duplicate the same chance to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const perTag = new Map<string, number>()
  for (const request of registry.requests().filter((candidate) => candidate.path.includes('/manifests/'))) {
    perTag.set(`${request.method} ${request.path}`, (perTag.get(`${request.method} ${request.path}`) ?? 0) + 1)
  }
  t.same(Object.fromEntries(perTag), Object.fromEntries(['pause', 'agent', 'sidecar', 'logger'].map((name) =>
    [`HEAD /v2/${images[name as Name].repo}/manifests/${images[name as Name].tag}`, 1])), '7 tagged images, 4 distinct tags, 4 manifest requests')
})

t.test('outdated -A --output json: one object per image, the moved ones with both digests', async (t) => {
  const run = await outdated('outdated', '-A', '--output', 'json', ...clusterArgs)
  t.equal(run.code, 1, { stderr: run.stderr })
  const objects = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.equal(objects.length, 8, 'every image of the 3 templates')
  t.same(objects.filter((object) => object['status'] === 'moved').map((object) => [object['namespace'], object['name'], object['field'], object['tag'], object['pinnedDigest'], object['currentDigest']]), [
    ['team-a', 'agent', 'spec.containers[0].image', ref('agent'), images.agent.image.digest, moved.agent.digest],
    ['team-b', 'worker', 'spec.containers[0].image', ref('logger'), images.logger.image.digest, moved.logger.digest],
    ['team-b', 'worker', 'spec.containers[1].image', ref('agent'), images.agent.image.digest, moved.agent.digest]
  ])
  t.same([...new Set(objects.map((object) => object['status']))].sort(), ['current', 'moved', 'no-tag'])
})

t.test('-n and -l narrow what is read', async (t) => {
  const teamA = await outdated('outdated', '-n', 'team-a', '--output', 'json', ...clusterArgs)
  t.equal(teamA.code, 1)
  t.same([...new Set(teamA.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { name: string }).name))], ['agent'])
  const gold = await outdated('outdated', '-n', 'team-b', '-l', 'tier=gold', ...clusterArgs)
  t.equal(gold.code, 0, 'the labelled template has nothing that moved', { stdout: gold.stdout, stderr: gold.stderr })
  t.match(gold.stdout, /team-b\/fixed +spec\.containers\[0\]\.image +no tag to follow/)
  t.notMatch(gold.stdout, 'worker')
})

t.test('--write: the replacements are created through the webhook and pass check --require-digest', async (t) => {
  const out = join(dir, 'proposed')
  const run = await outdated('outdated', '-A', '--write', out, ...clusterArgs)
  t.equal(run.code, 1)
  const files = (await readdir(out)).sort()
  t.same(files, [`team-a_agent-${hex(moved.agent.digest)}.yaml`, `team-b_worker-${hex(moved.logger.digest)}.yaml`])
  const check = await outdated('check', '--require-digest', out)
  t.equal(check.code, 0, 'check --require-digest passes', { stdout: check.stdout, stderr: check.stderr })
  const applied = await cluster.kubectl(['create', '-f', out])
  t.equal(applied.code, 0, 'kubectl create -f DIR', { stderr: applied.stderr })
  t.equal(applied.stdout, `actortemplate.ate.dev/agent-${hex(moved.agent.digest)} created\nactortemplate.ate.dev/worker-${hex(moved.logger.digest)} created\n`)
  const worker = await storedTemplate(cluster, 'team-b', `worker-${hex(moved.logger.digest)}`)
  t.same(worker?.spec.containers?.map((container) => container.image), [`${ref('logger')}@${moved.logger.digest}`, `${ref('agent')}@${moved.agent.digest}`])
  t.equal(worker?.spec.pauseImage, pinned('pause'))
  // Fully pinned, so the mutating webhook's matchConditions skip it (issue 16); only /validate is called.
  t.same((await webhook.settledAdmissions()).filter((line) => String(line['object']).startsWith('team-b/worker-'))
    .map((line) => [line['webhook'], line['decision']]), [['validate', 'allowed']], 'the validating webhook alone saw and allowed the create')
  const after = await outdated('outdated', '-A', ...clusterArgs)
  t.equal(after.code, 1, 'the old templates are still outdated')
  t.notMatch(after.stdout, `${hex(moved.agent.digest)}  spec`, 'the new ones are not listed')
  t.match(after.stdout, '2 templates of 5 outdated: 3 of 13 tagged images moved; 1 with no tag to follow')
})

t.test('a private registry: the pull Secret named in the config is read through the kubeconfig, as the webhook would', async (t) => {
  await createNamespace(cluster, 'team-c')
  const secret = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson', metadata: { name: 'regcred', namespace: 'team-c' },
    data: { '.dockerconfigjson': Buffer.from(dockerConfigJson).toString('base64') } }
  const template = actorTemplate('private', 'team-c', pinned('pause'), [{ name: 'app', image: privateRef }])
  for (const object of [secret, template]) {
    const result = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(object) })
    t.equal(result.code, 0, `created ${object.metadata.name}`, { stderr: result.stderr })
  }
  const movedPrivate = await pushImage(guarded, buildOciImage(), 'acme/private', '1.0')
  const withSecret = join(dir, 'with-secret.yaml')
  await writeFile(withSecret, JSON.stringify({ registries: [{ host: guarded.host, caFile: guarded.caFile }], credentials: { secrets: [{ namespace: 'team-c', name: 'regcred' }] } }))
  const run = await outdated('outdated', '-n', 'team-c', '--config', withSecret, ...clusterArgs)
  t.equal(run.code, 1, 'exit 1', { stderr: run.stderr })
  t.match(run.stdout, new RegExp(`team-c/private +spec\\.containers\\[0\\]\\.image +moved +${privateRef.replaceAll('.', '\\.')} +${short(privateImage.digest)} .* ${short(movedPrivate.digest)}`))
  const anonymous = join(dir, 'anonymous.yaml')
  await writeFile(anonymous, JSON.stringify({ registries: [{ host: guarded.host, caFile: guarded.caFile }] }))
  const denied = await outdated('outdated', '-n', 'team-c', '--config', anonymous, ...clusterArgs)
  t.equal(denied.code, 2, 'without the Secret the registry says 401: exit 2')
  t.match(denied.stderr, `team-c/private: spec.containers[0].image: ${privateRef}: `)
  t.match(denied.stderr, '401')
  t.comment(denied.stderr)
})

t.test('the optional in-cluster report: one scan exports atw_template_image_outdated for every tagged image', async (t) => {
  // In-process, as serve would run it: the webhook's resolver stack, its metrics registry, a kubeconfig instead of the
  // service account. The private registry has no credentials here, so that image's lookup fails and it has no series.
  const config = loadConfig({ insecureRegistries: [host] }, {})
  const stack = createRegistryStack(config, credentialsFromConfig(config, () => {}))
  t.teardown(() => stack.close())
  const metrics = new Registry()
  const errors: unknown[] = []
  const report = await startDriftReport({
    intervalMs: 60_000, lookupTimeoutMs: 10_000, annotationKey: ANNOTATION, requestTimeoutMs: 10_000,
    resolver: stack.resolver, metrics, onError: (error) => errors.push(error), kubeconfig: cluster.kubeconfig
  })
  t.teardown(() => report.stop())
  let lines: string[] = []
  for (let tries = 0; tries < 100; tries++) {
    lines = (await metrics.metrics()).split('\n').filter((line) => line.startsWith('atw_'))
    if (lines.some((line) => /^atw_drift_last_scan_timestamp_seconds [1-9]/.test(line))) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.same(errors, [])
  const series = (value: 0 | 1): string[] => lines.filter((line) => line.startsWith('atw_template_image_outdated{') && line.endsWith(` ${value}`))
    .map((line) => line.slice(line.indexOf('{'), line.lastIndexOf(' '))).sort()
  t.same(series(1), [
    '{namespace="team-a",name="agent",field="spec.containers[0].image"}',
    '{namespace="team-b",name="worker",field="spec.containers[0].image"}',
    '{namespace="team-b",name="worker",field="spec.containers[1].image"}'
  ], 'the three images of the two moved tags')
  t.equal(series(0).length, 11, 'every other tagged image: 2 + 3 in team-a, 1 + 1 + 3 in team-b, the private template\'s pause image')
  t.ok(lines.includes('atw_drift_images_unknown 1'), 'the private image, whose lookup failed')
  t.comment(lines.join('\n'))
})

t.test('a stopped registry: exit 2, the registry named, per image', async (t) => {
  await registry.stop()
  t.teardown(() => registry.restart())
  const run = await outdated('outdated', '-A', '--timeout', '10', ...clusterArgs)
  t.equal(run.code, 2, 'exit 2')
  t.match(run.stdout, /team-a\/agent +spec\.containers\[0\]\.image +lookup failed/)
  const failures = run.stderr.trimEnd().split('\n')
  const refused = failures.filter((line) => line.includes(`registry ${host}: connection refused`))
  t.equal(refused.length, 14, 'one line per tagged image on the stopped registry (3 + 3 + 1 + 3 + 3 + 1; the digest-only image is not looked up)')
  t.same(failures.filter((line) => !refused.includes(line)).map((line) => line.split(': ').slice(0, 3).join(': ')),
    [`team-c/private: spec.containers[0].image: ${privateRef}`], 'the rest is the private image, asked without its Secret')
  t.match(failures[0], `team-a/agent: spec.pauseImage: ${ref('pause')}: registry ${host}: connection refused`)
  t.comment(run.stderr)
})
