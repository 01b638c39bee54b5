import type { Credential, CredentialSource } from '../credentials.js'
import { matchesHostPattern } from './host-pattern.js'

/** A provider that only answers for the host patterns it is bound to in the config. */
export class BoundProvider implements CredentialSource {
  constructor (private readonly hosts: readonly string[], private readonly provider: CredentialSource) {}

  async credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined> {
    if (!this.hosts.some((pattern) => matchesHostPattern(pattern, registry))) return undefined
    return await this.provider.credentialFor(registry, signal)
  }
}
