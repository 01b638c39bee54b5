/**
 * The small slice of the Kubernetes API the webhook uses. client.ts implements it with @kubernetes/client-node;
 * tests implement it with an in-memory fake that keeps resourceVersions like the apiserver.
 */

export interface ObjectMeta {
  name: string
  namespace?: string | undefined
  resourceVersion?: string | undefined
  labels?: Record<string, string> | undefined
  annotations?: Record<string, string> | undefined
}

/** A core/v1 Secret as the API returns it: `data` values are base64. */
export interface SecretObject {
  metadata: ObjectMeta
  type?: string | undefined
  data?: Record<string, string> | undefined
}

export type WebhookConfigurationKind = 'mutating' | 'validating'

/** One webhook of a configuration, as far as caBundle goes. `caBundle` is base64 of the PEM bundle, as in the API. */
export interface WebhookCaBundle {
  name: string
  caBundle?: string | undefined
}

export interface KubeApi {
  /** undefined when the Secret does not exist */
  readSecret: (namespace: string, name: string) => Promise<SecretObject | undefined>
  /** throws KubeApiError 'conflict' when it already exists */
  createSecret: (namespace: string, secret: SecretObject) => Promise<SecretObject>
  /** optimistic concurrency: throws KubeApiError 'conflict' unless metadata.resourceVersion is the stored one */
  replaceSecret: (namespace: string, secret: SecretObject) => Promise<SecretObject>
  /** undefined when the configuration does not exist */
  readWebhookCaBundles: (kind: WebhookConfigurationKind, name: string) => Promise<WebhookCaBundle[] | undefined>
  /** sets caBundle (base64) on the named webhooks of one configuration */
  patchWebhookCaBundles: (kind: WebhookConfigurationKind, name: string, webhooks: readonly string[], caBundle: string) => Promise<void>
}

export const KubeErrorReason = {
  conflict: 'conflict',
  notFound: 'not-found',
  forbidden: 'forbidden',
  timeout: 'timeout',
  failed: 'failed'
} as const
export type KubeErrorReason = (typeof KubeErrorReason)[keyof typeof KubeErrorReason]

/** A failed Kubernetes API call; `reason` is what callers branch on, the message says which call and why. */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API_ERROR'
  readonly reason: KubeErrorReason
  readonly status: number | undefined
  constructor (reason: KubeErrorReason, message: string, options?: { status?: number | undefined, cause?: unknown }) {
    super(message, { cause: options?.cause })
    this.name = 'KubeApiError'
    this.reason = reason
    this.status = options?.status
  }
}

export function reasonForStatus (status: number | undefined): KubeErrorReason {
  if (status === 409) return KubeErrorReason.conflict
  if (status === 404) return KubeErrorReason.notFound
  if (status === 403 || status === 401) return KubeErrorReason.forbidden
  return KubeErrorReason.failed
}
