/**
 * issue 14 §2: the chart renders what each value set asks for, `helm lint --strict` passes, and a wrong or missing
 * value stops `helm template` (so `helm install`) with a message that says what to fix. Every rendered object is
 * checked against its API type, and the rendered config file is loaded by the webhook's own config loader.
 */
import type { V1ClusterRole, V1Deployment, V1MutatingWebhookConfiguration, V1NetworkPolicy, V1Role, V1RoleBinding } from '@kubernetes/client-node'
import t, { type Test } from 'tap'
import { CHART, helm, renderChart, TEST_IMAGE, type RenderedObject } from '../support/helm.js'
import { hasModel, validateObject } from './k8s-schema.js'
import { only, type K8sObject } from './kustomize.js'
import { podConfig, podEnvironment } from './pod-config.js'

t.setTimeout(5 * 60 * 1000)

const as = <T>(object: RenderedObject): T => object as unknown as T
const kinds = (objects: readonly RenderedObject[]): string[] => objects.map((object) => `${object.kind}/${object.metadata.name}`).sort()
const container = (objects: readonly RenderedObject[]) => as<V1Deployment>(only(objects as K8sObject[], 'Deployment')).spec?.template.spec?.containers[0]
const mutating = (objects: readonly RenderedObject[]) => as<V1MutatingWebhookConfiguration>(only(objects as K8sObject[], 'MutatingWebhookConfiguration')).webhooks?.[0]

async function rendersValid (t: Test, values: object): Promise<RenderedObject[]> {
  const objects = await renderChart(values)
  for (const object of objects) {
    if (object.apiVersion.startsWith('cert-manager.io/')) continue
    t.ok(hasModel(object.apiVersion, object.kind), `${object.kind} has an API type`)
    t.strictSame(validateObject(object), [], `${object.kind}/${object.metadata.name} conforms to its API type`)
  }
  return objects
}

t.test('helm lint --strict passes with an image set, in each mode', async (t) => {
  const valueSets: Array<[string, object]> = [
    ['defaults', {}],
    ['cert-manager', { certificates: { mode: 'cert-manager' } }],
    ['validating webhook, no policy, opt-in', { validation: { webhook: { enabled: true }, policy: { enabled: false } }, webhook: { namespaceSelector: { optIn: { enabled: true } } } }],
    ['no NetworkPolicy, no PodDisruptionBudget, no priority class', { networkPolicy: { enabled: false }, podDisruptionBudget: { enabled: false }, priorityClassName: '' }]
  ]
  for (const [what, values] of valueSets) {
    const result = await helm(['lint', '--strict', CHART], { values: { image: TEST_IMAGE, ...values } })
    t.equal(result.code, 0, `${what}: helm lint exit code`, { stdout: result.stdout, stderr: result.stderr })
    t.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, what)
  }
  // Lint renders with `required` relaxed (Helm's lint mode), so it passes without an image but shows the message.
  const unset = await helm(['lint', '--strict', CHART])
  t.equal(unset.code, 0, 'without an image: lint passes')
  t.match(unset.stderr, /missing required values.*image\.repository is required: there is no published actortemplate-webhook image/, 'and warns')
})

