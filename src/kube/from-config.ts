import { readFile } from 'node:fs/promises'
import type { RotationPolicy, ServingNames } from '../certs/rotation.js'
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'
import type { KubeApi } from './api.js'
import type { WebhookConfigurationRef } from './ca-bundle.js'
import type { CertificateManager, ManagerLog, ReadinessGate } from './certificate-manager.js'
import { PullSecretCredentials } from './pull-secrets.js'
import { servingFileWriter } from './serving-files.js'

/**
 * Builds the Kubernetes-backed parts from the config. The server wiring (cli/serve.ts) is expected to do:
 *
 *   const api = await createKubeApi({ requestTimeoutMs: config.kube.requestTimeoutSeconds * 1000 })
 *   const pullSecrets = pullSecretsFromConfig(config, api, onProblem)        // when credentials.secrets is not empty
 *   const certificates = await certificateManagerFromConfig(config, api, { readiness, log })  // when mode is self-managed
 *   await certificates.start()             // resolves once server.tlsCert/tlsKey exist
 *   const server = await startServer(...)
 *   certificates.setReloader(server.reloadCertificates)
 *   ... on shutdown: certificates.stop(); pullSecrets.close()
 */

/** Where every pod finds its own namespace (the same file client-go reads in-cluster). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'

export async function webhookNamespace (config: Pick<Config, 'certificates'>, file = SERVICE_ACCOUNT_NAMESPACE_FILE): Promise<string> {
  if (config.certificates.namespace !== undefined) return config.certificates.namespace
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (error) {
    throw new ConfigError([`certificates.namespace is not set and the pod namespace cannot be read from ${file}: ${(error as Error).message}`])
  }
}

/** The apiserver dials <service>.<namespace>.svc and checks that name (spec-checklist §A TLS); the long form serves in-cluster clients. */
export function servingNames (service: string, namespace: string): ServingNames {
  return { dnsNames: [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`], ipAddresses: [] }
}

export function rotationPolicy (config: Pick<Config, 'certificates'>): RotationPolicy {
  const { caValidityDays, caRenewBeforeDays, leafValidityDays, leafRenewBeforeDays, caBundleSettleSeconds } = config.certificates
  return { caValidityDays, caRenewBeforeDays, leafValidityDays, leafRenewBeforeDays, caBundleSettleSeconds }
}

/**
 * The configurations that must carry caBundle. An empty validating name means the install has no validating webhook
 * (the manifests' default), so there is nothing to patch and nothing for readiness to wait for; RBAC grants nothing on it.
 */
export function webhookConfigurationRefs (config: Pick<Config, 'certificates'>): WebhookConfigurationRef[] {
  const { mutatingWebhookConfiguration, validatingWebhookConfiguration } = config.certificates
  return [
    { kind: 'mutating', name: mutatingWebhookConfiguration },
    ...(validatingWebhookConfiguration === '' ? [] : [{ kind: 'validating' as const, name: validatingWebhookConfiguration }])
  ]
}

export async function certificateManagerFromConfig (config: Pick<Config, 'certificates' | 'server'>, api: KubeApi,
  deps: { readiness?: ReadinessGate, log?: ManagerLog, namespaceFile?: string } = {}): Promise<CertificateManager> {
  const certificates = config.certificates
  const namespace = await webhookNamespace(config, deps.namespaceFile)
  // Loaded here, not at the top: it pulls in @peculiar/x509, which certificates.mode "files" never uses (issue 6, idle RSS).
  const { CertificateManager } = await import('./certificate-manager.js')
  return new CertificateManager({
    api,
    namespace,
    secretName: certificates.secretName,
    names: servingNames(certificates.serviceName, namespace),
    webhookConfigurations: webhookConfigurationRefs(config),
    policy: rotationPolicy(config),
    checkIntervalMs: certificates.checkIntervalSeconds * 1000,
    writeServingFiles: servingFileWriter(config.server.tlsCert, config.server.tlsKey),
    readiness: deps.readiness,
    log: deps.log
  })
}

export function pullSecretsFromConfig (config: Pick<Config, 'credentials' | 'kube'>, api: Pick<KubeApi, 'readSecret'>,
  onProblem: (message: string) => void): PullSecretCredentials {
  return new PullSecretCredentials(config.credentials.secrets, api, { refreshMs: config.kube.pullSecretRefreshSeconds * 1000, onProblem })
}
