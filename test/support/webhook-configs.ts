/**
 * The webhook configurations under test are the shipped ones: `kubectl kustomize` builds them, and only
 * each webhook's `clientConfig` is rewritten, so that the apiserver reaches the webhook process on loopback
 * (spec-checklist §D "Webhook registration in tests"). Rules, selectors, policies and timeouts stay as shipped.
 *
 *   const shipped = await shippedWebhookConfigurations(cluster)
 *   await applyObjects(cluster, withUrlClientConfig(shipped, { baseUrl: webhook.url, caPem }))
 */
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { Cluster } from './cluster.js'

export const MANIFESTS_DIR = fileURLToPath(new URL('../../manifests/', import.meta.url))
/**
 * The install with both webhook configurations: the default (manifests/, mutating only, the policy validates) plus
 * /validate (issue 16 §2). Tests of the webhook's own answers use it; outage tests use MANIFESTS_DIR.
 */
export const WITH_VALIDATING_WEBHOOK_DIR = fileURLToPath(new URL('../../manifests/overlays/validating-webhook/', import.meta.url))
export const MUTATING_KIND = 'MutatingWebhookConfiguration'
export const VALIDATING_KIND = 'ValidatingWebhookConfiguration'

export interface ClientConfig {
  url?: string
  service?: { name: string, namespace: string, path?: string, port?: number }
  caBundle?: string
}

export interface Webhook {
  name: string
  clientConfig: ClientConfig
  [field: string]: unknown
}

export interface WebhookConfiguration {
  apiVersion: string
  kind: typeof MUTATING_KIND | typeof VALIDATING_KIND
  metadata: { name: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  webhooks: Webhook[]
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string }
  [field: string]: unknown
}

type Kubectl = Pick<Cluster, 'kubectl'>

/** `kubectl kustomize DIR` with the cluster's own kubectl (what `kubectl apply -k` renders), parsed. */
export async function kustomize (cluster: Kubectl, dir: string = MANIFESTS_DIR): Promise<KubeObject[]> {
  const built = await cluster.kubectl(['kustomize', dir])
  if (built.code !== 0) throw new Error(`kubectl kustomize ${dir} failed (${String(built.code)}): ${built.stderr}`)
  return parseAllDocuments(built.stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(`kustomize output does not parse: ${document.errors.join('; ')}`)
    return document.toJS() as KubeObject
  })
}

function isWebhookConfiguration (object: KubeObject): object is KubeObject & WebhookConfiguration {
  return (object.kind === MUTATING_KIND || object.kind === VALIDATING_KIND) && Array.isArray(object['webhooks'])
}

/**
 * The webhook configurations of an install, as shipped: by default both (overlays/validating-webhook); manifests/
 * itself holds the MutatingWebhookConfiguration alone.
 */
export async function shippedWebhookConfigurations (cluster: Kubectl, dir: string = WITH_VALIDATING_WEBHOOK_DIR): Promise<WebhookConfiguration[]> {
  const configurations = (await kustomize(cluster, dir)).filter(isWebhookConfiguration)
  const expected = dir === WITH_VALIDATING_WEBHOOK_DIR ? [MUTATING_KIND, VALIDATING_KIND] : [MUTATING_KIND]
  for (const kind of expected) if (!configurations.some((c) => c.kind === kind)) throw new Error(`${dir} holds no ${kind}`)
  return configurations
}

/** The ValidatingAdmissionPolicy and its binding as the default install ships them. */
export async function shippedPolicy (cluster: Kubectl, dir: string = MANIFESTS_DIR): Promise<KubeObject[]> {
  const objects = (await kustomize(cluster, dir)).filter((object) => object.kind.startsWith('ValidatingAdmissionPolicy'))
  if (objects.length !== 2) throw new Error(`${dir} should hold the policy and its binding, found ${objects.length} objects`)
  return objects
}

function rewriteClientConfigs (configurations: readonly WebhookConfiguration[],
  rewrite: (clientConfig: ClientConfig, webhook: string) => ClientConfig): WebhookConfiguration[] {
  return configurations.map((configuration) => {
    const copy = structuredClone(configuration)
    for (const webhook of copy.webhooks) webhook.clientConfig = rewrite(webhook.clientConfig, webhook.name)
    return copy
  })
}

function servicePath (clientConfig: ClientConfig, webhook: string): string {
  const path = clientConfig.service?.path
  if (path === undefined) throw new Error(`webhook ${webhook} has no clientConfig.service.path to keep`)
  return path
}

/** clientConfig → `{ url: <baseUrl><the shipped service path>, caBundle: <caPem> }`. Nothing else changes. */
export function withUrlClientConfig (configurations: readonly WebhookConfiguration[],
  target: { baseUrl: string, caPem: string }): WebhookConfiguration[] {
  const caBundle = Buffer.from(target.caPem, 'utf8').toString('base64')
  return rewriteClientConfigs(configurations, (clientConfig, webhook) =>
    ({ url: `${target.baseUrl.replace(/\/$/, '')}${servicePath(clientConfig, webhook)}`, caBundle }))
}

/**
 * clientConfig.service kept, only its port changed (an unprivileged one instead of 443), and no caBundle: for the
 * self-managed certificates, whose serving certificate names <service>.<namespace>.svc and which patch caBundle in.
 */
export function withServicePort (configurations: readonly WebhookConfiguration[], port: number): WebhookConfiguration[] {
  return rewriteClientConfigs(configurations, (clientConfig, webhook) => {
    if (clientConfig.service === undefined) throw new Error(`webhook ${webhook} has no clientConfig.service`)
    return { service: { ...clientConfig.service, port } }
  })
}

/** The configuration with every clientConfig removed: what must equal the shipped one. */
export function withoutClientConfig (configuration: WebhookConfiguration): unknown {
  const copy = structuredClone(configuration) as { webhooks: Array<Record<string, unknown>> }
  for (const webhook of copy.webhooks) delete webhook['clientConfig']
  return copy
}

/** `kubectl apply -f -` (client-side) of the objects; throws with kubectl's stderr on failure. */
export async function applyObjects (cluster: Kubectl, objects: readonly object[], extraArgs: readonly string[] = []): Promise<string> {
  const applied = await cluster.kubectl(['apply', ...extraArgs, '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') })
  if (applied.code !== 0) throw new Error(`kubectl apply failed (${String(applied.code)}): ${applied.stderr}`)
  return applied.stdout
}