t.test('defaults + image: the issue 16 layout, names and RBAC as the kustomize base', async (t) => {
  const objects = await rendersValid(t, { image: TEST_IMAGE })
  t.strictSame(kinds(objects), [
    'ClusterRole/actortemplate-webhook', 'ClusterRoleBinding/actortemplate-webhook', 'ConfigMap/actortemplate-webhook-config',
    'Deployment/actortemplate-webhook', 'MutatingWebhookConfiguration/pin.actortemplates.ate.dev', 'NetworkPolicy/actortemplate-webhook',
    'PodDisruptionBudget/actortemplate-webhook', 'ResourceQuota/actortemplate-webhook-critical-pods', 'Role/actortemplate-webhook',
    'RoleBinding/actortemplate-webhook', 'Secret/actortemplate-webhook-certs', 'Service/actortemplate-webhook', 'ServiceAccount/actortemplate-webhook',
    'ValidatingAdmissionPolicy/pinned.actortemplates.ate.dev', 'ValidatingAdmissionPolicyBinding/pinned.actortemplates.ate.dev'
  ])
  t.equal(container(objects)?.image, `${TEST_IMAGE.repository}@${TEST_IMAGE.digest}`, 'the image by digest')
  const environment = podEnvironment(as<V1Deployment>(only(objects as K8sObject[], 'Deployment')))
  t.equal(environment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], '', 'no validating configuration is named to the webhook: "", as the kustomize base')
  const clusterRole = as<V1ClusterRole>(only(objects as K8sObject[], 'ClusterRole'))
  t.strictSame(clusterRole.rules?.map((rule) => [rule.resources, rule.resourceNames]), [[['mutatingwebhookconfigurations'], ['pin.actortemplates.ate.dev']]],
    'RBAC names only the mutating configuration')
  t.ok(mutating(objects)?.matchConditions?.length === 1, 'the mutating webhook has its matchConditions')
  const config = await podConfig(objects as K8sObject[])
  t.equal(config.certificates.mode, 'self-managed')
  t.equal(config.certificates.validatingWebhookConfiguration, '', 'the webhook loads it as "none" (not its default name, which it has no RBAC for)')
  t.strictSame(config.credentials.secrets, [{ name: 'registry-credentials', namespace: 'actortemplate-webhook' }], 'the pull Secret, in the pod\'s namespace')
  t.equal(config.server.tlsCert, '/var/run/actortemplate-webhook/tls/tls.crt', 'the chart sets the certificate path')
})

t.test('image by tag is allowed; by digest wins when both are set', async (t) => {
  const byTag = await renderChart({ image: { repository: TEST_IMAGE.repository, tag: '0.1.0' } })
  t.equal(container(byTag)?.image, `${TEST_IMAGE.repository}:0.1.0`)
  const both = await renderChart({ image: { ...TEST_IMAGE, tag: '0.1.0' } })
  t.equal(container(both)?.image, `${TEST_IMAGE.repository}@${TEST_IMAGE.digest}`)
})

t.test('no image: helm stops with what to do (there is no published image)', async (t) => {
  const none = await helm(['template', 'actortemplate-webhook', CHART])
  t.not(none.code, 0, 'helm template fails')
  t.comment(none.stderr)
  t.match(none.stderr, 'image.repository is required: there is no published actortemplate-webhook image. Build one (npm run image, or docker build)')
  const noDigest = await helm(['template', 'actortemplate-webhook', CHART], { values: { image: { repository: TEST_IMAGE.repository } } })
  t.not(noDigest.code, 0)
  t.match(noDigest.stderr, 'image.digest (preferred) or image.tag is required')
})

