import type { Config } from '../config.js'
import { ChainedCredentials, DockerConfigFile, type CredentialSource } from './credentials.js'
import { BoundProvider } from './providers/bound-provider.js'
import { CredentialHelper } from './providers/credential-helper.js'
import { GoogleIdentity } from './providers/google-identity.js'

/**
 * The documented precedence: Secrets (passed in by the Kubernetes shell as `secrets`), then config.json files, then
 * the identity provider bound to the host, then anonymous (no credential).
 */
export function credentialsFromConfig (config: Pick<Config, 'credentials'>, onProblem: (message: string) => void,
  secrets: readonly CredentialSource[] = []): CredentialSource {
  const { credentials } = config
  let google: GoogleIdentity | undefined
  const providers = credentials.providers.map((binding) => {
    if (binding.provider === 'google') {
      google ??= new GoogleIdentity({
        metadataTokenUrl: credentials.google.metadataTokenUrl,
        serviceAccount: credentials.google.serviceAccount,
        timeoutMs: credentials.google.timeoutSeconds * 1000
      })
      return new BoundProvider(binding.hosts, google)
    }
    const name = binding.provider.slice('helper:'.length)
    return new BoundProvider(binding.hosts, new CredentialHelper({
      name,
      path: credentials.helpers.paths[name],
      timeoutMs: credentials.helpers.timeoutSeconds * 1000,
      cacheMs: credentials.helpers.cacheSeconds * 1000
    }))
  })
  return new ChainedCredentials([
    ...secrets,
    ...credentials.dockerConfigFiles.map((path) => new DockerConfigFile(path, onProblem, undefined, undefined, {
      timeoutMs: credentials.helpers.timeoutSeconds * 1000,
      cacheMs: credentials.helpers.cacheSeconds * 1000
    })),
    ...providers
  ])
}
