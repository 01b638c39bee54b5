import type { ConfigurationOptions, KubeConfig, ObservableMiddleware } from '@kubernetes/client-node'
import { actorTemplateKind } from '../admission/target.js'
import { isRecord } from '../admission/images.js'
import { KubeApiError, KubeErrorReason, reasonForStatus } from '../kube/api.js'

/**
 * Reads ActorTemplates from a cluster for `outdated` (issue 18) through @kubernetes/client-node, loaded lazily like
 * src/kube/client.ts so commands that never talk to a cluster do not pay for it. Read-only: `list` is the only verb used.
 */

export interface ClusterOptions {
  /** a kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account (kubectl's order) */
  kubeconfig?: string | undefined
  context?: string | undefined
  /** default: the context's namespace, else "default", as kubectl does */
  namespace?: string | undefined
  allNamespaces: boolean
  labelSelector?: string | undefined
  requestTimeoutMs: number
}

export interface ClusterTemplates {
  kubeConfig: KubeConfig
  /** undefined with --all-namespaces */
  namespace: string | undefined
  /** the apiserver's URL, for messages */
  server: string
  list: () => Promise<Array<Record<string, unknown>>>
}

// Large clusters answer in pages rather than one response of every template (API concepts, "Retrieving large results").
const pageSize = 250
const plural = 'actortemplates'

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
      // not JSON: the exception's message says enough
    }
  }
  const aborted = (error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError'
  return new KubeApiError(aborted ? KubeErrorReason.timeout : reasonForStatus(httpStatus),
    `${action}: ${httpStatus === undefined ? '' : `HTTP ${httpStatus}: `}${detail}`, { status: httpStatus, cause: error })
}

export async function connectCluster (options: ClusterOptions): Promise<ClusterTemplates> {
  const k8s = await import('@kubernetes/client-node')
  const kubeConfig = new k8s.KubeConfig()
  try {
    if (options.kubeconfig === undefined) kubeConfig.loadFromDefault()
    else kubeConfig.loadFromFile(options.kubeconfig)
    if (options.context !== undefined) {
      if (kubeConfig.getContextObject(options.context) === null) throw new Error(`no context ${JSON.stringify(options.context)} in the kubeconfig`)
      kubeConfig.setCurrentContext(options.context)
    }
  } catch (error) {
    throw new KubeApiError(KubeErrorReason.failed, `cannot load the kubeconfig${options.kubeconfig === undefined ? '' : ` ${options.kubeconfig}`}: ${(error as Error).message}`, { cause: error })
  }
  const namespace = options.allNamespaces
    ? undefined
    : options.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default'
  const api = kubeConfig.makeApiClient(k8s.CustomObjectsApi)
  const { group, version } = actorTemplateKind
  const where = namespace === undefined ? 'in all namespaces' : `in namespace ${namespace}`
  const timeout: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(options.requestTimeoutMs))
      return new k8s.Observable(Promise.resolve(context))
    },
    post: (context) => new k8s.Observable(Promise.resolve(context))
  }
  const withTimeout: ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: 'append' }
  const page = async (continueToken: string | undefined): Promise<unknown> => {
    const common = { group, version, plural, limit: pageSize, _continue: continueToken, labelSelector: options.labelSelector }
    return namespace === undefined
      ? await api.listCustomObjectForAllNamespaces(common, withTimeout)
      : await api.listNamespacedCustomObject({ ...common, namespace }, withTimeout)
  }
  return {
    kubeConfig,
    namespace,
    server: kubeConfig.getCurrentCluster()?.server ?? '(no server)',
    list: async () => {
      const templates: Array<Record<string, unknown>> = []
      let continueToken: string | undefined
      do {
        let answer: unknown
        try {
          answer = await page(continueToken)
        } catch (error) {
          throw describe(error, `list ActorTemplates ${where}`)
        }
        const items = isRecord(answer) && Array.isArray(answer['items']) ? answer['items'] : []
        // List items carry no apiVersion and kind (the list has them); the report and --write need them back.
        for (const item of items) if (isRecord(item)) templates.push({ apiVersion: `${group}/${version}`, kind: actorTemplateKind.kind, ...item })
        const metadata = isRecord(answer) && isRecord(answer['metadata']) ? answer['metadata'] : {}
        continueToken = typeof metadata['continue'] === 'string' && metadata['continue'] !== '' ? metadata['continue'] : undefined
      } while (continueToken !== undefined)
      return templates
    }
  }
}
