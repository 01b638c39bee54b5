/**
 * issue 14 §2 against the real apiserver: `helm install`, `helm upgrade` and `helm uninstall` of the chart, and
 * ActorTemplates created through the webhook configurations the chart installed.
 *
 * The cluster has no node, so the chart's pods never run; the webhook runs as a local process the way the pod would
 * (as in kustomize-customisation.test.ts): the config file from the installed ConfigMap, the environment of the
 * installed Deployment, a token of the installed ServiceAccount (so the chart's RBAC is all it has). With no
 * kube-proxy, the Service's ClusterIP must itself reach the process: the service range is on loopback, the webhook
 * listens on the ClusterIP, and the chart's `service.port` is an unprivileged port instead of 443.
 *
 * The release uses the chart's defaults (issue 16 layout): the ValidatingAdmissionPolicy validates, there is no
 * validating webhook, and the pod is told so (ATW_VALIDATING_WEBHOOK_CONFIGURATION ""), so it publishes caBundle to
 * the mutating configuration alone and becomes Ready with nothing more than the chart's RBAC. A tag is pinned, a
 * pinned template never reaches the webhook, a container named pause is denied by the policy. A second upgrade switches
 * to opt-in namespaces. The apiserver's audit log records the order in which `helm uninstall` deletes. Then the
 * chart's other modes (the validating webhook, cert-manager, opt-in with pull Secrets elsewhere) go through a
 * server-side dry run, so the apiserver's own validation (CEL of the policy and matchConditions included) accepts them.
 * Last, a release with validation.webhook.enabled shows what /validate costs: with the webhook stopped a pinned
 * template is denied, and admitted again once an upgrade returns to the defaults (the chart README's outage table).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { V1Deployment } from '@kubernetes/client-node'
import t from 'tap'
import { parse } from 'yaml'
import { podEnvironment } from '../deploy/pod-config.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { freePort } from '../support/free-port.js'
import { CHART, helm, parseObjects, renderChart, TEST_IMAGE } from '../support/helm.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import { actorTemplate, createNamespace, manifest, PINNED_MESSAGE, pollDryRun, storedTemplate, timed } from './harness.js'
import { kubectlOk, writeServiceAccountKubeconfig } from '../support/kubectl-ok.js'

t.setTimeout(10 * 60 * 1000)

const CERT_MANAGER_CRDS = fileURLToPath(new URL('fixtures/cert-manager-crds.yaml', import.meta.url))
const RELEASE = 'actortemplate-webhook'
const NAMESPACE = 'actortemplate-webhook'
const MUTATING = 'pin.actortemplates.ate.dev'
const VALIDATING = 'validate.actortemplates.ate.dev'
const POLICY = 'pinned.actortemplates.ate.dev'

const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-helm-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const auditLog = join(dir, 'audit.log')
await writeFile(join(dir, 'audit-policy.yaml'), [
  'apiVersion: audit.k8s.io/v1', 'kind: Policy', 'omitStages: ["RequestReceived"]',
  'rules:', '  - level: Metadata', '    verbs: ["delete"]', '  - level: None', ''
].join('\n'))
const [cluster, registry] = await Promise.all([
  startCluster({ extraApiServerArgs: ['--service-cluster-ip-range=127.0.102.0/24', `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
    `--audit-log-path=${auditLog}`] }),
  startRegistry({ mode: 'http' }),
  buildWebhook()
])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const pause = buildOciImage()
const agent = buildOciIndex()
await Promise.all([installCrd(cluster), installCrd(cluster, CERT_MANAGER_CRDS), pushImage(registry, pause, 'pause', '3.10'), pushImage(registry, agent, 'acme/agent', '1.4')])
const pauseTag = `${registry.host}/pause:3.10`
const agentTag = `${registry.host}/acme/agent:1.4`

const kubectl = async (args: string[], input?: string): Promise<string> => await kubectlOk(cluster, args, input)
const helmOn = (args: string[], values?: object) => helm([...args, '--kubeconfig', cluster.kubeconfig], values === undefined ? {} : { values })

// --- helm install: the admin's values, plus the service port this node-less cluster needs
const port = await freePort()
const values = {
  image: TEST_IMAGE,
  service: { port },
  config: { server: { shutdownDelaySeconds: 0 }, registries: [{ host: registry.host, insecure: true }], credentials: { secrets: [{ name: 'registry-credentials' }] } }
}
const install = await timed(() => helmOn(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace'], values))
if (install.value.code !== 0) throw new Error(`helm install failed: ${install.value.stderr}`)

/**
 * Stands in for the installed release's pod: the installed ConfigMap's config file, the installed Deployment's
 * environment, a token of the installed ServiceAccount, listening on the Service's ClusterIP.
 */