t.test('a wrong value fails at the schema, naming the value', async (t) => {
  const cases: Array<[string, object, RegExp]> = [
    ['timeoutSeconds above 30', { webhook: { timeoutSeconds: 31 } }, /timeoutSeconds/],
    ['an unknown certificates mode', { certificates: { mode: 'vault' } }, /mode/],
    ['a malformed digest', { image: { ...TEST_IMAGE, digest: 'sha256:abc' } }, /digest/],
    ['a typo in the webhook config', { config: { registries: [{ hoost: 'registry.internal:5000' }] } }, /hoost|host/],
    ['a config key the chart owns', { config: { server: { port: 9443 } } }, /port/],
    ['a config value out of the webhook\'s bounds', { config: { resolver: { maxAttempts: 0 } } }, /maxAttempts/],
    ['an unknown top-level value', { replicaCount: 3 }, /replicaCount/],
    ['a registry port that is not a number', { networkPolicy: { egress: { registryPorts: ['5000'] } } }, /registryPorts/]
  ]
  for (const [what, values, names] of cases) {
    const result = await helm(['template', 'actortemplate-webhook', CHART], { values: { image: TEST_IMAGE, ...values } })
    t.not(result.code, 0, `${what}: rejected`)
    t.match(result.stderr, /values don't meet the specifications of the schema/, `${what}: by the schema`)
    t.match(result.stderr, names, `${what}: the message names the value`)
    t.comment(`${what}: ${result.stderr.trim()}`)
  }
})

t.test('cert-manager: Issuers and Certificates, cainjector annotation, the Secret mounted, no access to certificates', async (t) => {
  const objects = await rendersValid(t, { image: TEST_IMAGE, certificates: { mode: 'cert-manager' } })
  t.strictSame(kinds(objects).filter((name) => /^(Issuer|Certificate|Secret|ClusterRole)/.test(name)), [
    'Certificate/actortemplate-webhook-ca', 'Certificate/actortemplate-webhook-serving', 'Issuer/actortemplate-webhook-ca', 'Issuer/actortemplate-webhook-selfsigned'
  ], 'no certificate Secret, no ClusterRole')
  const serving = only(objects as K8sObject[], 'Certificate', 'actortemplate-webhook-serving') as { spec?: { dnsNames?: string[], secretName?: string } }
  t.strictSame(serving.spec?.dnsNames, ['actortemplate-webhook.actortemplate-webhook.svc', 'actortemplate-webhook.actortemplate-webhook.svc.cluster.local'])
  t.equal(only(objects as K8sObject[], 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from'], 'actortemplate-webhook/actortemplate-webhook-serving')
  const volume = as<V1Deployment>(only(objects as K8sObject[], 'Deployment')).spec?.template.spec?.volumes?.find((v) => v.name === 'tls')
  t.strictSame(volume, { name: 'tls', secret: { secretName: serving.spec?.secretName, defaultMode: 0o440 } })
  const environment = podEnvironment(as<V1Deployment>(only(objects as K8sObject[], 'Deployment')))
  t.notOk('ATW_CERTIFICATE_SECRET' in environment)
  t.equal((await podConfig(objects as K8sObject[])).certificates.mode, 'files')
  const role = as<V1Role>(only(objects as K8sObject[], 'Role'))
  t.strictSame(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['registry-credentials'], verbs: ['get'] }], 'only the pull Secret')
})

t.test('opt-in namespaces and an exclusion list, in another namespace', async (t) => {
  const objects = await renderChart({
    image: TEST_IMAGE,
    validation: { webhook: { enabled: true } },
    webhook: { namespaceSelector: { excludedNamespaces: ['kube-system', 'gatekeeper-system'], optIn: { enabled: true, label: 'example.com/pin', value: 'yes' } } }
  }, { name: 'atw', namespace: 'platform' })
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const webhook = (only(objects as K8sObject[], kind) as unknown as { webhooks: Array<{ namespaceSelector: unknown, clientConfig: unknown }> }).webhooks[0]
    t.strictSame(webhook?.namespaceSelector, { matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'gatekeeper-system', 'platform'] },
      { key: 'example.com/pin', operator: 'In', values: ['yes'] }
    ] }, `${kind}: only labelled namespaces, never the excluded ones or its own`)
    t.match(webhook?.clientConfig, { service: { name: 'atw-actortemplate-webhook', namespace: 'platform', port: 443 } })
  }
})

t.test('NetworkPolicy: registry ports are a list; off when disabled', async (t) => {
  const objects = await renderChart({ image: TEST_IMAGE, networkPolicy: { egress: { registryPorts: [443, 5000, 8443] } } })
  const egress = as<V1NetworkPolicy>(only(objects as K8sObject[], 'NetworkPolicy')).spec?.egress?.[1]
  t.strictSame(egress?.ports, [443, 5000, 8443, 6443].map((port) => ({ port, protocol: 'TCP' })), 'registry ports, then the API server\'s, once each')
  const off = await renderChart({ image: TEST_IMAGE, networkPolicy: { enabled: false } })
  t.notOk(off.some((object) => object.kind === 'NetworkPolicy'))
})

