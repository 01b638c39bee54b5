/**
 * Kustomize and the chart must install the same thing (issue 14 §2). Both are rendered, then each object is brought to
 * a comparable form by removing only the differences listed in DOCUMENTED_DIFFERENCES (the chart README's table), and
 * what is left must be equal field for field: names, kinds, RBAC rules, webhook rules, selectors, security context,
 * probes, ports, env, the config file's content.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parse } from 'yaml'
import { build, MANIFESTS, type K8sObject } from './kustomize.js'

export const DOCUMENTED_DIFFERENCES = [
  { what: 'labels helm.sh/chart, app.kubernetes.io/instance, app.kubernetes.io/version, app.kubernetes.io/managed-by', why: 'Helm\'s own bookkeeping; selectors do not use them' },
  { what: 'the ConfigMap\'s content-hash name suffix (kustomize) / the pod annotation checksum/config (chart)', why: 'two ways to roll the pods when the config changes' },
  { what: 'config.yaml\'s comments and key order', why: 'the chart renders the file from values; its content is compared' },
  { what: 'no Namespace object in the chart', why: 'Helm installs into a namespace (--create-namespace); label it for Pod Security (README)' },
  { what: 'metadata.namespace on cluster-scoped kinds', why: 'kustomize sets one on kinds it does not know; the apiserver drops it' },
  { what: 'the order of the pod\'s volumes', why: 'a list keyed by name; overlays/cert-manager\'s patch moves tls first' },
  { what: 'the order of the container\'s env entries', why: 'a list keyed by name, and no value refers to another with $(NAME); overlays/validating-webhook\'s patch moves its entry first' },
  { what: 'labels on the cert-manager Issuers and Certificates', why: 'the chart labels every object; overlays/cert-manager\'s own resources get no labels' }
] as const

const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by']
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'Namespace'])
const CONFIG_MAP_HASH = /-[a-z0-9]{10}$/

type Json = Record<string, unknown>

function withoutHelmLabels (labels: Record<string, string> | undefined): Record<string, string> | undefined {
  if (labels === undefined) return undefined
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !HELM_LABELS.includes(key)))
}

function podTemplate (object: Json): Json | undefined {
  return ((object['spec'] as Json | undefined)?.['template'] as Json | undefined)
}

/**
 * env sorted by name: its order matters only to a value that refers to an earlier entry ($(NAME)), so with such a
 * value the order is kept and compared.
 */
function envByName<T extends { name: string, value?: string }> (env: T[]): T[] {
  if (env.some((variable) => variable.value?.includes('$(') === true)) return env
  return env.toSorted((a, b) => a.name.localeCompare(b.name))
}

/** The object with the documented differences taken out; everything else as rendered. */
export function comparable (object: K8sObject): K8sObject {
  const copy = structuredClone(object)
  copy.metadata.labels = copy.apiVersion.startsWith('cert-manager.io/') ? undefined : withoutHelmLabels(copy.metadata.labels)
  if (CLUSTER_SCOPED.has(copy.kind)) delete copy.metadata.namespace
  if (copy.kind === 'ConfigMap') {
    copy.metadata.name = copy.metadata.name.replace(CONFIG_MAP_HASH, '')
    const data = copy['data'] as Record<string, string>
    copy['data'] = Object.fromEntries(Object.entries(data).map(([key, text]) => [key, key.endsWith('.yaml') ? parse(text) : text]))
  }
  const template = podTemplate(copy)
  if (copy.kind === 'Deployment' && template !== undefined) {
    const metadata = template['metadata'] as { labels?: Record<string, string>, annotations?: Record<string, string> }
    metadata.labels = withoutHelmLabels(metadata.labels)
    if (metadata.annotations !== undefined) {
      delete metadata.annotations['checksum/config']
      if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations
    }
    const spec = template['spec'] as Json
    const volumes = (spec['volumes'] ?? []) as Array<{ name: string, configMap?: { name: string } }>
    for (const volume of volumes) if (volume.configMap !== undefined) volume.configMap.name = volume.configMap.name.replace(CONFIG_MAP_HASH, '')
    spec['volumes'] = volumes.toSorted((a, b) => a.name.localeCompare(b.name))
    for (const container of (spec['containers'] ?? []) as Array<{ env?: Array<{ name: string, value?: string }> }>) {
      if (container.env !== undefined) container.env = envByName(container.env)
    }
  }
  return copy
}

export const key = (object: K8sObject): string => `${object.kind}/${object.metadata.name}`

/** The objects by kind/name in comparable form; the chart leaves the Namespace to Helm. */
export function comparableSet (objects: readonly K8sObject[]): Map<string, K8sObject> {
  return new Map(objects.filter((object) => object.kind !== 'Namespace').map(comparable).map((object) => [key(object), object]))
}

/** `image` without its tag or digest: what a kustomize `images:` entry matches on. */
export function imageName (image: string): string {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.indexOf(':', lastSlash + 1)
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon)
}

/**
 * `target` (a folder of manifests/) with the image set as an admin would (an overlay's `images:`), rendered with the
 * kubectl on PATH (or $ATW_KUBECTL).
 */
export async function renderKustomizeWithImage (target: string, image: { repository: string, digest: string }): Promise<K8sObject[]> {
  const plain = await build(join(MANIFESTS, target))
  const deployment = plain.find((object) => object.kind === 'Deployment') as
    { spec: { template: { spec: { containers: Array<{ image: string }> } } } } | undefined
  const shipped = deployment?.spec.template.spec.containers[0]?.image
  if (shipped === undefined) throw new Error(`${target}: no Deployment with a container image`)
  const dir = await mkdtemp(join(tmpdir(), 'atw-drift-'))
  try {
    await writeFile(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
      'resources:', `  - ${relative(dir, join(MANIFESTS, target))}`,
      'images:', `  - name: ${imageName(shipped)}`, `    newName: ${image.repository}`, `    digest: ${image.digest}`, ''
    ].join('\n'))
    return await build(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