async function standInForThePod (name: string) {
  const clusterIp = (await kubectl(['get', 'service', RELEASE, '-n', NAMESPACE, '-o', 'jsonpath={.spec.clusterIP}'])).trim()
  const installedConfig = parse(JSON.parse(await kubectl(['get', 'configmap', `${RELEASE}-config`, '-n', NAMESPACE, '-o', 'json'])).data['config.yaml'] as string) as
    { server: Record<string, unknown>, [key: string]: unknown }
  const config = { ...installedConfig, server: { ...installedConfig.server, tlsCert: join(dir, name, 'tls.crt'), tlsKey: join(dir, name, 'tls.key') } }
  const deployment = JSON.parse(await kubectl(['get', 'deployment', RELEASE, '-n', NAMESPACE, '-o', 'json'])) as V1Deployment
  const storedEnv = deployment.spec?.template.spec?.containers[0]?.env ?? []
  const deployedEnvironment = podEnvironment(deployment) // an env entry stored without value is "" in the pod
  const environment = Object.fromEntries(Object.entries(deployedEnvironment).filter(([variable]) => variable !== 'ATW_CONFIG'))
  const kubeconfig = await writeServiceAccountKubeconfig(cluster, { namespace: NAMESPACE, serviceAccount: RELEASE, file: join(dir, `${name}.kubeconfig`) })
  const webhook = await startWebhook({ host: clusterIp, port, config, env: { ...environment, KUBECONFIG: kubeconfig }, t })
  return { webhook, storedEnv, deployedEnvironment, environment }
}

// --- stand in for the pod (all set-up before the tests: tap ends when they have run)
const { webhook, storedEnv, deployedEnvironment, environment } = await standInForThePod('defaults')
await createNamespace(cluster, 'team-a')
// The mutating webhook pins a dry-run probe: the apiserver trusts the caBundle the webhook published.
const firstPin = await timed(() => pollDryRun(cluster, actorTemplate('probe', 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'probe', image: agentTag }]),
  (result) => result.code === 0, MUTATING))

const caBundle = async (): Promise<string> => (await kubectl(['get', 'mutatingwebhookconfiguration', MUTATING, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).trim()
const certificateSecret = async (): Promise<Record<string, string> | undefined> =>
  (JSON.parse(await kubectl(['get', 'secret', `${RELEASE}-certs`, '-n', NAMESPACE, '-o', 'json'])) as { data?: Record<string, string> }).data

t.test('helm install: the release is deployed and every object of its manifest is stored', async (t) => {
  t.comment(`helm install took ${install.ms} ms; the webhook pinned its first template ${firstPin.ms} ms after starting`)
  t.match(install.value.stdout, /STATUS: deployed/)
  t.match(install.value.stdout, /REVISION: 1/)
  const manifest = await helmOn(['get', 'manifest', RELEASE, '--namespace', NAMESPACE])
  const objects = parseObjects(manifest.stdout)
  const stored = await kubectl(['get', '-f', '-', '-o', 'name'], manifest.stdout)
  t.equal(stored.trim().split('\n').length, objects.length, `all ${objects.length} objects of the release exist`)
  t.ok(objects.some((object) => object.kind === 'ValidatingAdmissionPolicy' && object.metadata.name === POLICY), 'the policy is part of it')
  t.ok(objects.some((object) => object.kind === 'ValidatingAdmissionPolicyBinding' && object.metadata.name === POLICY), 'and its binding')
  t.notOk(objects.some((object) => object.kind === 'ValidatingWebhookConfiguration'), 'no validating webhook configuration (validation.webhook.enabled is off)')
  const matchConditions = await kubectl(['get', 'mutatingwebhookconfiguration', MUTATING, '-o', 'jsonpath={.webhooks[0].matchConditions[*].name}'])
  t.equal(matchConditions, 'needs-pinning-or-annotation-check', 'the apiserver accepted the matchConditions (it compiles the CEL on write)')
})

t.test('usable with the defaults: the pod is told no validating configuration, publishes caBundle to the mutating one only and is Ready', async (t) => {
  t.strictSame(storedEnv.find((variable) => variable.name === 'ATW_VALIDATING_WEBHOOK_CONFIGURATION'), { name: 'ATW_VALIDATING_WEBHOOK_CONFIGURATION' },
    'the installed Deployment has the variable, with the empty value the apiserver stores as no value')
  t.equal(deployedEnvironment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], '', 'so the pod gets "": no validating configuration')
  t.equal(environment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], '', 'and the webhook process runs with that environment')
  const rules = (JSON.parse(await kubectl(['get', 'clusterrole', RELEASE, '-o', 'json'])) as { rules: Array<{ resources: string[], resourceNames: string[] }> }).rules
  t.strictSame(rules.map((rule) => [rule.resources, rule.resourceNames]), [[['mutatingwebhookconfigurations'], [MUTATING]]],
    'its ClusterRole grants nothing on validating configurations')
  t.equal((await webhook.readyz()).status, 200, 'the webhook is Ready with only that')
  t.ok((await certificateSecret())?.['tls.crt'], 'the certificate Secret the chart shipped empty now holds a certificate')
  t.ok((await caBundle()).length > 0, 'caBundle in the mutating configuration')
  t.equal((await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).trim(), '', 'and no validating configuration exists to hold one')
  t.notOk(webhook.logs().some((line) => typeof line.level === 'number' && line.level >= 50), 'no error in the webhook\'s log',
    { errors: webhook.logs().filter((line) => typeof line.level === 'number' && line.level >= 50) })
})