t.test('pull Secrets: RBAC for each by name, a Role in each other namespace, never all Secrets', async (t) => {
  const secrets = [{ name: 'registry-credentials' }, { name: 'team-a-pull', namespace: 'team-a' }, { name: 'team-a-mirror', namespace: 'team-a' },
    { name: 'own', namespace: 'actortemplate-webhook' }]
  const objects = await rendersValid(t, { image: TEST_IMAGE, config: { credentials: { secrets } } })
  const roles = objects.filter((object) => object.kind === 'Role').map((object) => as<V1Role>(object))
  t.strictSame(roles.map((role) => [role.metadata?.namespace, role.rules?.map((rule) => rule.resourceNames)])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0]))), [
    ['actortemplate-webhook', [['actortemplate-webhook-certs'], ['registry-credentials', 'own']]],
    ['team-a', [['team-a-pull', 'team-a-mirror']]]
  ])
  for (const role of roles) {
    for (const rule of role.rules ?? []) t.ok((rule.resourceNames ?? []).length > 0, `${role.metadata?.namespace ?? ''}: every Secret rule names its Secrets`)
  }
  const binding = objects.filter((object) => object.kind === 'RoleBinding').map((object) => as<V1RoleBinding>(object))
    .find((b) => b.metadata?.namespace === 'team-a')
  t.strictSame(binding?.subjects, [{ kind: 'ServiceAccount', name: 'actortemplate-webhook', namespace: 'actortemplate-webhook' }])
  const config = await podConfig(objects as K8sObject[])
  t.strictSame(config.credentials.secrets.map((s) => `${s.namespace}/${s.name}`),
    ['actortemplate-webhook/registry-credentials', 'team-a/team-a-pull', 'team-a/team-a-mirror', 'actortemplate-webhook/own'])
})

t.test('the validating webhook, when enabled, is named to the webhook and in its RBAC', async (t) => {
  const objects = await rendersValid(t, { image: TEST_IMAGE, validation: { webhook: { enabled: true }, policy: { enabled: false } } })
  t.notOk(objects.some((object) => object.kind.startsWith('ValidatingAdmissionPolicy')), 'policy off')
  const environment = podEnvironment(as<V1Deployment>(only(objects as K8sObject[], 'Deployment')))
  t.equal(environment['ATW_VALIDATING_WEBHOOK_CONFIGURATION'], 'validate.actortemplates.ate.dev')
  t.strictSame(as<V1ClusterRole>(only(objects as K8sObject[], 'ClusterRole')).rules?.map((rule) => rule.resourceNames),
    [['pin.actortemplates.ate.dev'], ['validate.actortemplates.ate.dev']])
})

t.test('placement, priority, replicas and timeouts reach the objects', async (t) => {
  const objects = await rendersValid(t, {
    image: TEST_IMAGE, replicas: 3, priorityClassName: 'platform-critical', nodeSelector: { pool: 'system' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }],
    defaultTopologySpreadConstraints: false, topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
    webhook: { failurePolicy: 'Ignore', timeoutSeconds: 5 }, config: { admission: { annotationKey: 'example.com/pins' } }
  })
  const pod = as<V1Deployment>(only(objects as K8sObject[], 'Deployment'))
  t.equal(pod.spec?.replicas, 3)
  t.equal(pod.spec?.template.spec?.priorityClassName, 'platform-critical')
  t.strictSame(pod.spec?.template.spec?.nodeSelector, { pool: 'system' })
  t.equal(pod.spec?.template.spec?.tolerations?.length, 1)
  t.strictSame(pod.spec?.template.spec?.topologySpreadConstraints, [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }])
  t.notOk(objects.some((object) => object.kind === 'ResourceQuota'), 'the quota is only for the system classes')
  t.match(mutating(objects), { failurePolicy: 'Ignore', timeoutSeconds: 5 })
  const expression = mutating(objects)?.matchConditions?.[0]?.expression ?? ''
  t.match(expression, "'example.com/pins' in object.metadata.annotations", 'matchConditions follow the annotation key')
  t.notMatch(expression, 'ate.dev/pinned-images', 'everywhere: the default key is left nowhere')
})
