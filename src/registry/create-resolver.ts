import type { Config } from '../config.js'
import { Authenticator } from './auth.js'
import type { CredentialSource } from './credentials.js'
import { ManifestClient } from './manifest-client.js'
import { RegistryResolver, type LookupEvent } from './resolver.js'
import { Transport, type ExchangeEvent } from './transport.js'

/** Where the registry shell reports what it did; src/http/metrics.ts implements both. */
export interface RegistryObserver {
  onLookup?: (event: LookupEvent) => void
  onExchange?: (event: ExchangeEvent) => void
}

export interface RegistryStack {
  resolver: RegistryResolver
  transport: Transport
  close: () => Promise<void>
}

/** Wires the registry shell once per process: one transport (keep-alive pools), one token cache, one resolver. */
export function createRegistryStack (config: Pick<Config, 'registries' | 'resolver'>, credentials: CredentialSource,
  observer: RegistryObserver = {}): RegistryStack {
  const transport = new Transport({
    perRequestTimeoutMs: config.resolver.perRequestTimeoutSeconds * 1000,
    userAgent: config.resolver.userAgent,
    connectionsPerOrigin: config.resolver.maxLookupsInFlightPerRegistry,
    // A registry may also need an Agent for its token realm.
    maxAgents: 2 * config.resolver.maxRegistryHosts,
    onExchange: observer.onExchange
  })
  const authenticator = new Authenticator({
    transport,
    credentials,
    limits: { maxRegistries: config.resolver.maxRegistryHosts, maxTokens: config.resolver.maxCachedTokens, maxTokenBytes: config.resolver.maxCachedTokenBytes }
  })
  const manifests = new ManifestClient({ transport, authenticator, method: config.resolver.manifestMethod })
  const resolver = new RegistryResolver({ config, manifests, ...(observer.onLookup === undefined ? {} : { onLookup: observer.onLookup }) })
  return { resolver, transport, close: async () => { await transport.close() } }
}
