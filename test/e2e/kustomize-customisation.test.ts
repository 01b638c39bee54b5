/**
 * issue 14 §1 against the real apiserver: an admin's overlay (namespace platform-webhooks, namePrefix acme-) over
 * manifests/ is server-side applied as rendered (the validating-webhook and cert-manager overlays, customised, as a server-side dry run). The webhook process then runs
 * as the pod would: the rendered config.yaml and the Deployment's environment (ATW_POD_NAMESPACE resolved as the
 * downward API does), a token of the renamed ServiceAccount, so the rendered RBAC is all it has. It fills the renamed
 * Secret, patches caBundle into the renamed MutatingWebhookConfiguration (the default install has no validating one:
 * the renamed ValidatingAdmissionPolicy validates, issue 16 §2), and the apiserver reaches it through the rendered
 * clientConfig.service, whose TLS name <service>.<namespace>.svc the certificate must carry.
 *
 * As in self-managed-certificates.test.ts, with no kube-proxy the Service's ClusterIP must itself reach the process:
 * the service range is on loopback, the webhook listens on the ClusterIP, and only the Service's and clientConfig's
 * port are changed from 443 to an unprivileged one.
 */
import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { V1Deployment } from '@kubernetes/client-node'
import t from 'tap'
import { parse } from 'yaml'
import { renderOverlay } from '../deploy/customise.js'
import { only, type K8sObject } from '../deploy/kustomize.js'
import { podEnvironment } from '../deploy/pod-config.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { freePort } from '../support/free-port.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { applyObjects, withServicePort, type WebhookConfiguration } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import { actorTemplate, createNamespace, manifest, pollDryRun, storedTemplate } from './harness.js'
import { kubectlOk, writeServiceAccountKubeconfig } from '../support/kubectl-ok.js'

t.setTimeout(10 * 60 * 1000)

