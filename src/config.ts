import { readFileSync } from 'node:fs'
import type { ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from './errors.js'
// src/config-schema.ts compiled ahead of time (scripts/generate-validators.ts; issue 17 §3: serve loads no ajv compiler)
// with allErrors, useDefaults and verbose: each error carries its parentSchema, where an unknown key finds the keys
// allowed beside it.
import { validateConfig } from './generated/config-validator.js'

/**
 * The only reader of process.env. Config comes from defaults < file (--config / ATW_CONFIG) < environment < flags,
 * is validated once against one schema (unknown keys are errors), then frozen.
 */

export interface SecretRef { namespace: string, name: string }

export interface RegistryConfig {
  /** host[:port] exactly as written in image references, e.g. "localhost:5001" or "ghcr.io" */
  host: string
  /** plain HTTP; credentials may only travel in clear to a registry marked insecure */
  insecure: boolean
  /** PEM bundle trusted in addition to the system roots */
  caFile?: string
  /** look this registry up at another base URL (e.g. http://kind-registry:5000, or with a proxy project's path:
   * https://harbor.corp.example/dockerhub-proxy); the written reference is unchanged */
  mirror?: string
  /** allow this registry (or its mirror) to live on a link-local address; off by default against SSRF */
  allowLinkLocal: boolean
  /** token realms other than the registry's own host that may receive this registry's credentials */
  allowedRealmHosts: string[]
}

export interface ProviderBinding {
  /** "google" (GKE Workload Identity) or "helper:<name>" (docker-credential-<name>) */
  provider: string
  /** host patterns; `*` matches one DNS label or part of one, e.g. "*.gcr.io", "*-docker.pkg.dev" */
  hosts: string[]
}

export interface CredentialsConfig {
  /** docker config.json files (auths / base64 auth); read at start and re-read when they change */
  dockerConfigFiles: string[]
  /** kubernetes.io/dockerconfigjson Secrets, read through the Kubernetes API and watched; a namespace left out is certificates.namespace */
  secrets: SecretRef[]
  /** identity providers, consulted after Secrets and config.json found nothing for a host */
  providers: ProviderBinding[]
  google: {
    /** the GKE metadata server's token endpoint; configurable so tests can use a loopback fixture */
    metadataTokenUrl: string
    /** shown in logs and denials: whose identity was presented */
    serviceAccount: string
    timeoutSeconds: number
  }
  helpers: {
    timeoutSeconds: number
    cacheSeconds: number
    /** explicit paths per helper name; otherwise docker-credential-<name> is looked up on PATH */
    paths: Record<string, string>
  }
}

export interface CertificatesConfig {
  /**
   * 'files': serve server.tlsCert/tlsKey as they are (cert-manager, `certs`, local runs: no cluster needed).
   * 'self-managed': keep a CA and serving certificate in a Secret, write them to server.tlsCert/tlsKey and patch caBundle;
   * the manifests' default (manifests/README.md).
   */
  mode: 'files' | 'self-managed'
  /** the webhook's namespace; when absent, ATW_POD_NAMESPACE (the manifests' downward API), else read from the service-account mount */
  namespace?: string
  /** the Service in front of the webhook: the certificate names <serviceName>.<namespace>.svc[.cluster.local] */
  serviceName: string
  secretName: string
  mutatingWebhookConfiguration: string
  /** '' when the install has none (the manifests' default: the ValidatingAdmissionPolicy validates); caBundle goes only where there is a name */
  validatingWebhookConfiguration: string
  caValidityDays: number
  /** a new CA is made this long before the current one expires; must exceed leafRenewBeforeDays */
  caRenewBeforeDays: number
  leafValidityDays: number
  leafRenewBeforeDays: number
  /** after a new CA is seen in both caBundles, wait this long for every apiserver to load it before serving a leaf it signed */
  caBundleSettleSeconds: number
  /** how often each replica re-reads the Secret and caBundles (sooner when a rotation step is due) */
  checkIntervalSeconds: number
}

export interface Config {
  server: {
    host: string
    port: number
    tlsCert: string
    tlsKey: string
    bodyLimitBytes: number
    shutdownDelaySeconds: number
    requestTimeoutSeconds: number
    headersTimeoutSeconds: number
    /** idle keep-alive sockets close after this; the apiserver reuses connections between admissions */
    keepAliveTimeoutSeconds: number
    /** how often the cert and key files are re-read (file watches trigger earlier reloads where they work) */
    certReloadIntervalSeconds: number
    /** /metrics is served here, plain HTTP, apart from the admission port (issue 13 §5); 0 picks a free port */
    metricsHost: string
    metricsPort: number
  }
  admission: {
    /** cap on the registry budget of one admission, whatever the apiserver's ?timeout= says */
    maxResolveSeconds: number
    /** kept back from the apiserver's ?timeout= so our answer arrives before it gives up */
    safetyMarginMs: number
    annotationKey: string
    /**
     * The CRD's maxItems, enforced by the apiserver only AFTER mutating webhooks run: checked here first so a hostile
     * template is denied before any registry request (issue 13 §1).
     */
    maxContainers: number
    /** containers plus the pause image */
    maxImageReferences: number
  }
  resolver: {
    /** 0 = off: every CREATE asks the registry, so a moved tag is noticed at once */
    cacheTtlSeconds: number
    /**
     * An answer is also reused by identical lookups that start within this many ms after it arrived, cache or not:
     * single flight stretched over a burst, so 100 identical CREATEs cost one registry request by construction.
     */
    burstWindowMs: number
    /**
     * 0 = off. When a lookup fails because the registry is down, slow or rate limiting us (never for 401, 403 or 404:
     * those are answers), a digest this replica got from the registry for the same lookup at most this many seconds
     * ago is used instead, with a warning, an audit annotation and a metric (issue 16 §3). Availability during an
     * outage, paid for with a digest that may be this old; off by default because a moved tag then goes unnoticed.
     */
    staleIfErrorSeconds: number
    maxAttempts: number
    retryBaseDelayMs: number
    perRequestTimeoutSeconds: number
    /** 'head' trusts Docker-Content-Digest and spares Docker Hub pull quota; 'get' hashes every manifest */
    manifestMethod: 'head' | 'get'
    userAgent: string
    /** lookups in flight across all admissions; more wait in line within their deadline (issue 13 §1) */
    maxLookupsInFlight: number
    /** the same per registry; also undici's connections per origin, so one registry never gets more sockets */
    maxLookupsInFlightPerRegistry: number
    /** registries remembered at once: connection pools (the least recently used is closed), challenges, Retry-After */
    maxRegistryHosts: number
    /** tag → digest answers kept for cacheTtlSeconds / burstWindowMs, least recently used forgotten first */
    maxCachedDigests: number
    /** registry tokens kept until shortly before they expire, bounded in count and in characters */
    maxCachedTokens: number
    maxCachedTokenBytes: number
  }
  registries: RegistryConfig[]
  credentials: CredentialsConfig
  certificates: CertificatesConfig
  kube: {
    /** one Kubernetes API call; the certificate loop retries after a failure */
    requestTimeoutSeconds: number
    /** how often the pull Secrets in credentials.secrets are re-read (a changed resourceVersion is re-parsed) */
    pullSecretRefreshSeconds: number
  }
  /** issue 18: periodic scan of the cluster's ActorTemplates for moved tags, exported as metrics */
  drift: {
    /** minutes between scans; 0 = off (the default), and serve then never loads the Kubernetes client for it */
    intervalMinutes: number
    /** one scan's registry budget, for all its lookups together */
    lookupTimeoutSeconds: number
  }
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

/** Where a value came from when it was not the file: instancePath ("/server/port") → `ATW_PORT="70000"` or `--port 70000`. */
type Origins = Map<string, string>

function describe (error: ErrorObject, origins: Origins): string {
  const where = error.instancePath === '' ? 'config' : error.instancePath.slice(1).replaceAll('/', '.')
  const origin = origins.get(error.instancePath)
  const from = origin === undefined ? '' : ` (from ${origin})`
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params['additionalProperty'])
    const nearest = nearestKey(key, allowedKeys(error.parentSchema))
    return `${where}: unknown key ${JSON.stringify(key)}${nearest === undefined ? '' : ` (did you mean ${JSON.stringify(nearest)}?)`}`
  }
  if (error.keyword === 'enum') {
    const allowed = error.params['allowedValues']
    if (Array.isArray(allowed)) return `${where}: must be one of ${allowed.map(String).join(', ')}${from}`
  }
  return `${where}: ${error.message ?? 'is invalid'}${from}`
}

