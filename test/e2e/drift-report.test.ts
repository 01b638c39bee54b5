/**
 * issue 18, the optional in-cluster report, as it runs in a pod: the compiled `serve` as its own process with
 * `drift.intervalMinutes` set, talking to a real kube-apiserver with a ServiceAccount token (what the pod mounts), and
 * serving the apiserver's admissions at the same time. The token's only permission is the ClusterRole of
 * manifests/components/drift, applied as kustomize renders it. Before the binding exists each scan fails with the 403,
 * which is logged, and admissions go on; once bound, /metrics (the plain-HTTP port) shows
 * atw_template_image_outdated 0 for every tagged image, then 1 for exactly the images of the two tags that move.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import t from 'tap'
import { installCrd, REPO_ROOT, startCluster } from '../support/cluster.js'
import { buildOciImage, buildOciIndex, type BuiltImage } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, shippedWebhookConfigurations, withUrlClientConfig } from '../support/webhook-configs.js'
import { startWebhook, type LogLine } from '../support/webhook-process.js'
import { actorTemplate, createNamespace, manifest, storedTemplate, waitForWebhooks } from './harness.js'
import { kubectlOk, writeServiceAccountKubeconfig } from '../support/kubectl-ok.js'

t.setTimeout(10 * 60 * 1000)

const NAMESPACE = 'actortemplate-webhook'
const SERVICE_ACCOUNT = 'actortemplate-webhook'
// 1.2 s between scans: several scans within the test, each a paged list and one lookup per distinct tag.
const INTERVAL_MINUTES = 0.02

const [cluster, registry] = await Promise.all([startCluster(), startRegistry({ mode: 'http' })])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-drift-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const host = registry.host
const images: Record<'pause' | 'agent' | 'sidecar' | 'logger', { repo: string, tag: string, image: BuiltImage }> = {
  pause: { repo: 'pause', tag: '3.10', image: buildOciImage() },
  agent: { repo: 'acme/agent', tag: '1.4', image: buildOciIndex() },
  sidecar: { repo: 'acme/sidecar', tag: '2.0', image: buildOciImage() },
  logger: { repo: 'acme/logger', tag: 'v3', image: buildOciImage() }
}
type Name = keyof typeof images
const ref = (name: Name): string => `${host}/${images[name].repo}:${images[name].tag}`
const [tls] = await Promise.all([
  writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
  installCrd(cluster),
  ...Object.values(images).map(({ repo, tag, image }) => pushImage(registry, image, repo, tag))
])

const kubectl = async (args: string[], input?: string): Promise<string> => await kubectlOk(cluster, args, input)

// The pod's identity: a ServiceAccount with no permission of its own, and a token minted for it (TokenRequest).
await createNamespace(cluster, NAMESPACE)
await kubectl(['create', 'serviceaccount', SERVICE_ACCOUNT, '-n', NAMESPACE])
const serviceAccountKubeconfig = await writeServiceAccountKubeconfig(cluster, { namespace: NAMESPACE, serviceAccount: SERVICE_ACCOUNT, file: join(dir, 'service-account.kubeconfig') })

/** manifests/components/drift as an admin's overlay renders it (a component cannot be built on its own). */
async function driftComponent (): Promise<string> {
  const overlay = await mkdtemp(join(tmpdir(), 'atw-drift-overlay-'))
  try {
    const component = relative(overlay, join(REPO_ROOT, 'manifests', 'components', 'drift'))
    await writeFile(join(overlay, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncomponents:\n  - ${component}\n`)
    return await kubectl(['kustomize', overlay])
  } finally {
    await rm(overlay, { recursive: true, force: true })
  }
}

const webhook = await startWebhook({
  tls,
  args: ['--insecure-registry', host],
  config: { server: { shutdownDelaySeconds: 0 }, drift: { intervalMinutes: INTERVAL_MINUTES, lookupTimeoutSeconds: 10 } },
  env: { KUBECONFIG: serviceAccountKubeconfig },
  t
})
const metricsUrl = String((await webhook.waitForLog((line) => line.msg === 'serving metrics'))['url'])
await applyObjects(cluster, withUrlClientConfig(await shippedWebhookConfigurations(cluster), { baseUrl: webhook.url, caPem: tls.caPem }))

async function outdatedSeries (): Promise<{ lines: string[], series: (value: 0 | 1) => string[], lastScan: number }> {
  const response = await fetch(metricsUrl)
  const lines = (await response.text()).split('\n').filter((line) => line.startsWith('atw_template_image_outdated') || line.startsWith('atw_drift_'))
  const series = (value: 0 | 1): string[] => lines.filter((line) => line.startsWith('atw_template_image_outdated{') && line.endsWith(` ${value}`))
    .map((line) => line.slice(line.indexOf('{'), line.lastIndexOf(' '))).sort()
  const lastScan = Number(lines.find((line) => line.startsWith('atw_drift_last_scan_timestamp_seconds '))?.split(' ')[1] ?? 0)
  return { lines, series, lastScan }
}

/** Scrapes /metrics until `done`; the report only changes at a scan, so this waits a few intervals at most. */
async function scrapeUntil (done: (scrape: Awaited<ReturnType<typeof outdatedSeries>>) => boolean, what: string): Promise<Awaited<ReturnType<typeof outdatedSeries>>> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const scrape = await outdatedSeries()
    if (done(scrape)) return scrape
    if (Date.now() > deadline) throw new Error(`${what}: not seen within 60 s; last scrape:\n${scrape.lines.join('\n')}\nlast log lines:\n${webhook.logs().slice(-10).map((line) => JSON.stringify(line)).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const failedScan = (line: LogLine): boolean => line.msg === 'drift scan failed'

t.test('without the ClusterRoleBinding: each scan logs the 403, the process keeps serving admissions', async (t) => {
  const failed = await webhook.waitForLog(failedScan)
  t.match(failed, { level: 40, problem: /^list ActorTemplates in all namespaces: HTTP 403: .*system:serviceaccount:actortemplate-webhook:actortemplate-webhook.* cannot list resource "actortemplates"/ },
    'the log names the verb, the resource and the identity that lacks it')
  t.notMatch(String(failed['problem']), /Headers|Body/, 'the apiserver\'s message, not the client\'s dump of the response')
  t.comment(String(failed['problem']))

  await createNamespace(cluster, 'team-a')
  await createNamespace(cluster, 'team-b')
  await waitForWebhooks(cluster, 'team-a', ref('pause'), `${ref('pause')}@${images.pause.image.digest}`)
  for (const template of [
    actorTemplate('agent', 'team-a', ref('pause'), [{ name: 'agent', image: ref('agent') }, { name: 'sidecar', image: ref('sidecar') }]),
    actorTemplate('worker', 'team-b', ref('pause'), [{ name: 'logger', image: ref('logger') }, { name: 'sidecar', image: ref('sidecar') }])
  ]) {
    const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(template) })
    t.equal(created.code, 0, `kubectl create ${template.metadata.name} through the webhook`, { stderr: created.stderr })
  }
  const worker = await storedTemplate(cluster, 'team-b', 'worker')
  t.equal(worker?.spec.containers?.[0]?.image, `${ref('logger')}@${images.logger.image.digest}`, 'pinned by the same process')
  const failures = webhook.logs().filter(failedScan).length
  t.ok(failures >= 1, `${failures} failed scans logged so far`)
  const scrape = await outdatedSeries()
  t.same(scrape.series(0).concat(scrape.series(1)), [], 'no series before any scan could list')
  t.equal(scrape.lastScan, 0, 'no scan finished')
  t.equal(webhook.logs().filter((line) => line.msg === 'drift scan').length, 0)
})

t.test('the component\'s ClusterRole grants list on ActorTemplates and nothing else', async (t) => {
  await kubectl(['apply', '-f', '-'], await driftComponent())
  const as = `--as=system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`
  const canI = async (...args: string[]): Promise<string> => (await cluster.kubectl(['auth', 'can-i', ...args, as])).stdout.trim()
  t.equal(await canI('list', 'actortemplates.ate.dev', '-A'), 'yes')
  for (const verb of ['get', 'watch', 'create', 'update', 'delete']) t.equal(await canI(verb, 'actortemplates.ate.dev', '-A'), 'no', `no ${verb}`)
  t.equal(await canI('list', 'secrets', '-A'), 'no', 'no Secrets')
})

t.test('bound: every tagged image gets a series at 0, then the two moved tags turn exactly their images to 1', async (t) => {
  const started = Date.now()
  const current = await scrapeUntil((scrape) => scrape.lastScan > 0, 'a successful scan')
  t.comment(`first successful scan seen ${Date.now() - started} ms after the binding`)
  t.same(current.series(1), [], 'nothing has moved yet')
  t.same(current.series(0), [
    '{namespace="team-a",name="agent",field="spec.containers[0].image"}',
    '{namespace="team-a",name="agent",field="spec.containers[1].image"}',
    '{namespace="team-a",name="agent",field="spec.pauseImage"}',
    '{namespace="team-b",name="worker",field="spec.containers[0].image"}',
    '{namespace="team-b",name="worker",field="spec.containers[1].image"}',
    '{namespace="team-b",name="worker",field="spec.pauseImage"}'
  ], 'one series per tagged image of the two templates')
  t.ok(current.lines.includes('atw_drift_images_unknown 0'))
  t.ok(Math.abs(current.lastScan * 1000 - Date.now()) < 120_000, 'the last-scan timestamp is the scan\'s wall-clock time')
  t.match(webhook.logs().find((line) => line.msg === 'drift scan'), { level: 30, templates: 2, images: 6, outdated: 0, unknown: 0 })

  const movedAt = Date.now()
  await pushImage(registry, buildOciIndex(), images.agent.repo, images.agent.tag)
  await pushImage(registry, buildOciImage(), images.logger.repo, images.logger.tag)
  const pushedAt = Date.now()
  // The gauge is when a scan finished: one that began between the two pushes finishes after them with only the
  // first moved tag (seen once in CI). The scan after it began once both had moved.
  const straddling = await scrapeUntil((scrape) => scrape.lastScan * 1000 > pushedAt, 'a scan finished after the pushes')
  const moved = await scrapeUntil((scrape) => scrape.lastScan > straddling.lastScan, 'a scan begun after the tags moved')
  t.comment(`moved tags reported ${Date.now() - movedAt} ms after the push (interval ${INTERVAL_MINUTES * 60} s)`)
  t.same(moved.series(1), [
    '{namespace="team-a",name="agent",field="spec.containers[0].image"}',
    '{namespace="team-b",name="worker",field="spec.containers[0].image"}'
  ], 'the agent and logger tags, and nothing else')
  t.same(moved.series(0), [
    '{namespace="team-a",name="agent",field="spec.containers[1].image"}',
    '{namespace="team-a",name="agent",field="spec.pauseImage"}',
    '{namespace="team-b",name="worker",field="spec.containers[1].image"}',
    '{namespace="team-b",name="worker",field="spec.pauseImage"}'
  ])
  t.match(webhook.logs().findLast((line) => line.msg === 'drift scan'), { templates: 2, images: 6, outdated: 2, unknown: 0 })
  t.comment(moved.lines.join('\n'))
})

t.test('SIGTERM stops the report with the server: exit 0', async (t) => {
  const status = await webhook.stop()
  t.same(status, { code: 0, signal: null })
})
