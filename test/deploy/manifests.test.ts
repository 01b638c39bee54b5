import { join } from 'node:path'
import type {
  V1ClusterRole, V1Deployment, V1MutatingWebhookConfiguration, V1NetworkPolicy, V1PodDisruptionBudget, V1Role,
  V1RoleBinding, V1Service, V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding, V1ValidatingWebhookConfiguration
} from '@kubernetes/client-node'
import t, { type Test } from 'tap'
import { hasModel, validateObject } from './k8s-schema.js'
import { build, MANIFESTS, only, OVERLAYS, type K8sObject } from './kustomize.js'
import { podConfig } from './pod-config.js'

const NS = 'actortemplate-webhook'
const SERVICE = 'actortemplate-webhook'
const MUTATING = 'pin.actortemplates.ate.dev'
const VALIDATING = 'validate.actortemplates.ate.dev'
const as = <T>(object: K8sObject): T => object as unknown as T

const configOf = podConfig

const builds = new Map<string, K8sObject[]>()
t.before(async () => {
  builds.set('base', await build(MANIFESTS))
  for (const overlay of OVERLAYS) builds.set(overlay, await build(join(MANIFESTS, 'overlays', overlay)))
})
const objectsOf = (name: string): K8sObject[] => builds.get(name) ?? []

t.test('kustomize builds the base and every overlay, and every object conforms to its API type', async (t) => {
  t.same([...builds.keys()], ['base', ...OVERLAYS])
  for (const [name, objects] of builds) {
    t.ok(objects.length > 0, `${name} builds`)
    for (const object of objects) {
      if (object.apiVersion.startsWith('cert-manager.io/')) continue
      t.ok(hasModel(object.apiVersion, object.kind), `${name}: ${object.apiVersion} ${object.kind} has an API type`)
      t.same(validateObject(object), [], `${name}: ${object.kind}/${object.metadata.name}`)
      const namespaced = !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].includes(object.kind)
      // kustomize does not know the policy kinds are cluster-scoped and gives them the namespace; the apiserver drops it
      // (test/e2e/manifests-and-outage.test.ts applies every install).
      const policyKind = object.kind.startsWith('ValidatingAdmissionPolicy')
      if (policyKind) t.ok([undefined, NS].includes(object.metadata.namespace), `${name}: ${object.kind} namespace is none or the webhook's (ignored)`)
      else t.equal(object.metadata.namespace, namespaced ? NS : undefined, `${name}: ${object.kind}/${object.metadata.name} namespace`)
      t.equal(object.metadata.labels?.['app.kubernetes.io/name'], 'actortemplate-webhook')
    }
  }
})

t.test('the structural check catches typos and wrong types', async (t) => {
  const problems = validateObject({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { replica: 2, selector: { matchLabels: { a: 1 } }, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: '8443' }] }] } } }
  } as K8sObject)
  t.same(problems, [
    'Deployment/x.spec.replica: unknown field in V1DeploymentSpec',
    'Deployment/x.spec.selector.matchLabels.a: expected a string, got number',
    'Deployment/x.spec.template.spec.containers[0].ports[0].containerPort: expected a number, got string'
  ])
})