t.test('through the installed configuration: a tag-form template is pinned', async (t) => {
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('agent', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.equal(created.code, 0, 'kubectl create of a tag-form template', { stderr: created.stderr })
  const stored = await storedTemplate(cluster, 'team-a', 'agent')
  t.equal(stored?.spec.pauseImage, `${pauseTag}@${pause.digest}`, 'pauseImage pinned')
  t.equal(stored?.spec.containers?.[0]?.image, `${agentTag}@${agent.digest}`, 'the container image pinned')
})

const calls = async (object: string): Promise<number> =>
  (await webhook.settledAdmissions()).filter((line) => line['webhook'] === 'mutate' && line['object'] === object).length
let barriers = 0
/**
 * Creates a tag-form template and waits for the webhook's log line for it. Requests before it that reached the
 * webhook were answered, so logged, before this one was sent: after the barrier, a count of 0 means not called.
 */
async function barrier (): Promise<void> {
  const name = `barrier-${++barriers}`
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate(name, 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  if (created.code !== 0) throw new Error(`barrier ${name}: ${created.stderr}`)
  await webhook.waitForLog((line) => line['webhook'] === 'mutate' && line['object'] === `team-a/${name}`)
}

t.test('matchConditions: a template that is already pinned never reaches the mutating webhook', async (t) => {
  const pinned = actorTemplate('pinned', 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'agent', image: `${agentTag}@${agent.digest}` }])
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(pinned) })
  t.equal(created.code, 0, 'created', { stderr: created.stderr })
  await barrier()
  t.equal(await calls('team-a/pinned'), 0, 'the mutating webhook was not called for it')
  t.equal(await calls('team-a/agent'), 1, 'while the tag-form template before it was')

  const noPauseImage = actorTemplate('no-pause-image', 'team-a', 'unused', [{ name: 'agent', image: `${agentTag}@${agent.digest}` }]) as
    { spec: Record<string, unknown> }
  delete noPauseImage.spec['pauseImage']
  const missing = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(noPauseImage) })
  t.not(missing.code, 0, 'a template without pauseImage is refused')
  t.comment(missing.stderr)
  t.match(missing.stderr, /pauseImage/, 'naming the missing field')
  t.notMatch(missing.stderr, /match ?condition/i, 'not with a CEL evaluation error of the matchConditions')

  await kubectl(['label', 'actortemplate', 'pinned', '-n', 'team-a', 'team=agents'])
  await barrier()
  t.equal(await calls('team-a/pinned'), 0, 'UPDATE of a label only: not called')
  const annotated = await cluster.kubectl(['annotate', 'actortemplate', 'pinned', '-n', 'team-a', 'ate.dev/pinned-images=edited by hand'])
  t.comment(`annotate: ${annotated.code === 0 ? annotated.stdout : annotated.stderr}`)
  await webhook.waitForLog((line) => line['webhook'] === 'mutate' && line['object'] === 'team-a/pinned')
  t.equal(await calls('team-a/pinned'), 1, 'UPDATE of the pinned-images annotation: called')
})

