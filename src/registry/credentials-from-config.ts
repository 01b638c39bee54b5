import type { Config } from '../config.js'
import { ChainedCredentials, DockerConfigFile, type CredentialSource } from './credentials.js'

/** The file-based sources named in the config, in their listed order; Secrets are added by the Kubernetes shell. */
export function credentialsFromConfig (config: Pick<Config, 'credentials'>, onProblem: (message: string) => void,
  extra: readonly CredentialSource[] = []): CredentialSource {
  return new ChainedCredentials([
    ...extra,
    ...config.credentials.dockerConfigFiles.map((path) => new DockerConfigFile(path, onProblem))
  ])
}
