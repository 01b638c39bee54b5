/**
 * issue 18: manifests/components/drift, as an admin adds it (manifests/components/drift/kustomization.yaml): in an
 * overlay of their own with another namespace and a name prefix, over manifests/ or one of its overlays. The
 * ClusterRole is list-only on ActorTemplates and its binding follows the renamed ServiceAccount; the overlay's own
 * config.yaml, replacing the generated one as documented, turns the report on in what the pod would load.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { V1ClusterRole, V1ClusterRoleBinding, V1Deployment } from '@kubernetes/client-node'
import t from 'tap'
import { buildClusterBinaries } from '../support/cluster.js'
import { build, MANIFESTS, only, type K8sObject } from './kustomize.js'
import { podConfig } from './pod-config.js'

const NAMESPACE = 'platform-webhooks'
const PREFIX = 'acme-'
const TARGETS = ['', 'overlays/cert-manager', 'overlays/validating-webhook'] as const
const COMPONENT = join(MANIFESTS, 'components', 'drift')

// kubectl 1.37's kustomize, the one the e2e cluster is built with (ATW_KUBECTL wins).
const kubectl = process.env['ATW_KUBECTL'] ?? `${await buildClusterBinaries()}/kubectl`

/** An admin's overlay in a temp dir: namespace, prefix, `target` and the component, plus `extra` lines and files. */
async function renderWithComponent (target: string, extra: { lines?: string[], files?: Record<string, string> } = {}): Promise<K8sObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'atw-drift-overlay-'))
  try {
    const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', `namespace: ${NAMESPACE}`, `namePrefix: ${PREFIX}`,
      'resources:', `  - ${relative(dir, join(MANIFESTS, target))}`, 'components:', `  - ${relative(dir, COMPONENT)}`, ...extra.lines ?? []]
    await writeFile(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`)
    for (const [name, text] of Object.entries(extra.files ?? {})) await writeFile(join(dir, name), text)
    return await build(dir, kubectl)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

for (const target of TARGETS) {
  t.test(`${target === '' ? 'manifests/' : target} + the drift component, namespace ${NAMESPACE}, prefix ${PREFIX}`, async (t) => {
    const objects = await renderWithComponent(target)
    const role = only(objects, 'ClusterRole', `${PREFIX}actortemplate-webhook-drift`) as unknown as V1ClusterRole
    t.same(role.rules, [{ apiGroups: ['ate.dev'], resources: ['actortemplates'], verbs: ['list'] }], 'list on ActorTemplates, nothing else')
    const binding = only(objects, 'ClusterRoleBinding', `${PREFIX}actortemplate-webhook-drift`) as unknown as V1ClusterRoleBinding
    t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${PREFIX}actortemplate-webhook-drift` })
    const serviceAccount = only(objects, 'ServiceAccount')
    t.same(binding.subjects, [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: NAMESPACE }], 'the renamed ServiceAccount in the new namespace')
    const deployment = only(objects, 'Deployment') as unknown as V1Deployment
    t.equal(deployment.spec?.template.spec?.serviceAccountName, serviceAccount.metadata.name, 'the one the pods run as')
    t.match(role.metadata?.labels, { 'app.kubernetes.io/name': 'actortemplate-webhook', 'app.kubernetes.io/part-of': 'actortemplate-webhook' })
    const config = await podConfig(objects)
    t.equal(config.drift.intervalMinutes, 0, 'the component alone grants the permission; the report stays off until config.yaml turns it on')
  })
}

t.test('the documented way to turn it on: the overlay\'s own config.yaml replaces the generated one', async (t) => {
  const base = await readFile(join(MANIFESTS, 'base', 'config.yaml'), 'utf8')
  const objects = await renderWithComponent('', {
    lines: ['configMapGenerator:', '  - name: actortemplate-webhook-config', '    behavior: replace', '    files:', '      - config.yaml'],
    files: { 'config.yaml': `${base}drift:\n  intervalMinutes: 60\n` }
  })
  const config = await podConfig(objects)
  t.same(config.drift, { intervalMinutes: 60, lookupTimeoutSeconds: 60 }, 'what the pod loads')
  t.equal(config.certificates.namespace, NAMESPACE, 'the rest of the install still follows the overlay')
  const map = only(objects, 'ConfigMap')
  const deployment = only(objects, 'Deployment') as unknown as V1Deployment
  t.ok(deployment.spec?.template.spec?.volumes?.some((volume) => volume.configMap?.name === map.metadata.name), 'the Deployment mounts the replaced ConfigMap (new hash, so the pods roll)')
})