t.test('the policy denies a container named pause, with no validating webhook installed', async (t) => {
  for (const [what, image] of [['pinned', `${agentTag}@${agent.digest}`], ['a tag', agentTag]] as const) {
    const body = actorTemplate(`reserved-${what === 'pinned' ? 'pinned' : 'tag'}`, 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'pause', image }])
    const denied = await cluster.kubectl(['create', '-f', '-'], { input: manifest(body) })
    t.comment(denied.stderr.trim())
    t.not(denied.code, 0, `${what}: denied`)
    t.match(denied.stderr, `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: ` +
      'spec.containers[0].name: "pause" is reserved for the sandbox container; choose another name', `${what}: by the policy, saying what to do`)
    t.equal(await storedTemplate(cluster, 'team-a', body.metadata.name), undefined, `${what}: not stored`)
  }
  await barrier()
  t.equal(await calls('team-a/reserved-pinned'), 0, 'the pinned one never reached the webhook: the policy alone denied it')
  t.equal(await calls('team-a/reserved-tag'), 1, 'the tag was pinned by the webhook first, then denied by the policy')
})

const upgradeValues = { ...values, replicas: 3, config: { ...values.config, logLevel: 'debug' } }

t.test('helm upgrade: the new values are applied; caBundle and the certificate Secret the webhook wrote are kept', async (t) => {
  const bundleBefore = await caBundle()
  const secretBefore = await certificateSecret()
  const checksum = async (): Promise<string | undefined> => (JSON.parse(await kubectl(['get', 'deployment', RELEASE, '-n', NAMESPACE, '-o', 'json'])) as V1Deployment)
    .spec?.template.metadata?.annotations?.['checksum/config']
  const checksumBefore = await checksum()
  const upgrade = await timed(() => helmOn(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE], upgradeValues))
  t.equal(upgrade.value.code, 0, 'helm upgrade', { stderr: upgrade.value.stderr })
  t.comment(`helm upgrade took ${upgrade.ms} ms`)
  t.match(upgrade.value.stdout, /REVISION: 2/)
  t.equal((await kubectl(['get', 'deployment', RELEASE, '-n', NAMESPACE, '-o', 'jsonpath={.spec.replicas}'])).trim(), '3', 'replicas from the new values')
  t.not(await checksum(), checksumBefore, 'the config checksum changed, so the pods roll')
  t.match(parse((JSON.parse(await kubectl(['get', 'configmap', `${RELEASE}-config`, '-n', NAMESPACE, '-o', 'json'])) as { data: Record<string, string> }).data['config.yaml'] ?? ''),
    { logLevel: 'debug' })
  t.equal(await caBundle(), bundleBefore, 'caBundle kept (Helm never set it)')
  t.strictSame(await certificateSecret(), secretBefore, 'the certificate Secret\'s data kept')
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('after-upgrade', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.equal(created.code, 0, 'a tag-form template is still pinned after the upgrade', { stderr: created.stderr })
  t.equal((await storedTemplate(cluster, 'team-a', 'after-upgrade'))?.spec.pauseImage, `${pauseTag}@${pause.digest}`)
})

t.test('helm upgrade to opt-in mode: only namespaces with the label are pinned', async (t) => {
  const optIn = { ...upgradeValues, webhook: { namespaceSelector: { optIn: { enabled: true, label: 'example.com/pin-images', value: 'yes' } } } }
  const upgrade = await helmOn(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE], optIn)
  t.equal(upgrade.code, 0, 'helm upgrade', { stderr: upgrade.stderr })
  await createNamespace(cluster, 'team-b')
  const probe = actorTemplate('probe', 'team-b', `${pauseTag}@${pause.digest}`, [{ name: 'probe', image: agentTag }])
  // The apiserver picks the new selector up through an informer: wait until a tag is no longer pinned in team-b.
  const refused = await pollDryRun(cluster, probe, (result) => result.code !== 0, 'opt-in selector')
  t.match(refused.stderr, PINNED_MESSAGE, 'an unlabelled namespace: not sent to the webhook, so the CRD refuses the tag')
  await kubectl(['label', 'namespace', 'team-b', 'example.com/pin-images=yes'])
  const pinned = await pollDryRun(cluster, probe, (result) => result.code === 0, 'the labelled namespace')
  t.equal(pinned.code, 0, 'once labelled, the tag is pinned')
})

