import type { Config } from '../config.js'
import { Authenticator } from './auth.js'
import type { CredentialSource } from './credentials.js'
import { ManifestClient } from './manifest-client.js'
import { RegistryResolver, type LookupEvent } from './resolver.js'
import { Transport } from './transport.js'

export interface RegistryStack {
  resolver: RegistryResolver
  transport: Transport
  close: () => Promise<void>
}

/** Wires the registry shell once per process: one transport (keep-alive pools), one token cache, one resolver. */
export function createRegistryStack (config: Pick<Config, 'registries' | 'resolver'>, credentials: CredentialSource,
  onLookup?: (event: LookupEvent) => void): RegistryStack {
  const transport = new Transport({ perRequestTimeoutMs: config.resolver.perRequestTimeoutSeconds * 1000, userAgent: config.resolver.userAgent })
  const authenticator = new Authenticator({ transport, credentials })
  const manifests = new ManifestClient({ transport, authenticator, method: config.resolver.manifestMethod })
  const resolver = new RegistryResolver({ config, manifests, ...(onLookup === undefined ? {} : { onLookup }) })
  return { resolver, transport, close: async () => { await transport.close() } }
}
