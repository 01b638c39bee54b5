import type { ConfigurationOptions, KubeConfig, ObservableMiddleware, V1Secret } from '@kubernetes/client-node'
import { KubeApiError, KubeErrorReason, reasonForStatus, type KubeApi, type SecretObject, type WebhookCaBundle } from './api.js'

/**
 * KubeApi over @kubernetes/client-node, the only module that touches it. Loaded lazily, so commands that never
 * talk to a cluster (check, pin, certs) do not pay for it.
 */

export interface KubeClientOptions {
  /** per call; the request is aborted, not just abandoned */
  requestTimeoutMs: number
  /** a loaded KubeConfig; default: in-cluster service account, else $KUBECONFIG / ~/.kube/config */
  kubeConfig?: KubeConfig | undefined
}

function describe (error: unknown, action: string): KubeApiError {
  const status = (error as { code?: unknown }).code
  const httpStatus = typeof status === 'number' ? status : undefined
  const body = (error as { body?: unknown }).body
  let detail = (error as Error).message
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown }
      if (typeof parsed.message === 'string') detail = parsed.message
    } catch {
      // a non-JSON body: the exception's own message says enough
    }
  }
  const aborted = (error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError'
  const reason = aborted ? KubeErrorReason.timeout : reasonForStatus(httpStatus)
  return new KubeApiError(reason, `${action}: ${httpStatus === undefined ? '' : `HTTP ${httpStatus}: `}${detail}`, { status: httpStatus, cause: error })
}

async function call<T> (action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw describe(error, action)
  }
}

async function orUndefined<T> (action: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(action, run)
  } catch (error) {
    if (error instanceof KubeApiError && error.reason === KubeErrorReason.notFound) return undefined
    throw error
  }
}

function toSecret (secret: V1Secret): SecretObject {
  const metadata = secret.metadata ?? {}
  return {
    metadata: {
      name: metadata.name ?? '',
      namespace: metadata.namespace,
      resourceVersion: metadata.resourceVersion,
      labels: metadata.labels,
      annotations: metadata.annotations
    },
    type: secret.type,
    data: secret.data
  }
}

function fromSecret (secret: SecretObject): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { ...secret.metadata }, type: secret.type, data: secret.data }
}

export async function createKubeApi (options: KubeClientOptions): Promise<KubeApi> {
  const k8s = await import('@kubernetes/client-node')
  const kubeConfig = options.kubeConfig ?? new k8s.KubeConfig()
  if (options.kubeConfig === undefined) kubeConfig.loadFromDefault()
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api)
  const admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api)

  const timeout: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(options.requestTimeoutMs))
      return new k8s.Observable(Promise.resolve(context))
    },
    post: (context) => new k8s.Observable(Promise.resolve(context))
  }
  const withTimeout: ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: 'append' }
  // Strategic merge keys webhooks by name (patchMergeKey), so the patch cannot land on the wrong entry if the list moved.
  const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch, withTimeout)

  const readWebhooks = async (kind: 'mutating' | 'validating', name: string): Promise<WebhookCaBundle[] | undefined> => {
    const configuration = await orUndefined(`read ${kind} webhook configuration ${name}`, async () => kind === 'mutating'
      ? await admission.readMutatingWebhookConfiguration({ name }, withTimeout)
      : await admission.readValidatingWebhookConfiguration({ name }, withTimeout))
    return configuration?.webhooks?.map((webhook) => ({ name: webhook.name, caBundle: webhook.clientConfig.caBundle }))
  }

  return {
    readSecret: async (namespace, name) => {
      const secret = await orUndefined(`read Secret ${namespace}/${name}`,
        async () => await core.readNamespacedSecret({ namespace, name }, withTimeout))
      return secret === undefined ? undefined : toSecret(secret)
    },
    createSecret: async (namespace, secret) => toSecret(await call(`create Secret ${namespace}/${secret.metadata.name}`,
      async () => await core.createNamespacedSecret({ namespace, body: fromSecret(secret) }, withTimeout))),
    replaceSecret: async (namespace, secret) => toSecret(await call(`update Secret ${namespace}/${secret.metadata.name}`,
      async () => await core.replaceNamespacedSecret({ namespace, name: secret.metadata.name, body: fromSecret(secret) }, withTimeout))),
    readWebhookCaBundles: readWebhooks,
    patchWebhookCaBundles: async (kind, name, webhooks, caBundle) => {
      const body = { webhooks: webhooks.map((webhook) => ({ name: webhook, clientConfig: { caBundle } })) }
      await call(`patch caBundle of ${kind} webhook configuration ${name}`, async () => kind === 'mutating'
        ? await admission.patchMutatingWebhookConfiguration({ name, body }, strategicMerge)
        : await admission.patchValidatingWebhookConfiguration({ name, body }, strategicMerge))
    }
  }
}