t.test('base: the kinds the issue lists', async (t) => {
  t.same(objectsOf('base').map((object) => object.kind).sort(), [
    'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'MutatingWebhookConfiguration', 'Namespace', 'NetworkPolicy',
    'PodDisruptionBudget', 'ResourceQuota', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount', 'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding'
  ], 'the policy validates; no ValidatingWebhookConfiguration in the default install (issue 16 §2)')
  t.equal(only(objectsOf('base'), 'Namespace').metadata.name, NS)
  t.equal(only(objectsOf('base'), 'Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted')
})

t.test('base RBAC: only what the code uses, every rule by resourceName, bound to the webhook\'s ServiceAccount', async (t) => {
  const objects = objectsOf('base')
  const config = await configOf(objects)
  const role = as<V1Role>(only(objects, 'Role'))
  const clusterRole = as<V1ClusterRole>(only(objects, 'ClusterRole'))
  for (const rule of [...(role.rules ?? []), ...(clusterRole.rules ?? [])]) {
    t.ok((rule.resourceNames ?? []).length > 0, `rule on ${rule.resources?.join(',') ?? ''} is limited by name (an empty list would mean all)`)
    t.notOk([...(rule.verbs), ...(rule.resources ?? []), ...(rule.apiGroups ?? [])].includes('*'), 'no wildcards')
    t.notOk(rule.verbs.some((verb) => ['list', 'watch', 'create', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate'].includes(verb)))
  }
  t.same(role.rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: [config.certificates.secretName], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: config.credentials.secrets.map((secret) => secret.name), verbs: ['get'] }
  ])
  t.ok(config.credentials.secrets.every((secret) => secret.namespace === NS), 'the Role covers every configured pull Secret')
  t.same(clusterRole.rules, [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [MUTATING], verbs: ['get', 'patch'] }
  ], 'nothing on validating configurations: the default install has none')
  t.equal(config.certificates.validatingWebhookConfiguration, '', 'so the webhook publishes caBundle to none')
  for (const kind of ['RoleBinding', 'ClusterRoleBinding']) {
    const binding = as<V1RoleBinding>(only(objects, kind))
    t.same(binding.subjects, [{ kind: 'ServiceAccount', name: 'actortemplate-webhook', namespace: NS }])
  }
  const secret = only(objects, 'Secret', config.certificates.secretName)
  t.equal(secret['type'], 'Opaque', 'shipped empty: RBAC cannot limit create by name, so the webhook only updates it')
  t.equal(secret['data'], undefined)
})

t.test('base Deployment: HA, safe rollouts, HTTPS probes, resources, restricted security', async (t) => {
  const objects = objectsOf('base')
  const deployment = as<V1Deployment>(only(objects, 'Deployment'))
  const spec = deployment.spec
  const pod = spec?.template.spec
  const container = pod?.containers[0]
  t.equal(spec?.replicas, 2)
  t.same(spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } })
  t.equal(pod?.priorityClassName, 'system-cluster-critical')
  t.equal(pod?.serviceAccountName, 'actortemplate-webhook')
  const hostSpread = pod?.topologySpreadConstraints?.find((constraint) => constraint.topologyKey === 'kubernetes.io/hostname')
  t.match(hostSpread, { maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: spec?.selector.matchLabels } })
  t.same(spec?.template.metadata?.labels, spec?.selector.matchLabels)

  t.equal(pod?.containers.length, 1)
  t.same(container?.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }])
  for (const [probe, path] of [[container?.readinessProbe, '/readyz'], [container?.livenessProbe, '/healthz'], [container?.startupProbe, '/healthz']] as const) {
    t.same(probe?.httpGet, { path, port: 'https', scheme: 'HTTPS' }, `${path} over HTTPS on the 8443 port`)
  }
  t.ok((container?.lifecycle?.preStop?.sleep?.seconds ?? 0) > 0, 'preStop delay')
  const config = await configOf(objects)
  t.ok(config.server.shutdownDelaySeconds > 0, 'and a shutdown delay in the server')
  t.ok((pod?.terminationGracePeriodSeconds ?? 30) > (container?.lifecycle?.preStop?.sleep?.seconds ?? 0) + config.server.shutdownDelaySeconds + 10,
    'the grace period covers both delays and the drain')

  t.ok(container?.resources?.requests?.['cpu'] !== undefined && container.resources.requests['memory'] !== undefined, 'requests set')
  t.ok(container?.resources?.limits?.['memory'] !== undefined, 'memory limit')
  t.equal(container?.resources?.limits?.['cpu'], undefined, 'no CPU limit')

  t.match(pod?.securityContext, { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } })
  t.match(container?.securityContext, {
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }
  })
  t.equal(container?.securityContext?.privileged, undefined)
  t.equal(pod?.hostNetwork, undefined)

  const mounts = new Map((container?.volumeMounts ?? []).map((mount) => [mount.name, mount.mountPath]))
  const tlsDir = mounts.get('tls') ?? 'none'
  t.ok(config.server.tlsCert.startsWith(`${tlsDir}/`) && config.server.tlsKey.startsWith(`${tlsDir}/`), 'the cert files live on a writable volume')
  t.same(container?.env?.[0], { name: 'ATW_CONFIG', value: `${mounts.get('config') ?? ''}/config.yaml` })
  t.same(container?.env?.slice(1).map((variable) => variable.name), ['ATW_POD_NAMESPACE', 'ATW_SERVICE_NAME', 'ATW_CERTIFICATE_SECRET',
    'ATW_MUTATING_WEBHOOK_CONFIGURATION', 'ATW_VALIDATING_WEBHOOK_CONFIGURATION'], 'names an overlay can change (issue 14 §1)')
  t.equal(pod?.volumes?.find((volume) => volume.name === 'config')?.configMap?.name, only(objects, 'ConfigMap').metadata.name)

  const pdb = as<V1PodDisruptionBudget>(only(objects, 'PodDisruptionBudget'))
  t.equal(pdb.spec?.minAvailable, 1)
  t.same(pdb.spec?.selector?.matchLabels, spec?.selector.matchLabels)
})

