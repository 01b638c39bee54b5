/**
 * The deployed webhook as an admin sees it through kubectl: apply, rollout status, the ready replicas, the caBundle
 * the webhook published, and its image pushed with `npm run image -- --push` (scripts/image.sh) into the cluster's
 * registry. Everything goes through NodeCluster.kubectl, i.e. inside the cluster's network namespace.
 */
import { REPO_ROOT } from './cluster.js'
import { builtImage } from './image.js'
import type { NodeCluster } from './node-cluster.js'

export const NAMESPACE = 'actortemplate-webhook'
export const DEPLOYMENT = 'actortemplate-webhook'
const SELECTOR = 'app.kubernetes.io/name=actortemplate-webhook,app.kubernetes.io/component=webhook'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function kubectlOk (cluster: NodeCluster, args: string[], timeoutMs = 120_000): Promise<string> {
  const result = await cluster.kubectl(args, { timeoutMs })
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${String(result.code)}): ${result.stderr}${result.stdout}`)
  return result.stdout
}

/**
 * Builds the image on the machine (the build needs the npm registry; cached by its inputs), then pushes it from
 * inside the namespace, where the registry is. Returns REGISTRY/REPO@sha256:… as the script printed it.
 */
export async function pushWebhookImage (cluster: NodeCluster): Promise<string> {
  await builtImage()
  const script = `${REPO_ROOT}scripts/image.sh`
  const pushed = await cluster.runInNetns(['bash', script, '--push', `${cluster.registryHost}/actortemplate-webhook`, '--tls-verify=false'], { timeoutMs: 10 * 60_000 })
  if (pushed.code !== 0) throw new Error(`scripts/image.sh --push failed: ${pushed.stderr.split('\n').slice(-30).join('\n')}`)
  return pushed.stdout.trim().split('\n').at(-1) ?? ''
}

export async function applyOverlay (cluster: NodeCluster, dir: string): Promise<string> {
  return await kubectlOk(cluster, ['apply', '-k', dir])
}

/** `kubectl rollout status`; returns how long it took. */
export async function rolloutStatus (cluster: NodeCluster, timeoutMs = 300_000): Promise<number> {
  const started = performance.now()
  await kubectlOk(cluster, ['-n', NAMESPACE, 'rollout', 'status', `deployment/${DEPLOYMENT}`, `--timeout=${Math.round(timeoutMs / 1000)}s`], timeoutMs + 10_000)
  return Math.round(performance.now() - started)
}

interface PodList {
  items: Array<{
    metadata: { name: string, deletionTimestamp?: string }
    status?: { conditions?: Array<{ type: string, status: string }> }
  }>
}

/** Names of the webhook pods that are Ready and not terminating. */
export async function readyPods (cluster: NodeCluster): Promise<string[]> {
  const pods = JSON.parse(await kubectlOk(cluster, ['-n', NAMESPACE, 'get', 'pods', '-l', SELECTOR, '-o', 'json'])) as PodList
  return pods.items
    .filter((pod) => pod.metadata.deletionTimestamp === undefined && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true)
    .map((pod) => pod.metadata.name)
}

/** Names of all webhook pods, terminating ones included. */
export async function allPods (cluster: NodeCluster): Promise<string[]> {
  return (await kubectlOk(cluster, ['-n', NAMESPACE, 'get', 'pods', '-l', SELECTOR, '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter((name) => name !== '')
}

/** Polls until `check` holds; returns the time it took. */
export async function until (what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return Math.round(performance.now() - started)
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(500)
  }
}

export interface CaBundles {
  mutating: string
  /** undefined when there is no validate.actortemplates.ate.dev (the default install: the policy validates) */
  validating: string | undefined
  /** ca-bundle.crt of the certificate Secret, base64 as the API shows it. */
  secret: string
}

export async function caBundles (cluster: NodeCluster): Promise<CaBundles> {
  const bundle = async (kind: string, name: string): Promise<string> =>
    await kubectlOk(cluster, ['get', kind, name, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}'])
  return {
    mutating: await bundle('mutatingwebhookconfiguration', 'pin.actortemplates.ate.dev'),
    validating: (await cluster.kubectl(['get', 'validatingwebhookconfiguration', 'validate.actortemplates.ate.dev', '-o', 'name'])).code === 0
      ? await bundle('validatingwebhookconfiguration', 'validate.actortemplates.ate.dev')
      : undefined,
    secret: await kubectlOk(cluster, ['-n', NAMESPACE, 'get', 'secret', 'actortemplate-webhook-certs', '-o', 'jsonpath={.data.ca-bundle\\.crt}'])
  }
}
