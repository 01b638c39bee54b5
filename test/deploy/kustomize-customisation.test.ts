/**
 * issue 14 §1: an admin's overlay with another namespace and a name prefix, over manifests/ and each overlay an admin
 * would install, leaves no reference behind. Every string of every rendered object is checked against the default
 * namespace and the default object names (stale-references.ts, exceptions listed there), then the references that
 * matter are checked to name the renamed objects, including what the webhook pod would load as its config.
 */
import type { V1ClusterRole, V1Deployment, V1MutatingWebhookConfiguration, V1Role, V1RoleBinding } from '@kubernetes/client-node'
import t, { type Test } from 'tap'
import { servingNames } from '../../src/kube/from-config.js'
import { buildClusterBinaries } from '../support/cluster.js'
import { DEFAULT_NAMESPACE, renderEditedCopy, renderOverlay } from './customise.js'
import { build, MANIFESTS, only, type K8sObject } from './kustomize.js'
import { podConfig } from './pod-config.js'
import { ALLOWED, staleNamespaceFields, staleReferences } from './stale-references.js'

const NAMESPACE = 'platform-webhooks'
const PREFIX = 'acme-'
const TARGETS = ['', 'overlays/cert-manager', 'overlays/validating-webhook'] as const
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'])
const as = <T>(object: K8sObject): T => object as unknown as T

// kubectl 1.37's kustomize, the one the e2e cluster is built with (ATW_KUBECTL wins).
const kubectl = process.env['ATW_KUBECTL'] ?? `${await buildClusterBinaries()}/kubectl`
t.comment(`allowed exceptions:\n${ALLOWED.map((allowed) => `  ${String(allowed.path)}: ${allowed.why}`).join('\n')}`)

/** The default namespace and every default object name (bar the Namespace's, which is the namespace). */
async function staleNames (target: string): Promise<Set<string>> {
  const defaults = await build(`${MANIFESTS}${target}`, kubectl)
  return new Set([DEFAULT_NAMESPACE, ...defaults.map((object) => object.metadata.name)])
}

function checkReferences (t: Test, objects: readonly K8sObject[], namespace: string, prefix: string): void {
  for (const object of objects) {
    if (object.kind === 'Namespace') t.equal(object.metadata.name, namespace, 'the Namespace')
    else t.ok(object.metadata.name.startsWith(prefix), `${object.kind}/${object.metadata.name} takes the prefix`)
    // kustomize (v5.8.1) does not know these two kinds are cluster-scoped; the apiserver drops the field (e2e test).
    if (!CLUSTER_SCOPED.has(object.kind)) t.equal(object.metadata.namespace, namespace, `${object.kind}/${object.metadata.name} namespace`)
  }
  const serviceAccount = only(objects, 'ServiceAccount')
  for (const binding of objects.filter((object) => object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding')) {
    t.same(as<V1RoleBinding>(binding).subjects, [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace }], `${binding.kind} subject`)
  }
  const service = only(objects, 'Service')
  const configurations = objects.filter((object) => object.kind.endsWith('WebhookConfiguration'))
  t.equal(configurations.length, objects.some((object) => object.kind === 'ValidatingWebhookConfiguration') ? 2 : 1)
  const policy = only(objects, 'ValidatingAdmissionPolicy')
  t.equal((only(objects, 'ValidatingAdmissionPolicyBinding')['spec'] as { policyName?: string }).policyName, policy.metadata.name, 'the binding names the renamed policy')
  for (const configuration of configurations) {
    for (const webhook of as<V1MutatingWebhookConfiguration>(configuration).webhooks ?? []) {
      t.match(webhook.clientConfig.service, { name: service.metadata.name, namespace }, `${webhook.name}: the renamed Service`)
      t.same(webhook.namespaceSelector?.matchExpressions?.[0]?.values, ['kube-system', namespace], `${webhook.name}: skips the new namespace`)
    }
  }
  const deployment = as<V1Deployment>(only(objects, 'Deployment'))
  t.equal(deployment.spec?.template.spec?.serviceAccountName, serviceAccount.metadata.name)
  t.equal(deployment.spec?.template.spec?.volumes?.find((volume) => volume.name === 'config')?.configMap?.name, only(objects, 'ConfigMap').metadata.name)
  const clusterRole = objects.find((object) => object.kind === 'ClusterRole')
  if (clusterRole !== undefined) {
    t.same(as<V1ClusterRole>(clusterRole).rules?.flatMap((rule) => rule.resourceNames ?? []).sort(),
      configurations.map((configuration) => configuration.metadata.name).sort(), 'the ClusterRole names the renamed webhook configurations')
  }
}