function allowedKeys (schema: unknown): string[] {
  const properties = schema !== null && typeof schema === 'object' ? (schema as { properties?: unknown }).properties : undefined
  return properties !== null && typeof properties === 'object' ? Object.keys(properties) : []
}

/** The allowed key a typo most likely meant: smallest edit distance, ignoring case, and close enough to be a typo. */
function nearestKey (key: string, allowed: readonly string[]): string | undefined {
  let best: { key: string, distance: number } | undefined
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (best === undefined || distance < best.distance) best = { key: candidate, distance }
  }
  if (best === undefined) return undefined
  // registry → registries is 3 edits over 10 characters; colour → host is not a typo.
  return best.distance <= Math.max(1, Math.floor(Math.max(key.length, best.key.length) / 3)) ? best.key : undefined
}

/** Levenshtein distance, one row at a time. */
function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** Settings given on the command line; they win over file and environment. */
export interface ConfigOverrides {
  configFile?: string | undefined
  port?: number | undefined
  host?: string | undefined
  tlsCert?: string | undefined
  tlsKey?: string | undefined
  insecureRegistries?: readonly string[] | undefined
  logLevel?: string | undefined
}

function readConfigFile (path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`])
  }
  try {
    return parseYaml(text) ?? {}
  } catch (error) {
    throw new ConfigError([`config file ${path} is not valid YAML: ${(error as Error).message}`])
  }
}

type Json = Record<string, unknown>

function section (raw: Json, key: string): Json {
  const value = raw[key]
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Json
  const created: Json = {}
  raw[key] = created
  return created
}

/** A value from a flag or the environment: what it is, and how to name it in a message (`--port 70000`, `ATW_PORT="abc"`). */
interface Given { value: string, origin: string, notANumber: string }

/** The flag's value if given, else the environment variable's. */
function pick (flag: string | undefined, flagValue: string | number | undefined, variable: string, env: NodeJS.ProcessEnv): Given | undefined {
  if (flag !== undefined && flagValue !== undefined) {
    const value = String(flagValue)
    return { value, origin: `${flag} ${value}`, notANumber: `${flag} ${JSON.stringify(value)} is not a number` }
  }
  const value = env[variable]
  if (value === undefined) return undefined
  const origin = `${variable}=${JSON.stringify(value)}`
  return { value, origin, notANumber: `${origin} is not a number` }
}

function applyOverrides (raw: Json, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, problems: string[], origins: Origins): void {
  const server = section(raw, 'server')
  const setString = (target: Json, path: string, key: string, given: Given | undefined): void => {
    if (given === undefined) return
    target[key] = given.value
    origins.set(path, given.origin)
  }
  const setNumber = (path: string, key: string, given: Given | undefined): void => {
    if (given === undefined) return
    const number = Number(given.value)
    if (!Number.isInteger(number)) {
      problems.push(given.notANumber)
      return
    }
    server[key] = number
    origins.set(path, given.origin)
  }
  setNumber('/server/port', 'port', pick('--port', overrides.port, 'ATW_PORT', env))
  setString(server, '/server/host', 'host', pick('--host', overrides.host, 'ATW_HOST', env))
  // `npm start` keeps /metrics on loopback like the webhook; a pod keeps the file's 0.0.0.0 for its scraper.
  setString(server, '/server/metricsHost', 'metricsHost', pick(undefined, undefined, 'ATW_METRICS_HOST', env))
  setNumber('/server/metricsPort', 'metricsPort', pick(undefined, undefined, 'ATW_METRICS_PORT', env))
  setString(server, '/server/tlsCert', 'tlsCert', pick('--tls-cert', overrides.tlsCert, 'ATW_TLS_CERT', env))
  setString(server, '/server/tlsKey', 'tlsKey', pick('--tls-key', overrides.tlsKey, 'ATW_TLS_KEY', env))
  setString(raw, '/logLevel', 'logLevel', pick('--log-level', overrides.logLevel, 'ATW_LOG_LEVEL', env))

  applyInstallNames(raw, env, origins)

  const insecure = [...(env['ATW_INSECURE_REGISTRIES']?.split(',').filter(Boolean) ?? []), ...(overrides.insecureRegistries ?? [])]
  if (insecure.length > 0) {
    const registries = Array.isArray(raw['registries']) ? raw['registries'] as Json[] : []
    raw['registries'] = registries
    const fromEnv = new Set(env['ATW_INSECURE_REGISTRIES']?.split(',') ?? [])
    for (const host of insecure) {
      const existing = registries.find((registry) => registry['host'] === host)
      if (existing !== undefined) {
        existing['insecure'] = true
        continue
      }
      registries.push({ host, insecure: true })
      const origin = (overrides.insecureRegistries ?? []).includes(host) || !fromEnv.has(host)
        ? `--insecure-registry ${host}`
        : `ATW_INSECURE_REGISTRIES=${JSON.stringify(env['ATW_INSECURE_REGISTRIES'])}`
      origins.set(`/registries/${registries.length - 1}/host`, origin)
    }
  }
}

/**
 * Names kustomize renames with an overlay's namespace/namePrefix (issue 14 §1): the manifests pass them as environment
 * variables (the namespace through the downward API) because kustomize cannot edit names inside the config file.
 * ATW_POD_NAMESPACE only fills certificates.namespace when the file leaves it out, and that namespace fills the pull
 * Secrets listed without one; the four names override the file, as any variable does.
 */
const INSTALL_NAMES = {
  ATW_SERVICE_NAME: 'serviceName',
  ATW_CERTIFICATE_SECRET: 'secretName',
  ATW_MUTATING_WEBHOOK_CONFIGURATION: 'mutatingWebhookConfiguration',
  ATW_VALIDATING_WEBHOOK_CONFIGURATION: 'validatingWebhookConfiguration'
} as const

function applyInstallNames (raw: Json, env: NodeJS.ProcessEnv, origins: Origins): void {
  const certificates = section(raw, 'certificates')
  for (const [variable, key] of Object.entries(INSTALL_NAMES)) {
    const value = env[variable]
    if (value === undefined) continue
    certificates[key] = value
    origins.set(`/certificates/${key}`, `${variable}=${JSON.stringify(value)}`)
  }
  const fromPod = env['ATW_POD_NAMESPACE']
  if (fromPod !== undefined && fromPod !== '' && (certificates['namespace'] === undefined || certificates['namespace'] === null)) {
    certificates['namespace'] = fromPod
    origins.set('/certificates/namespace', `ATW_POD_NAMESPACE=${JSON.stringify(fromPod)}`)
  }
  // A pull Secret without a namespace is the webhook's own, however that was given.
  const namespace = certificates['namespace']
  if (typeof namespace !== 'string') return
  const secrets = section(raw, 'credentials')['secrets']
  if (!Array.isArray(secrets)) return
  for (const secret of secrets as unknown[]) {
    if (secret !== null && typeof secret === 'object' && !Array.isArray(secret)) (secret as Json)['namespace'] ??= namespace
  }
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** Builds the frozen config or throws a ConfigError listing every problem. */
export function loadConfig (overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const configFile = overrides.configFile ?? env['ATW_CONFIG']
  const loaded = configFile === undefined ? {} : readConfigFile(configFile)
  if (loaded === null || typeof loaded !== 'object' || Array.isArray(loaded)) {
    throw new ConfigError([`config file ${configFile ?? ''} must hold a mapping at the top level`])
  }
  const raw = structuredClone(loaded) as Json
  const problems: string[] = []
  const origins: Origins = new Map()
  applyOverrides(raw, overrides, env, problems, origins)
  if (!validateConfig(raw)) problems.push(...(validateConfig.errors ?? []).map((error) => describe(error, origins)))
  if (problems.length > 0) throw new ConfigError(problems)
  const config = raw as unknown as Config
  const hosts = new Set<string>()
  for (const registry of config.registries) {
    if (hosts.has(registry.host)) problems.push(`registries: host ${registry.host} is listed twice`)
    hosts.add(registry.host)
  }
  const certificates = config.certificates
  if (certificates.caRenewBeforeDays >= certificates.caValidityDays) problems.push('certificates: caRenewBeforeDays must be less than caValidityDays')
  if (certificates.leafRenewBeforeDays >= certificates.leafValidityDays) problems.push('certificates: leafRenewBeforeDays must be less than leafValidityDays')
  // A leaf is capped at its CA's expiry; if the CA were renewed later than the leaf, that capped leaf would always be due.
  if (certificates.leafRenewBeforeDays >= certificates.caRenewBeforeDays) problems.push('certificates: leafRenewBeforeDays must be less than caRenewBeforeDays')
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze(config)
}

/** Per-registry settings for a host[:port]; registries not listed get the secure defaults. */
export function registrySettings (config: Pick<Config, 'registries'>, host: string): RegistryConfig {
  return config.registries.find((registry) => registry.host === host) ??
    { host, insecure: false, allowLinkLocal: false, allowedRealmHosts: [] }
}
