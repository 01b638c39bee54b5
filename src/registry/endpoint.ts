import { registrySettings, type Config, type RegistryConfig } from '../config.js'

/** Where one registry (as written in references) is actually asked, and with which settings. */
export interface Endpoint {
  /** host[:port] as written, or "docker.io": the key for config, credentials and messages */
  registry: string
  /** origin the distribution API is spoken to: a configured mirror, or https:// (http:// when insecure) + host */
  baseUrl: URL
  settings: RegistryConfig
}

export function endpointFor (config: Pick<Config, 'registries'>, registry: string, endpointHost: string): Endpoint {
  const settings = registrySettings(config, registry)
  const baseUrl = new URL(settings.mirror ?? `${settings.insecure ? 'http' : 'https'}://${endpointHost}`)
  return { registry, baseUrl, settings }
}

/** Credentials may travel in clear only to a registry its admin marked insecure. */
export function mayCarryCredentials (url: URL, endpoint: Endpoint): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && endpoint.settings.insecure)
}
