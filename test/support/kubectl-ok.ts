/**
 * kubectl for test set-up, where a failure is the test's own fault and should stop it with kubectl's words; and the
 * kubeconfig a webhook pod would have: its ServiceAccount's bound token and the apiserver's CA.
 */
import { writeFile } from 'node:fs/promises'
import type { KubectlResult } from './cluster.js'

interface Kubectl { kubectl: (args: string[], options?: { input?: string }) => Promise<KubectlResult> }

/** stdout of a kubectl that exited 0; otherwise throws with the command and its stderr. */
export async function kubectlOk (cluster: Kubectl, args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input })
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${String(result.code)}): ${result.stderr}`)
  return result.stdout
}

export interface ServiceAccountKubeconfig {
  namespace: string
  serviceAccount: string
  /** Where to write it (mode 0600: it holds a token). */
  file: string
}

/** Mints a 1-hour token for the ServiceAccount (TokenRequest) and writes a kubeconfig that authenticates with it alone. */
export async function writeServiceAccountKubeconfig (cluster: Kubectl & { server: string, caPem: string },
  { namespace, serviceAccount, file }: ServiceAccountKubeconfig): Promise<string> {
  const token = (await kubectlOk(cluster, ['create', 'token', serviceAccount, '-n', namespace, '--duration=1h'])).trim()
  await writeFile(file, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server: cluster.server, 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') } }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: serviceAccount, namespace } }],
    'current-context': 'e2e'
  }), { mode: 0o600 })
  return file
}
