import { registrySettings, type Config, type RegistryConfig } from '../config.js'

/** Where one registry (as written in references) is actually asked, and with which settings. */
export interface Endpoint {
  /** host[:port] as written, or "docker.io": the key for config, credentials and messages */
  registry: string
  /**
   * where the distribution API is spoken to: a configured mirror, or https:// (http:// when insecure) + host. A
   * mirror's path (`https://harbor.corp.example/dockerhub-proxy`) is kept, with a trailing slash, so two mirrors on one
   * origin stay apart in every key built from it.
   */
  baseUrl: URL
  settings: RegistryConfig
}

export function endpointFor (config: Pick<Config, 'registries'>, registry: string, endpointHost: string): Endpoint {
  const settings = registrySettings(config, registry)
  const baseUrl = new URL(settings.mirror ?? `${settings.insecure ? 'http' : 'https'}://${endpointHost}`)
  if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname = `${baseUrl.pathname}/`
  return { registry, baseUrl, settings }
}

/**
 * The repository name as the endpoint knows it. A mirror's path is a project of the proxy (Harbor proxy-cache
 * projects, Artifactory remote repositories): `https://harbor.corp.example/dockerhub-proxy` serves `library/nginx`
 * as `dockerhub-proxy/library/nginx`, in the URL (`/v2/dockerhub-proxy/library/nginx/manifests/…`) and in token scopes.
 */
export function repositoryAt (endpoint: Endpoint, repository: string): string {
  const prefix = endpoint.baseUrl.pathname.replace(/^\/+|\/+$/g, '')
  return prefix === '' ? repository : `${prefix}/${repository}`
}

/** Credentials may travel in clear only to a registry its admin marked insecure. */
export function mayCarryCredentials (url: URL, endpoint: Endpoint): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && endpoint.settings.insecure)
}
