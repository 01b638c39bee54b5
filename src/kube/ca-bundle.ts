import type { KubeApi, WebhookConfigurationKind } from './api.js'

export interface WebhookConfigurationRef {
  kind: WebhookConfigurationKind
  name: string
}

export interface PublishResult {
  /** every webhook of every configuration now holds the bundle */
  inPlace: boolean
  /** configurations (by name) whose caBundle this call changed */
  patched: string[]
  /** why the bundle is not in place, in words for the log and /readyz */
  problems: string[]
}

/**
 * Makes every webhook of the given configurations carry `bundlePem` as caBundle, patching only those that differ, then
 * reads them back: a patch that returned is not proof the stored object holds it (another writer may have followed).
 * A missing configuration is a problem, not an error: `kubectl apply -k` may create it a moment after the pods.
 */
export async function publishCaBundle (api: KubeApi, refs: readonly WebhookConfigurationRef[], bundlePem: string): Promise<PublishResult> {
  const caBundle = Buffer.from(bundlePem, 'utf8').toString('base64')
  const patched: string[] = []
  const problems: string[] = []
  for (const ref of refs) {
    const webhooks = await api.readWebhookCaBundles(ref.kind, ref.name)
    if (webhooks === undefined) {
      problems.push(`${ref.kind} webhook configuration ${ref.name} does not exist`)
      continue
    }
    if (webhooks.length === 0) {
      problems.push(`${ref.kind} webhook configuration ${ref.name} has no webhooks`)
      continue
    }
    const stale = webhooks.filter((webhook) => webhook.caBundle !== caBundle).map((webhook) => webhook.name)
    if (stale.length === 0) continue
    await api.patchWebhookCaBundles(ref.kind, ref.name, stale, caBundle)
    patched.push(ref.name)
    const after = await api.readWebhookCaBundles(ref.kind, ref.name)
    const still = (after ?? []).filter((webhook) => webhook.caBundle !== caBundle).map((webhook) => webhook.name)
    if (after === undefined) problems.push(`${ref.kind} webhook configuration ${ref.name} disappeared while patching caBundle`)
    else if (still.length > 0) problems.push(`${ref.kind} webhook configuration ${ref.name}: caBundle of ${still.join(', ')} did not take`)
  }
  return { inPlace: problems.length === 0, patched, problems }
}
