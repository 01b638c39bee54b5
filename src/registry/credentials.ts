import { readFile, stat } from 'node:fs/promises'
import { parseJsonText } from './json-text.js'
import { CredentialHelper, CredentialHelperError } from './providers/credential-helper.js'

/**
 * Registry credentials keyed by the registry host as written in image references ("docker.io" for Docker Hub).
 * Sources are consulted in order; the first that knows the host wins (README "Credentials" documents the order).
 */

export interface Credential {
  username: string
  password: string
  /** where it came from, for logs and denials; never the secret itself */
  source: string
  /** what to do when the registry refuses it, e.g. which IAM role to grant */
  advice?: string
}

export interface CredentialSource {
  /** `signal` is the admission's deadline: a provider that runs a process or asks a server stops at it (issue 13 §1) */
  credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined>
}

// Every spelling of Docker Hub shares one credential (issue 13 §2; README "Docker Hub credentials").
const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'])

/** `https://index.docker.io/v1/`, `ghcr.io`, `http://localhost:5001/v2` → the host[:port] references use. */
export function normaliseAuthKey (key: string): string {
  const withoutScheme = key.trim().replace(/^[a-z]+:\/\//i, '')
  const host = withoutScheme.split('/')[0]?.toLowerCase() ?? ''
  return dockerHubAliases.has(host) ? 'docker.io' : host
}

function decodeAuthField (auth: string): { username: string, password: string } | undefined {
  const decoded = Buffer.from(auth, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * Parses a docker config.json (also the `.dockerconfigjson` of a kubernetes.io/dockerconfigjson Secret).
 * Entries without usable credentials are skipped and reported in `problems` so a typo is visible in the logs, unless
 * `helpersNamed`: then `auths` holds only the `{}` markers docker writes beside a credsStore, and may be missing.
 */
export function parseDockerConfig (json: unknown, source: string, helpersNamed = false): { credentials: Map<string, Credential>, problems: string[] } {
  const credentials = new Map<string, Credential>()
  const problems: string[] = []
  const auths = json !== null && typeof json === 'object' ? (json as { auths?: unknown }).auths : undefined
  if (auths === null || typeof auths !== 'object') {
    if (!helpersNamed) problems.push(`${source}: no "auths" object`)
    return { credentials, problems }
  }
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const fields = (entry ?? {}) as { auth?: unknown, username?: unknown, password?: unknown }
    const pair = typeof fields.auth === 'string' && fields.auth !== ''
      ? decodeAuthField(fields.auth)
      : typeof fields.username === 'string' && typeof fields.password === 'string'
        ? { username: fields.username, password: fields.password }
        : undefined
    if (pair === undefined) {
      if (!helpersNamed) problems.push(`${source}: entry ${JSON.stringify(key)} has no username/password or auth`)
      continue
    }
    const registry = normaliseAuthKey(key)
    if (!credentials.has(registry)) credentials.set(registry, { ...pair, source })
  }
  return { credentials, problems }
}

/** The credential helpers a config.json names: `credHelpers` per registry, `credsStore` for every other one. */
export interface DockerConfigHelpers {
  perRegistry: Map<string, string>
  store: string | undefined
}

// A helper name becomes part of an executable's name (docker-credential-<name>): no paths, no options.
const helperName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

export function dockerConfigHelpers (json: unknown, source: string): { helpers: DockerConfigHelpers, problems: string[] } {
  const problems: string[] = []
  const fields = (json !== null && typeof json === 'object' ? json : {}) as { credHelpers?: unknown, credsStore?: unknown }
  const usable = (name: unknown, where: string): name is string => {
    if (typeof name === 'string' && helperName.test(name)) return true
    problems.push(`${source}: ${where} ${JSON.stringify(name)} is not a credential helper name (docker-credential-<name>)`)
    return false
  }
  const perRegistry = new Map<string, string>()
  if (fields.credHelpers !== null && typeof fields.credHelpers === 'object') {
    for (const [key, name] of Object.entries(fields.credHelpers as Record<string, unknown>)) {
      if (usable(name, `credHelpers[${JSON.stringify(key)}]`)) perRegistry.set(normaliseAuthKey(key), name)
    }
  }
  // docker writes "credsStore": "" when none is set
  const store = fields.credsStore === undefined || fields.credsStore === '' || !usable(fields.credsStore, 'credsStore') ? undefined : fields.credsStore
  return { helpers: { perRegistry, store }, problems }
}

/** What a helper is asked for: docker stores Docker Hub under its v1 index URL, everything else by host[:port]. */
export function helperServerUrl (registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry
}

export interface HelperOptions {
  timeoutMs: number
  cacheMs: number
}

/** A static set, e.g. from Secrets already read by the Kubernetes shell, or built by tests. */
export class StaticCredentials implements CredentialSource {
  #credentials: Map<string, Credential>
  constructor (credentials: Map<string, Credential> = new Map()) {
    this.#credentials = credentials
  }

  replace (credentials: Map<string, Credential>): void {
    this.#credentials = credentials
  }

  async credentialFor (registry: string): Promise<Credential | undefined> {
    return this.#credentials.get(registry)
  }
}

/**
 * A docker config.json on disk, re-read when its mtime changes (checked at most every `recheckMs`). Its credHelpers
 * and credsStore run through the credential-helper protocol, as docker does: the helper named for the registry, else
 * the store, else `auths`. Only files on disk do this; a pull Secret's config (parseDockerConfig) never starts a
 * process, since whoever writes Secrets must not choose what the webhook executes.
 */
export class DockerConfigFile implements CredentialSource {
  #credentials = new Map<string, Credential>()
  #helpers: DockerConfigHelpers = { perRegistry: new Map(), store: undefined }
  readonly #running = new Map<string, CredentialHelper>()
  #mtimeMs = -1
  #checkedAt = -Infinity
  #reading: Promise<void> = Promise.resolve()
  constructor (
    readonly path: string,
    private readonly onProblem: (message: string) => void = () => {},
    private readonly recheckMs = 5000,
    private readonly now: () => number = Date.now,
    private readonly helperOptions: HelperOptions = { timeoutMs: 10_000, cacheMs: 0 }
  ) {}

  async credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined> {
    await this.#refresh()
    const name = this.#helpers.perRegistry.get(registry) ?? this.#helpers.store
    if (name !== undefined) {
      const found = await this.#askHelper(name, registry, signal)
      if (found !== undefined) return { ...found, source: `${found.source} (from ${this.path})` }
    }
    return this.#credentials.get(registry)
  }

  /**
   * A helper that is missing or fails (Docker Desktop's "desktop" store copied to a machine without it) is reported
   * and passed over: the lookup goes on with `auths` or anonymously, and a registry that insists answers 401 with
   * the warning above it, instead of every public image failing on a login it never needed.
   */
  async #askHelper (name: string, registry: string, signal: AbortSignal | undefined): Promise<Credential | undefined> {
    try {
      return await this.#helper(name).credentialFor(helperServerUrl(registry), signal)
    } catch (error) {
      if (!(error instanceof CredentialHelperError) || signal?.aborted === true) throw error
      this.onProblem(`${error.message} (named in ${this.path}); going on without it`)
      return undefined
    }
  }

  #helper (name: string): CredentialHelper {
    let helper = this.#running.get(name)
    if (helper === undefined) {
      helper = new CredentialHelper({ name, ...this.helperOptions })
      this.#running.set(name, helper)
    }
    return helper
  }

  async #refresh (): Promise<void> {
    // Concurrent lookups share one read, so none of them sees the empty map of a file not read yet.
    if (this.now() - this.#checkedAt >= this.recheckMs) {
      this.#checkedAt = this.now()
      this.#reading = this.#read()
    }
    await this.#reading
  }

  async #read (): Promise<void> {
    try {
      const { mtimeMs } = await stat(this.path)
      if (mtimeMs === this.#mtimeMs) return
      const json = parseJsonText(await readFile(this.path, 'utf8'), 'the file')
      const source = `config.json ${this.path}`
      const named = dockerConfigHelpers(json, source)
      const helpersNamed = named.helpers.perRegistry.size > 0 || named.helpers.store !== undefined
      const parsed = parseDockerConfig(json, source, helpersNamed)
      ;[...named.problems, ...parsed.problems].forEach(this.onProblem)
      this.#credentials = parsed.credentials
      this.#helpers = named.helpers
      this.#mtimeMs = mtimeMs
    } catch (error) {
      // Keep the last good credentials: a half-written file must not turn into anonymous requests.
      this.onProblem(`cannot read docker config ${this.path}: ${(error as Error).message}`)
    }
  }
}

/** First source that knows the registry wins. */
export class ChainedCredentials implements CredentialSource {
  constructor (private readonly sources: readonly CredentialSource[]) {}

  async credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined> {
    for (const source of this.sources) {
      const credential = await source.credentialFor(registry, signal)
      if (credential !== undefined) return credential
    }
    return undefined
  }
}
