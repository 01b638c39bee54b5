import type { Config } from '../config.js'
import type { CredentialSource } from '../registry/credentials.js'
import type { KubeApi } from './api.js'
import type { CertificateManager, ManagerLog, ReadinessGate } from './certificate-manager.js'

/**
 * Everything `serve` needs from Kubernetes, in one call. The intended wiring (cli/serve.ts):
 *
 *   const kube = await startKubeIntegration(config, { readiness, log: logger })    // before startServer
 *   const credentials = credentialsFromConfig(config, onProblem, kube.credentialSources)
 *   const server = await startServer(config, { ..., readiness })
 *   kube.attachServer(server.reloadCertificates)
 *   ... finally: kube.close()
 *
 * With certificates.mode 'files' and no credentials.secrets it does nothing and needs no cluster. The Kubernetes client
 * and the certificate code are imported only past that check: loaded at start they cost every replica their memory
 * whether it uses them or not (issue 6).
 */

export interface KubeIntegration {
  /** pull-Secret credentials, first in precedence: pass as the `secrets` argument of credentialsFromConfig */
  credentialSources: CredentialSource[]
  /** the self-managed certificate manager, when certificates.mode is 'self-managed' */
  certificates: CertificateManager | undefined
  /** lets new certificate files reach the server at once, and readiness wait for it */
  attachServer: (reloadCertificates: () => Promise<unknown>) => void
  close: () => void
}

export interface KubeIntegrationDeps {
  readiness?: ReadinessGate
  log?: ManagerLog
  /** default: @kubernetes/client-node with the in-cluster service account (or $KUBECONFIG) */
  api?: KubeApi
  onProblem?: (message: string) => void
}

async function defaultApi (config: Pick<Config, 'kube'>): Promise<KubeApi> {
  const { createKubeApi } = await import('./client.js')
  return await createKubeApi({ requestTimeoutMs: config.kube.requestTimeoutSeconds * 1000 })
}

export async function startKubeIntegration (config: Pick<Config, 'certificates' | 'credentials' | 'kube' | 'server'>,
  deps: KubeIntegrationDeps = {}): Promise<KubeIntegration> {
  const selfManaged = config.certificates.mode === 'self-managed'
  const wantsSecrets = config.credentials.secrets.length > 0
  if (!selfManaged && !wantsSecrets) {
    return { credentialSources: [], certificates: undefined, attachServer: () => {}, close: () => {} }
  }
  const { certificateManagerFromConfig, pullSecretsFromConfig } = await import('./from-config.js')
  const api = deps.api ?? await defaultApi(config)
  const onProblem = deps.onProblem ?? ((message: string) => { deps.log?.warn({ problem: message }, 'registry credentials') })
  const pullSecrets = wantsSecrets ? pullSecretsFromConfig(config, api, onProblem) : undefined
  // Read in the background: lookups wait for the first read themselves, and a slow API must not delay serving.
  void pullSecrets?.start()
  const certificates = selfManaged ? await certificateManagerFromConfig(config, api, deps) : undefined
  try {
    await certificates?.start()
  } catch (error) {
    pullSecrets?.close()
    throw error
  }
  return {
    credentialSources: pullSecrets === undefined ? [] : [pullSecrets],
    certificates,
    attachServer: (reload) => { certificates?.setReloader(reload) },
    close: () => {
      certificates?.stop()
      pullSecrets?.close()
    }
  }
}
