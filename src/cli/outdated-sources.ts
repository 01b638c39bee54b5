import { isRecord } from '../admission/images.js'
import type { Config } from '../config.js'
import type { CredentialSource } from '../registry/credentials.js'
import { followedImages, type TemplateImages } from '../outdated/followed.js'
import type { ClusterOptions } from '../outdated/cluster-templates.js'
import { noTemplatesError, readSources, templatesIn } from './template-documents.js'
import type { Io } from './usage.js'

/** Where `outdated` reads templates from: the cluster (through @kubernetes/client-node) or files (issue 18). */

function metadataOf (object: Record<string, unknown>): { namespace: string | undefined, name: string } {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {}
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : typeof metadata['generateName'] === 'string' ? metadata['generateName'] : '(unnamed)'
  return { namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : undefined, name }
}

export interface Loaded {
  templates: TemplateImages[]
  /** pull-Secret credentials read through the same kubeconfig, when config credentials.secrets names any */
  secrets: CredentialSource[]
  close: () => void
}

export async function fromCluster (options: ClusterOptions, config: Pick<Config, 'admission' | 'credentials' | 'kube'>,
  io: Io): Promise<Loaded> {
  const { connectCluster } = await import('../outdated/cluster-templates.js')
  const cluster = await connectCluster(options)
  const objects = await cluster.list()
  // An empty answer is often the wrong namespace or context, not a clean cluster: say where we looked.
  if (objects.length === 0) {
    const scope = cluster.namespace === undefined ? 'in any namespace' : `in namespace ${cluster.namespace}`
    io.stderr(`note: no ActorTemplate ${scope}${options.labelSelector === undefined ? '' : ` matching ${options.labelSelector}`} at ${cluster.server}\n`)
  }
  const templates = objects.map((object) => {
    const { namespace, name } = metadataOf(object)
    return { template: { namespace, name, where: `${namespace ?? ''}/${name}` }, object, images: followedImages(object, config.admission.annotationKey) }
  })
  if (config.credentials.secrets.length === 0) return { templates, secrets: [], close: () => {} }
  // The webhook reads these Secrets with its own service account; here the user's kubeconfig must be allowed to.
  const [{ createKubeApi }, { pullSecretsFromConfig }] = await Promise.all([import('../kube/client.js'), import('../kube/from-config.js')])
  const api = await createKubeApi({ requestTimeoutMs: config.kube.requestTimeoutSeconds * 1000, kubeConfig: cluster.kubeConfig })
  const pullSecrets = pullSecretsFromConfig(config, api, (problem) => { io.stderr(`warning: ${problem}\n`) })
  return { templates, secrets: [pullSecrets], close: () => { pullSecrets.close() } }
}

export async function fromFiles (paths: readonly string[], config: Pick<Config, 'admission'>, io: Io): Promise<Loaded> {
  const sources = await readSources(paths, io)
  const { templates } = templatesIn(sources)
  if (templates.length === 0) throw noTemplatesError(sources)
  return {
    templates: templates.map((document) => ({
      template: { ...metadataOf(document.object), where: document.label, file: { name: document.source.name, index: document.documentIndex } },
      object: document.object,
      images: followedImages(document.object, config.admission.annotationKey)
    })),
    secrets: [],
    close: () => {}
  }
}
