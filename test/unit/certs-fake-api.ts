import { setImmediate as yieldTurn } from 'node:timers/promises'
import { KubeApiError, KubeErrorReason, type KubeApi, type SecretObject, type WebhookCaBundle, type WebhookConfigurationKind } from '../../src/kube/api.js'

/**
 * An in-memory KubeApi that behaves like the apiserver where it matters here: resourceVersions move on every write,
 * create conflicts when the object exists, replace conflicts on a stale resourceVersion. Every call yields a turn, so
 * concurrent callers interleave as they would over the network.
 */
export class FakeKubeApi implements KubeApi {
  readonly secrets = new Map<string, SecretObject>()
  readonly webhooks = new Map<string, WebhookCaBundle[]>()
  readonly calls: string[] = []
  /** runs before a call is served; throw to fail it, or write to race it */
  before: ((call: string) => void | Promise<void>) | undefined
  #version = 100

  addWebhookConfiguration (kind: WebhookConfigurationKind, name: string, webhooks: string[]): void {
    this.webhooks.set(`${kind}/${name}`, webhooks.map((webhook) => ({ name: webhook })))
  }

  caBundle (kind: WebhookConfigurationKind, name: string): string[] {
    return (this.webhooks.get(`${kind}/${name}`) ?? []).map((webhook) => Buffer.from(webhook.caBundle ?? '', 'base64').toString('utf8'))
  }

  count (prefix: string): number {
    return this.calls.filter((call) => call.startsWith(prefix)).length
  }

  async #enter (call: string): Promise<void> {
    this.calls.push(call)
    await yieldTurn()
    await this.before?.(call)
  }

  #store (namespace: string, secret: SecretObject): SecretObject {
    const stored = structuredClone({ ...secret, metadata: { ...secret.metadata, namespace, resourceVersion: String(++this.#version) } })
    this.secrets.set(`${namespace}/${secret.metadata.name}`, stored)
    return structuredClone(stored)
  }

  async readSecret (namespace: string, name: string): Promise<SecretObject | undefined> {
    await this.#enter(`readSecret ${namespace}/${name}`)
    const secret = this.secrets.get(`${namespace}/${name}`)
    return secret === undefined ? undefined : structuredClone(secret)
  }

  async createSecret (namespace: string, secret: SecretObject): Promise<SecretObject> {
    await this.#enter(`createSecret ${namespace}/${secret.metadata.name}`)
    if (this.secrets.has(`${namespace}/${secret.metadata.name}`)) throw new KubeApiError(KubeErrorReason.conflict, 'already exists', { status: 409 })
    return this.#store(namespace, secret)
  }

  async replaceSecret (namespace: string, secret: SecretObject): Promise<SecretObject> {
    await this.#enter(`replaceSecret ${namespace}/${secret.metadata.name}`)
    const current = this.secrets.get(`${namespace}/${secret.metadata.name}`)
    if (current === undefined) throw new KubeApiError(KubeErrorReason.notFound, 'not found', { status: 404 })
    if (current.metadata.resourceVersion !== secret.metadata.resourceVersion) {
      throw new KubeApiError(KubeErrorReason.conflict, 'the object has been modified', { status: 409 })
    }
    return this.#store(namespace, secret)
  }

  /** A write by someone else (another replica, a person). */
  async writeBehindTheBack (namespace: string, name: string, change: (secret: SecretObject) => SecretObject): Promise<void> {
    const current = this.secrets.get(`${namespace}/${name}`)
    if (current !== undefined) this.#store(namespace, change(structuredClone(current)))
  }

  async readWebhookCaBundles (kind: WebhookConfigurationKind, name: string): Promise<WebhookCaBundle[] | undefined> {
    await this.#enter(`readWebhookCaBundles ${kind}/${name}`)
    const webhooks = this.webhooks.get(`${kind}/${name}`)
    return webhooks === undefined ? undefined : structuredClone(webhooks)
  }

  async patchWebhookCaBundles (kind: WebhookConfigurationKind, name: string, webhooks: readonly string[], caBundle: string): Promise<void> {
    await this.#enter(`patchWebhookCaBundles ${kind}/${name}`)
    const stored = this.webhooks.get(`${kind}/${name}`)
    if (stored === undefined) throw new KubeApiError(KubeErrorReason.notFound, 'not found', { status: 404 })
    for (const webhook of stored) if (webhooks.includes(webhook.name)) webhook.caBundle = caBundle
  }
}

export class FakeReadiness {
  readonly blockers = new Map<string, string>()
  block (name: string, reason: string): void { this.blockers.set(name, reason) }
  unblock (name: string): void { this.blockers.delete(name) }
  get ready (): boolean { return this.blockers.size === 0 }
}