async function checkPodConfig (t: Test, objects: readonly K8sObject[], namespace: string): Promise<void> {
  const config = await podConfig(objects)
  t.same(config.credentials.secrets, [{ namespace, name: 'registry-credentials' }], 'the pull Secret is read in the new namespace (you create it, so no prefix)')
  t.equal(config.certificates.namespace, namespace)
  t.equal(config.certificates.serviceName, only(objects, 'Service').metadata.name)
  t.equal(config.certificates.mutatingWebhookConfiguration, only(objects, 'MutatingWebhookConfiguration').metadata.name)
  const validating = objects.find((object) => object.kind === 'ValidatingWebhookConfiguration')
  t.equal(config.certificates.validatingWebhookConfiguration, validating?.metadata.name ?? '', 'the validating configuration, or none')
  if (config.certificates.mode === 'self-managed') {
    const secret = only(objects, 'Secret')
    t.equal(config.certificates.secretName, secret.metadata.name, 'the self-managed Secret')
    t.same(as<V1Role>(only(objects, 'Role')).rules?.[0]?.resourceNames, [secret.metadata.name], 'and the Role that lets the webhook update it')
    t.comment(`self-managed serving names: ${servingNames(config.certificates.serviceName, namespace).dnsNames.join(', ')}`)
  }
}

function checkCertManager (t: Test, objects: readonly K8sObject[], namespace: string): void {
  const service = only(objects, 'Service').metadata.name
  const certificates = objects.filter((object) => object.kind === 'Certificate')
  const serving = certificates.find((certificate) => (certificate['spec'] as { dnsNames?: string[] }).dnsNames !== undefined)
  t.same((serving?.['spec'] as { dnsNames?: string[] } | undefined)?.dnsNames, servingNames(service, namespace).dnsNames,
    'the names the apiserver dials, derived as the self-managed mode does (src/kube/from-config.ts)')
  t.equal(only(objects, 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from'], `${namespace}/${serving?.metadata.name ?? 'none'}`)
  const issuers = new Set(objects.filter((object) => object.kind === 'Issuer').map((issuer) => issuer.metadata.name))
  for (const certificate of certificates) {
    const issuer = (certificate['spec'] as { issuerRef: { name: string } }).issuerRef.name
    t.ok(issuers.has(issuer), `${certificate.metadata.name}: its Issuer ${issuer} exists`)
  }
}

for (const target of TARGETS) {
  t.test(`an admin's overlay (namespace ${NAMESPACE}, namePrefix ${PREFIX}) over manifests/${target}`, async (t) => {
    const objects = await renderOverlay(target, { namespace: NAMESPACE, namePrefix: PREFIX }, kubectl)
    t.same(staleReferences(objects, await staleNames(target)), [], 'no string names the default namespace or a default object name')
    checkReferences(t, objects, NAMESPACE, PREFIX)
    await checkPodConfig(t, objects, NAMESPACE)
    if (target === 'overlays/cert-manager') checkCertManager(t, objects, NAMESPACE)
  })

  t.test(`manifests/${target} with its kustomizations' namespace edited`, async (t) => {
    const objects = await renderEditedCopy(target, NAMESPACE, kubectl)
    t.same(staleNamespaceFields(objects, NAMESPACE), [], 'every namespace field holds the new namespace')
    checkReferences(t, objects, NAMESPACE, '')
    await checkPodConfig(t, objects, NAMESPACE)
    if (target === 'overlays/cert-manager') checkCertManager(t, objects, NAMESPACE)
  })
}

t.test('the checker itself finds what the issue lists, on the manifests as they were', async (t) => {
  const before: K8sObject[] = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'acme-x', namespace: NAMESPACE }, subjects: [{ kind: 'ServiceAccount', name: 'actortemplate-webhook', namespace: DEFAULT_NAMESPACE }] },
    { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'acme-c', namespace: NAMESPACE }, spec: { dnsNames: ['actortemplate-webhook.actortemplate-webhook.svc'] } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'acme-cm', namespace: NAMESPACE }, data: { 'config.yaml': 'credentials:\n  secrets:\n    - namespace: actortemplate-webhook\n' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'acme-s', namespace: NAMESPACE, labels: { 'app.kubernetes.io/name': 'actortemplate-webhook' } } }
  ]
  t.same(staleReferences(before, new Set([DEFAULT_NAMESPACE])).map((finding) => `${finding.object} ${finding.path}`), [
    'RoleBinding/acme-x subjects.0.name', 'RoleBinding/acme-x subjects.0.namespace', 'Certificate/acme-c spec.dnsNames.0',
    'ConfigMap/acme-cm data.config.yaml.credentials.secrets.0.namespace'
  ], 'the label is an allowed exception; every other old name is found')
})