t.test('base Service and webhook configuration: 443 to 8443, /mutate, the required settings', async (t) => {
  const objects = objectsOf('base')
  const service = as<V1Service>(only(objects, 'Service'))
  const deployment = as<V1Deployment>(only(objects, 'Deployment'))
  t.equal(service.metadata?.name, SERVICE)
  t.same(service.spec?.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }, { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }])
  t.same(service.spec?.selector, deployment.spec?.selector.matchLabels)
  const config = await configOf(objects)
  t.equal(only(objects, 'MutatingWebhookConfiguration').metadata.name, config.certificates.mutatingWebhookConfiguration)
  checkWebhookConfiguration(t, as<MutatingOrValidating>(only(objects, 'MutatingWebhookConfiguration')), MUTATING, '/mutate')
  const mutating = as<V1MutatingWebhookConfiguration>(only(objects, 'MutatingWebhookConfiguration')).webhooks?.[0]
  t.equal(mutating?.matchConditions?.length, 1, 'one condition: the reasons to call are OR-ed in it (conditions are AND-ed)')
  const expression = mutating?.matchConditions?.[0]?.expression ?? ''
  for (const part of ["object.spec.pauseImage.matches('@(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$')", 'object.spec.containers.exists(c,',
    "request.operation == 'UPDATE'", 'object.spec != oldObject.spec', "'ate.dev/pinned-images' in object.metadata.annotations"]) {
    t.ok(expression.includes(part), `the condition covers ${part}`)
  }
  t.equal(config.admission.annotationKey, 'ate.dev/pinned-images', 'the annotation the condition names is the one the webhook owns')
})

function checkWebhookConfiguration (t: Test, configuration: MutatingOrValidating, name: string, path: string): void {
  t.equal(configuration.metadata?.name, name)
  t.equal(configuration.webhooks?.length, 1)
  const webhook = configuration.webhooks?.[0]
  t.equal(webhook?.name, name)
  t.ok(name.split('.').length >= 3, 'a name of three or more segments')
  t.match(webhook, { admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10, matchPolicy: 'Equivalent' })
  t.same(webhook?.clientConfig, { service: { name: SERVICE, namespace: NS, path, port: 443 } }, 'no caBundle and no url in the manifests')
  t.same(webhook?.rules, [{ apiGroups: ['ate.dev'], apiVersions: ['v1alpha1'], resources: ['actortemplates'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }])
  t.same(webhook?.namespaceSelector, { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NS] }] })
  t.equal(webhook?.objectSelector, undefined, 'no objectSelector: labels must not opt out of a security rule')
}

type MutatingOrValidating = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration

t.test('base ConfigMap: a config the webhook accepts, naming the objects the manifests create', async (t) => {
  const objects = objectsOf('base')
  const config = await configOf(objects)
  t.equal(config.certificates.mode, 'self-managed')
  t.equal(config.certificates.serviceName, only(objects, 'Service').metadata.name)
  t.equal(config.certificates.namespace, NS, 'the pod namespace (downward API), so a namespace overlay cannot go stale here')
  t.notMatch(only(objects, 'ConfigMap')['data'], { 'config.yaml': /namespace:|serviceName:|secretName:/ }, 'no name in the file an overlay could leave behind')
  t.equal(config.server.port, 8443)
})

t.test('base NetworkPolicy: ingress to 8443 (and 9090 for the monitoring namespace), egress to DNS and to 443', async (t) => {
  const policy = as<V1NetworkPolicy>(only(objectsOf('base'), 'NetworkPolicy'))
  t.same(policy.spec?.policyTypes, ['Ingress', 'Egress'])
  t.same(policy.spec?.podSelector, { matchLabels: as<V1Deployment>(only(objectsOf('base'), 'Deployment')).spec?.selector.matchLabels })
  t.same(policy.spec?.ingress?.flatMap((rule) => rule.ports ?? []), [{ port: 8443, protocol: 'TCP' }, { port: 9090, protocol: 'TCP' }])
  const egressPorts = policy.spec?.egress?.flatMap((rule) => (rule.ports ?? []).map((port) => `${port.protocol ?? 'TCP'}/${String(port.port)}`))
  t.same(egressPorts, ['UDP/53', 'TCP/53', 'TCP/443', 'TCP/6443'])
  const blocks = policy.spec?.egress?.flatMap((rule) => rule.to ?? []).map((peer) => peer.ipBlock)
  t.ok(blocks?.every((block) => block?.except?.some((cidr) => cidr === '169.254.0.0/16' || cidr === 'fe80::/10')), 'no link-local (metadata) egress')
})