/** The resource (plural) an audit event names for a kind of this chart. */
const resourceOf = (kind: string): string => kind.toLowerCase().replace(/y$/, 'ie') + 's'

interface AuditEvent { verb: string, objectRef?: { resource?: string, name?: string, namespace?: string }, requestReceivedTimestamp: string, stageTimestamp: string }

t.test('helm uninstall: the webhook configuration goes first, and nothing is left pointing at the deleted Service', async (t) => {
  const releaseObjects = parseObjects((await helmOn(['get', 'manifest', RELEASE, '--namespace', NAMESPACE])).stdout)
  const uninstall = await timed(() => helmOn(['uninstall', RELEASE, '--namespace', NAMESPACE]))
  t.equal(uninstall.value.code, 0, 'helm uninstall', { stderr: uninstall.value.stderr })
  t.comment(`helm uninstall took ${uninstall.ms} ms`)
  // The audit log is written as requests complete; the last deletes may take a moment to reach the file.
  let deletes: AuditEvent[] = []
  for (let attempt = 0; attempt < 40; attempt++) {
    deletes = (await readFile(auditLog, 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.verb === 'delete')
    if (deletes.some((event) => event.objectRef?.resource === 'validatingadmissionpolicybindings')) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const order = deletes.map((event) => `${event.objectRef?.resource ?? ''}/${event.objectRef?.name ?? ''}`)
  t.comment(`deletes in the order the apiserver completed them:\n  ${order.join('\n  ')}`)
  const finished = (resource: string): number[] => deletes.filter((event) => event.objectRef?.resource === resource).map((event) => Date.parse(event.stageTimestamp))
  const configurationsGone = Math.max(...finished('mutatingwebhookconfigurations'))
  t.equal(finished('mutatingwebhookconfigurations').length, 1, 'the webhook configuration deleted')
  const others = releaseObjects.filter((object) => !object.kind.endsWith('WebhookConfiguration'))
  for (const object of others) {
    const deleted = deletes.filter((event) => event.objectRef?.resource === resourceOf(object.kind) && event.objectRef.name === object.metadata.name)
    t.equal(deleted.length, 1, `${object.kind}/${object.metadata.name} deleted`)
    t.ok(deleted.every((event) => Date.parse(event.requestReceivedTimestamp) >= configurationsGone),
      `${object.kind}/${object.metadata.name}: its delete came after the webhook configuration was gone`)
  }
  const left = await kubectl(['get', 'mutatingwebhookconfigurations,validatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings', '-o', 'name'])
  t.equal(left.trim(), '', 'no webhook configuration or policy of the release is left')
  const list = await helmOn(['list', '--all-namespaces', '-q'])
  t.equal(list.stdout.trim(), '', 'no release left')
  const unpinned = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('after-uninstall', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.not(unpinned.code, 0, 'a tag-form template is no longer admitted')
  t.match(unpinned.stderr, PINNED_MESSAGE, 'by the CRD\'s own rule')
  t.notMatch(unpinned.stderr, /failed calling webhook/, 'not by a call to a webhook that is gone')
})

t.test('the apiserver accepts the chart in its other modes (server-side dry run, after the uninstall)', async (t) => {
  await createNamespace(cluster, 'team-c')
  const cases: Array<[string, object]> = [
    ['the validating webhook on', { validation: { webhook: { enabled: true } } }],
    ['cert-manager', { certificates: { mode: 'cert-manager' } }],
    ['opt-in, pull Secrets in another namespace, more registry ports', {
      webhook: { namespaceSelector: { optIn: { enabled: true } } }, networkPolicy: { egress: { registryPorts: [443, 5000, 8443] } },
      config: { credentials: { secrets: [{ name: 'registry-credentials' }, { name: 'team-pull', namespace: 'team-c' }] } }
    }]
  ]
  for (const [what, values] of cases) {
    const objects = await renderChart({ image: TEST_IMAGE, ...values }, { name: 'dry', namespace: NAMESPACE })
    const applied = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=helm-dry-run', '-o', 'name', '-f', '-'],
      { input: objects.map((object) => JSON.stringify(object)).join('\n') })
    t.equal(applied.code, 0, `${what}: accepted`, { stderr: applied.stderr })
    t.equal(applied.stdout.trim().split('\n').length, objects.length, `${what}: all ${objects.length} objects`)
  }
})

t.test('validation.webhook.enabled: /validate is called for pinned templates too, so while the webhook is down they are denied; the defaults admit them', async (t) => {
  // The release of the tests above is uninstalled; its stand-in goes too, so the new one can take the port.
  await webhook.stop()
  const install = await helmOn(['install', RELEASE, CHART, '--namespace', NAMESPACE], { ...values, validation: { webhook: { enabled: true } } })
  t.equal(install.code, 0, 'helm install with the validating webhook', { stderr: install.stderr })
  const standIn = await standInForThePod('validating-webhook')
  t.equal(standIn.deployedEnvironment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], VALIDATING, 'the pod is told the validating configuration')
  await pollDryRun(cluster, actorTemplate('probe', 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'probe', image: agentTag }]), (result) => result.code === 0, MUTATING)
  const bundles = await Promise.all([['mutatingwebhookconfiguration', MUTATING], ['validatingwebhookconfiguration', VALIDATING]]
    .map(async ([kind, name]) => (await kubectl(['get', kind ?? '', name ?? '', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).trim()))
  t.ok(bundles.every((bundle) => bundle.length > 0), 'caBundle in both configurations')

  const pinnedBody = (name: string) => actorTemplate(name, 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'agent', image: `${agentTag}@${agent.digest}` }])
  const up = await cluster.kubectl(['create', '-f', '-'], { input: manifest(pinnedBody('pinned-validated')) })
  t.equal(up.code, 0, 'webhook up: a pinned template is created', { stderr: up.stderr })
  await standIn.webhook.waitForLog((line) => line['webhook'] === 'validate' && line['object'] === 'team-a/pinned-validated')
  t.pass('and /validate was called for it (no matchConditions on that configuration)')

  const stopped = await timed(() => standIn.webhook.stop())
  t.comment(`the webhook process stopped in ${stopped.ms} ms`)
  t.same(stopped.value, { code: 0, signal: null }, 'the webhook process stops')
  const down = await cluster.kubectl(['create', '-f', '-'], { input: manifest(pinnedBody('pinned-while-down')) })
  t.comment(down.stderr.trim())
  t.not(down.code, 0, 'webhook down: a pinned template is denied')
  t.match(down.stderr, `failed calling webhook "${VALIDATING}"`, 'by the failed call to /validate')
  const reserved = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('reserved-while-down', 'team-a', `${pauseTag}@${pause.digest}`,
    [{ name: 'pause', image: `${agentTag}@${agent.digest}` }])) })
  t.not(reserved.code, 0, 'a container named pause is denied')
  t.match(reserved.stderr, `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request`, 'by the policy, which runs before the validating webhook')

  const { value: back, ms: upgradeMs } = await timed(() => helmOn(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE], values))
  t.comment(`helm upgrade took ${upgradeMs} ms`)
  t.equal(back.code, 0, 'helm upgrade back to the defaults, the webhook still down', { stderr: back.stderr })
  t.equal((await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).trim(), '', 'the validating configuration is gone')
  // The apiserver drops the configuration through an informer: poll until it is out of force.
  const { value: admitted, ms: inForceMs } = await timed(() => pollDryRun(cluster, pinnedBody('pinned-after-upgrade'), (result) => result.code === 0, 'the defaults again'))
  t.comment(`the apiserver stopped calling /validate ${inForceMs} ms after the upgrade returned`)
  t.equal(admitted.code, 0, 'with the defaults, the same pinned template is admitted while the webhook is down')
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(pinnedBody('pinned-after-upgrade')) })
  t.equal(created.code, 0, 'and created', { stderr: created.stderr })
  const tag = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('tag-while-down', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.not(tag.code, 0, 'a tag is denied while the webhook is down')
  t.match(tag.stderr, `failed calling webhook "${MUTATING}"`, 'by the failed call to the mutating webhook: there is nothing to pin it')
  const reservedAgain = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('reserved-defaults-down', 'team-a', `${pauseTag}@${pause.digest}`,
    [{ name: 'pause', image: `${agentTag}@${agent.digest}` }])) })
  t.match(reservedAgain.stderr, `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request`, 'a container named pause: denied by the policy')
})