const NAMESPACE = 'platform-webhooks'
const PREFIX = 'acme-'
const SERVICE = `${PREFIX}actortemplate-webhook`
const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:${PREFIX}actortemplate-webhook`
const SECRET = `${PREFIX}actortemplate-webhook-certs`
const CERT_MANAGER_CRDS = fileURLToPath(new URL('fixtures/cert-manager-crds.yaml', import.meta.url))

const [cluster, registry] = await Promise.all([
  startCluster({ extraApiServerArgs: ['--service-cluster-ip-range=127.0.100.0/24'] }),
  startRegistry({ mode: 'http' }),
  buildWebhook()
])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-customised-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const pause = buildOciImage()
const agent = buildOciIndex()
await Promise.all([installCrd(cluster), installCrd(cluster, CERT_MANAGER_CRDS),
  pushImage(registry, pause, 'pause', '3.10'), pushImage(registry, agent, 'acme/agent', '1.4')])
const pauseTag = `${registry.host}/pause:3.10`
const agentTag = `${registry.host}/acme/agent:1.4`

const kubectl = async (args: string[], input?: string): Promise<string> => await kubectlOk(cluster, args, input)
const serverSideApply = async (objects: readonly K8sObject[], extra: string[] = []): Promise<string> =>
  await kubectl(['apply', '--server-side', '--field-manager=admin', ...extra, '-f', '-'], objects.map((object) => JSON.stringify(object)).join('\n'))

// --- the admin's install, as rendered by kubectl 1.37's kustomize
const objects = await renderOverlay('', { namespace: NAMESPACE, namePrefix: PREFIX }, cluster.kubectlPath)
const applied = await serverSideApply(objects)

// --- stand in for kube-proxy and for the pod (all set-up comes before the tests: tap ends when they have run)
const clusterIp = (await kubectl(['get', 'service', SERVICE, '-n', NAMESPACE, '-o', 'jsonpath={.spec.clusterIP}'])).trim()
const port = await freePort(clusterIp)
await kubectl(['patch', 'service', SERVICE, '-n', NAMESPACE, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: port }])])
const rendered = objects.filter((object) => object.kind.endsWith('WebhookConfiguration')) as unknown as WebhookConfiguration[]
await applyObjects(cluster, withServicePort(rendered, port), ['--server-side', '--field-manager=admin'])

const renderedConfig = parse(String((only(objects, 'ConfigMap')['data'] as Record<string, string>)['config.yaml'])) as
  { server: Record<string, unknown>, [key: string]: unknown }
const config = {
  ...renderedConfig,
  server: { ...renderedConfig.server, tlsCert: join(dir, 'tls', 'tls.crt'), tlsKey: join(dir, 'tls', 'tls.key'), shutdownDelaySeconds: 0 },
  registries: [{ host: registry.host, insecure: true }]
}
// ATW_CONFIG is the in-pod mount path; the process gets the same file through --config instead.
const environment = Object.fromEntries(Object.entries(podEnvironment(only(objects, 'Deployment') as unknown as V1Deployment))
  .filter(([name]) => name !== 'ATW_CONFIG'))
const kubeconfig = await writeServiceAccountKubeconfig(cluster, { namespace: NAMESPACE, serviceAccount: SERVICE, file: join(dir, 'webhook.kubeconfig') })
const webhook = await startWebhook({ host: clusterIp, port, config, env: { ...environment, KUBECONFIG: kubeconfig }, t })

t.test('server-side apply: every rendered object stored where the overlay put it', async (t) => {
  t.comment(applied)
  t.equal(applied.trim().split('\n').length, objects.length, `one line per object (${objects.length})`)
  const stored = JSON.parse(await kubectl(['get', 'serviceaccount,service,secret,configmap,deployment,role,rolebinding', '-n', NAMESPACE, '-o', 'json'])) as
    { items: K8sObject[] }
  t.same(stored.items.map((object) => object.metadata.name).filter((name) => !name.startsWith(PREFIX)), [], 'every namespaced object is prefixed')
  const bindings = JSON.parse(await kubectl(['get', `rolebinding/${PREFIX}actortemplate-webhook`, '-n', NAMESPACE, '-o', 'json'])) as { subjects: unknown[] }
  t.same(bindings.subjects, [{ kind: 'ServiceAccount', name: `${PREFIX}actortemplate-webhook`, namespace: NAMESPACE }])
  for (const [kind, name] of [['mutatingwebhookconfiguration', `${PREFIX}pin.actortemplates.ate.dev`]]) {
    const configuration = JSON.parse(await kubectl(['get', kind ?? '', name ?? '', '-o', 'json'])) as WebhookConfiguration
    const service = configuration.webhooks[0]?.clientConfig.service
    t.match(service, { name: SERVICE, namespace: NAMESPACE }, `${name}: clientConfig.service`)
    const resolved = await cluster.kubectl(['get', 'service', service?.name ?? '', '-n', service?.namespace ?? ''])
    t.equal(resolved.code, 0, `${name}: the Service it names exists`, { stderr: resolved.stderr })
  }
  t.equal((await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).trim(), '', 'no validating webhook in the default install')
  const binding = JSON.parse(await kubectl(['get', 'validatingadmissionpolicybinding', `${PREFIX}pinned.actortemplates.ate.dev`, '-o', 'json'])) as
    { metadata: { namespace?: string }, spec: { policyName: string } }
  t.equal(binding.spec.policyName, `${PREFIX}pinned.actortemplates.ate.dev`, 'the binding names the renamed policy')
  t.equal(binding.metadata.namespace, undefined, 'stored cluster-scoped')
  t.equal((await cluster.kubectl(['get', 'validatingadmissionpolicy', `${PREFIX}pinned.actortemplates.ate.dev`])).code, 0, 'which exists')
})

t.test('RBAC names the renamed ServiceAccount in the new namespace, and only the renamed objects', async (t) => {
  const can = async (as: string, verb: string, resource: string, namespace?: string): Promise<string> => {
    const result = await cluster.kubectl(['auth', 'can-i', `--as=${as}`, verb, resource, ...(namespace === undefined ? [] : ['-n', namespace])])
    return result.stdout.trim()
  }
  const cases: Array<[string, string, string, string | undefined, string]> = [
    [SERVICE_ACCOUNT, 'update', `secrets/${SECRET}`, NAMESPACE, 'yes'],
    [SERVICE_ACCOUNT, 'get', 'secrets/registry-credentials', NAMESPACE, 'yes'],
    [SERVICE_ACCOUNT, 'patch', `mutatingwebhookconfigurations/${PREFIX}pin.actortemplates.ate.dev`, undefined, 'yes'],
    // Least privilege (issue 16 §2): the default install has no validating configuration, so nothing is granted on one.
    [SERVICE_ACCOUNT, 'patch', `validatingwebhookconfigurations/${PREFIX}validate.actortemplates.ate.dev`, undefined, 'no'],
    [SERVICE_ACCOUNT, 'get', `validatingwebhookconfigurations/${PREFIX}validate.actortemplates.ate.dev`, undefined, 'no'],
    [SERVICE_ACCOUNT, 'get', 'secrets/other', NAMESPACE, 'no'],
    [SERVICE_ACCOUNT, 'patch', 'mutatingwebhookconfigurations/pin.actortemplates.ate.dev', undefined, 'no'],
    ['system:serviceaccount:actortemplate-webhook:actortemplate-webhook', 'update', `secrets/${SECRET}`, NAMESPACE, 'no']
  ]
  for (const [as, verb, resource, namespace, expected] of cases) {
    t.equal(await can(as, verb, resource, namespace), expected, `${as} ${verb} ${resource}${namespace === undefined ? '' : ` -n ${namespace}`}`)
  }
})

t.test('the webhook, told its names by the rendered environment, is reached through the renamed Service', async (t) => {
  t.same(Object.keys(environment).sort(), ['ATW_CERTIFICATE_SECRET', 'ATW_MUTATING_WEBHOOK_CONFIGURATION', 'ATW_POD_NAMESPACE', 'ATW_SERVICE_NAME',
    'ATW_VALIDATING_WEBHOOK_CONFIGURATION'])
  t.comment(`the pod's environment: ${JSON.stringify(environment)}`)
  const secret = JSON.parse(await kubectl(['get', 'secret', SECRET, '-n', NAMESPACE, '-o', 'json'])) as { data?: Record<string, string> }
  const leaf = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'))
  t.equal(leaf.subjectAltName, `DNS:${SERVICE}.${NAMESPACE}.svc, DNS:${SERVICE}.${NAMESPACE}.svc.cluster.local`, 'the serving certificate names the renamed Service')
  t.equal(environment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], '', 'no validating configuration to publish caBundle to')
  t.match(webhook.logs().filter((line) => line.msg === 'caBundle patched'), [{ configurations: [`${PREFIX}pin.actortemplates.ate.dev`] }],
    'caBundle patched into the renamed mutating configuration alone')
  t.equal((await webhook.readyz()).status, 200, 'and the webhook is Ready')

  await createNamespace(cluster, 'team-a')
  const pinned = `${pauseTag}@${pause.digest}`
  await pollDryRun(cluster, actorTemplate('probe-mutating', 'team-a', pinned, [{ name: 'probe', image: pauseTag }]), (result) => result.code === 0, 'the renamed mutating webhook')
  const reserved = await pollDryRun(cluster, actorTemplate('probe-policy', 'team-a', pinned, [{ name: 'pause', image: pinned }]),
    (result) => result.stderr.includes(`ValidatingAdmissionPolicy '${PREFIX}pinned.actortemplates.ate.dev'`), 'the renamed policy')
  t.match(reserved.stderr, '"pause" is reserved for the sandbox container', 'the renamed policy denies a container named pause')
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('agent', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.equal(created.code, 0, 'kubectl create of a tag-form template', { stderr: created.stderr })
  t.equal(created.stdout, 'actortemplate.ate.dev/agent created\n')
  const stored = await storedTemplate(cluster, 'team-a', 'agent')
  t.equal(stored?.spec.pauseImage, `${pauseTag}@${pause.digest}`, 'pauseImage pinned')
  t.equal(stored?.spec.containers?.[0]?.image, `${agentTag}@${agent.digest}`, 'the container image pinned')
})

t.test('the customised validating-webhook and cert-manager overlays are accepted too (server-side dry run, another namespace and prefix)', async (t) => {
  const customisation = { namespace: 'platform-webhooks-2', namePrefix: 'beta-' }
  for (const target of ['overlays/validating-webhook', 'overlays/cert-manager']) {
    const rendered = await renderOverlay(target, customisation, cluster.kubectlPath)
    // A dry run does not create the Namespace the other objects need.
    await serverSideApply(rendered.filter((object) => object.kind === 'Namespace'))
    const dryRun = JSON.parse(await serverSideApply(rendered, ['--dry-run=server', '-o', 'json'])) as { items: K8sObject[] }
    t.equal(dryRun.items.length, rendered.length, `${target}: every object accepted (${rendered.length})`)
    // kustomize (v5.8.1) gives these cluster-scoped kinds a namespace, as it does not know their scope; the apiserver drops it.
    for (const policy of dryRun.items.filter((object) => object.kind.startsWith('ValidatingAdmissionPolicy'))) {
      t.equal(policy.metadata.namespace, undefined, `${policy.kind}/${policy.metadata.name} is stored cluster-scoped`)
    }
  }
})
