import { loadConfig, type Config, type RegistryConfig } from '../../src/config.js'
import { createRegistryStack, type RegistryStack } from '../../src/registry/create-resolver.js'
import { StaticCredentials, type Credential, type CredentialSource } from '../../src/registry/credentials.js'
import type { LookupEvent } from '../../src/registry/resolver.js'
import type { Registry, Teardown } from './registry.js'

/**
 * Registry settings that let our client reach a test registry exactly as an admin would configure it: its token server
 * listens on another port, another origin, so it is listed in allowedRealmHosts (issue 13 §2).
 */
export function registryConfigFor (registry: Pick<Registry, 'host' | 'tls' | 'caFile'> & { tokenServer?: { realm: string } | undefined },
  extra: Partial<RegistryConfig> = {}): Partial<RegistryConfig> & { host: string } {
  const realm = registry.tokenServer === undefined ? {} : { allowedRealmHosts: [new URL(registry.tokenServer.realm).host] }
  return registry.tls
    ? { host: registry.host, ...(registry.caFile === undefined ? {} : { caFile: registry.caFile }), ...realm, ...extra }
    : { host: registry.host, insecure: true, ...realm, ...extra }
}

export interface HarnessOptions {
  registries: Array<Partial<RegistryConfig> & { host: string }>
  credentials?: CredentialSource | Map<string, Credential>
  resolver?: Partial<Config['resolver']>
}

export interface Harness extends RegistryStack {
  config: Readonly<Config>
  events: LookupEvent[]
}

/** Our real registry stack (transport, auth, resolver) configured from a plain object, closed at teardown. */
export function startResolver (t: Teardown, options: HarnessOptions): Harness {
  const base = loadConfig({}, {})
  const config: Readonly<Config> = {
    ...base,
    registries: options.registries.map((registry) => ({ insecure: false, allowLinkLocal: false, allowedRealmHosts: [], ...registry })),
    // These tests count registry requests per lookup; reusing answers across a burst has its own tests.
    resolver: { ...base.resolver, retryBaseDelayMs: 10, burstWindowMs: 0, ...options.resolver }
  }
  const credentials = options.credentials instanceof Map ? new StaticCredentials(options.credentials) : options.credentials ?? new StaticCredentials()
  const events: LookupEvent[] = []
  const stack = createRegistryStack(config, credentials, { onLookup: (event) => events.push(event) })
  t.teardown(stack.close)
  return { ...stack, config, events }
}