t.test('cert-manager overlay: Issuer + Certificate + cainjector, no self-managed access left', async (t) => {
  const objects = objectsOf('cert-manager')
  const config = await configOf(objects)
  t.equal(config.certificates.mode, 'files')
  const certificates = objects.filter((object) => object.kind === 'Certificate')
  t.same(objects.filter((object) => object.kind === 'Issuer').map((issuer) => issuer.metadata.name).sort(), ['actortemplate-webhook-ca', 'actortemplate-webhook-selfsigned'])
  const serving = certificates.find((certificate) => certificate.metadata.name === 'actortemplate-webhook-serving')
  const servingSpec = serving?.['spec'] as { secretName: string, dnsNames: string[], issuerRef: { name: string } } | undefined
  t.same(servingSpec?.dnsNames, [`${SERVICE}.${NS}.svc`, `${SERVICE}.${NS}.svc.cluster.local`])
  t.equal(servingSpec?.issuerRef.name, 'actortemplate-webhook-ca')
  t.equal(only(objects, 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/actortemplate-webhook-serving`)
  t.ok(objects.some((object) => object.kind === 'ValidatingAdmissionPolicy'), 'the policy is part of every install')
  const pod = as<V1Deployment>(only(objects, 'Deployment')).spec?.template.spec
  const tls = pod?.volumes?.find((volume) => volume.name === 'tls')
  t.same(tls, { name: 'tls', secret: { secretName: servingSpec?.secretName, defaultMode: 0o440 } }, 'the issued Secret replaces the emptyDir')
  t.equal(pod?.securityContext?.fsGroup, 65532, 'the non-root user can read the mounted key')
  t.notOk(objects.some((object) => object.kind === 'Secret'), 'no self-managed Secret')
  t.notOk(objects.some((object) => object.kind === 'ClusterRole' || object.kind === 'ClusterRoleBinding'), 'cainjector patches caBundle, not us')
  t.same(as<V1Role>(only(objects, 'Role')).rules?.map((rule) => rule.resourceNames), [['registry-credentials']])
})

t.test('base policy: the ValidatingAdmissionPolicy and its binding, denying, for ActorTemplates (issue 16 §2)', async (t) => {
  const objects = objectsOf('base')
  const policy = as<V1ValidatingAdmissionPolicy>(only(objects, 'ValidatingAdmissionPolicy'))
  const binding = as<V1ValidatingAdmissionPolicyBinding>(only(objects, 'ValidatingAdmissionPolicyBinding'))
  t.equal(policy.metadata?.name, 'pinned.actortemplates.ate.dev')
  t.equal(binding.spec?.policyName, policy.metadata?.name)
  t.same(binding.spec?.validationActions, ['Deny'])
  t.equal(binding.spec?.matchResources, undefined, 'every namespace, kube-system and the webhook\'s own included')
  t.equal(policy.spec?.failurePolicy, 'Fail')
  t.same(policy.spec?.matchConstraints?.resourceRules, [{ apiGroups: ['ate.dev'], apiVersions: ['v1alpha1'], resources: ['actortemplates'], operations: ['CREATE', 'UPDATE'] }])
  const validations = policy.spec?.validations ?? []
  t.same(validations.map((validation) => validation.expression), [
    "variables.containers.all(c, c.name != 'pause')", 'size(variables.duplicateNames) == 0', "variables.imageProblems.all(p, p == '')"
  ], 'the rules of /validate: reserved name, unique names, pinned well-formed images (what they do: test/deploy/vap-policy.test.ts)')
  t.ok(validations.every((validation) => validation.messageExpression !== undefined && validation.reason === 'Forbidden'), 'messages with the field, Forbidden like the webhook')
  for (const kind of ['Deployment', 'MutatingWebhookConfiguration', 'ClusterRole']) {
    t.ok(objectsOf('validating-webhook').some((object) => object.kind === kind), `the overlay keeps the ${kind}`)
  }
})

t.test('validating-webhook overlay: /validate, its caBundle name for the webhook and get/patch on it by name', async (t) => {
  const objects = objectsOf('validating-webhook')
  t.same(objects.map((object) => object.kind).sort(), [...objectsOf('base').map((object) => object.kind), 'ValidatingWebhookConfiguration'].sort(),
    'the default install plus the configuration (the policy stays)')
  checkWebhookConfiguration(t, as<MutatingOrValidating>(only(objects, 'ValidatingWebhookConfiguration')), VALIDATING, '/validate')
  const config = await configOf(objects)
  t.equal(config.certificates.validatingWebhookConfiguration, VALIDATING, 'the webhook publishes caBundle there too')
  t.same(as<V1ClusterRole>(only(objects, 'ClusterRole')).rules, [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [MUTATING], verbs: ['get', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [VALIDATING], verbs: ['get', 'patch'] }
  ])
  t.equal(as<V1ValidatingWebhookConfiguration>(only(objects, 'ValidatingWebhookConfiguration')).webhooks?.[0]?.matchConditions, undefined,
    '/validate is called for every request: it is the opt-in for the webhook\'s own wording on every template')
})

t.test('dev overlay: the kind registry, its mirror and port, the local image', async (t) => {
  const objects = objectsOf('dev')
  const config = await configOf(objects)
  t.same(config.registries.map(({ host, insecure, mirror }) => ({ host, insecure, mirror })), [{ host: 'localhost:5001', insecure: true, mirror: 'http://kind-registry:5000' }])
  const policy = as<V1NetworkPolicy>(only(objects, 'NetworkPolicy'))
  t.ok(policy.spec?.egress?.some((rule) => rule.ports?.some((port) => port.port === 5000)), 'egress to the mirror port')
  const container = as<V1Deployment>(only(objects, 'Deployment')).spec?.template.spec?.containers[0]
  t.equal(container?.image, 'localhost:5001/actortemplate-webhook:dev')
  t.equal(config.certificates.mode, 'self-managed')
})
