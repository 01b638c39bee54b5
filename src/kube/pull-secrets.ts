import type { SecretRef } from '../config.js'
import { parseDockerConfig, type Credential, type CredentialSource } from '../registry/credentials.js'
import { parseJsonText } from '../registry/json-text.js'
import type { KubeApi, SecretObject } from './api.js'

/**
 * Registry credentials from image pull Secrets (credentials.secrets), read through the Kubernetes API and re-read every
 * `refreshMs`; a Secret is re-parsed only when its resourceVersion changed. Lookups never wait for the API except for the
 * very first read, so an admission never runs anonymously just because the process has only started.
 */

export interface PullSecretOptions {
  refreshMs: number
  onProblem?: (message: string) => void
}

interface Loaded {
  resourceVersion: string | undefined
  credentials: Map<string, Credential>
  /** last problem reported, so a steady state is logged once, not every refresh */
  problem?: string | undefined
}

const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson'
/** The pre-1.x format kubelet still accepts: the "auths" map itself, under .dockercfg. */
const DOCKER_CFG = 'kubernetes.io/dockercfg'

function decodeJson (secret: SecretObject, key: string): unknown {
  const value = secret.data?.[key]
  if (value === undefined) throw new Error(`has no ${key} key`)
  // Issue 13 §2: the parse error names the key and the position, never the text (it holds passwords).
  return parseJsonText(Buffer.from(value, 'base64').toString('utf8'), key)
}

/** The credentials of one Secret, or the reason it holds none. Pure. */
export function credentialsFromSecret (secret: SecretObject, source: string): { credentials: Map<string, Credential>, problems: string[] } {
  try {
    if (secret.type === DOCKER_CONFIG_JSON) return parseDockerConfig(decodeJson(secret, '.dockerconfigjson'), source)
    if (secret.type === DOCKER_CFG) return parseDockerConfig({ auths: decodeJson(secret, '.dockercfg') }, source)
    return { credentials: new Map(), problems: [`${source}: type is ${JSON.stringify(secret.type ?? '')}, not ${DOCKER_CONFIG_JSON}`] }
  } catch (error) {
    return { credentials: new Map(), problems: [`${source}: ${(error as Error).message}`] }
  }
}

export class PullSecretCredentials implements CredentialSource {
  readonly #refs: readonly SecretRef[]
  readonly #api: Pick<KubeApi, 'readSecret'>
  readonly #options: PullSecretOptions
  readonly #loaded = new Map<string, Loaded>()
  #first: Promise<void> | undefined
  #refreshing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (refs: readonly SecretRef[], api: Pick<KubeApi, 'readSecret'>, options: PullSecretOptions) {
    this.#refs = refs
    this.#api = api
    this.#options = options
  }

  /** Reads every Secret now, then again every refreshMs until close(). */
  start (): Promise<void> {
    this.#first ??= this.refresh()
    this.#timer ??= setInterval(() => { void this.refresh() }, this.#options.refreshMs).unref()
    return this.#first
  }

  close (): void {
    clearInterval(this.#timer)
  }

  async credentialFor (registry: string, signal?: AbortSignal): Promise<Credential | undefined> {
    // The first read waits for the Kubernetes API, but only as long as the admission that asks may (issue 13 §1).
    await untilAborted(this.#first ??= this.refresh(), signal)
    // The order of credentials.secrets is the precedence among Secrets.
    for (const ref of this.#refs) {
      const credential = this.#loaded.get(key(ref))?.credentials.get(registry)
      if (credential !== undefined) return credential
    }
    return undefined
  }

  /** Concurrent calls share one pass. Never throws: problems go to onProblem and the last good credentials stay. */
  async refresh (): Promise<void> {
    this.#refreshing ??= Promise.all(this.#refs.map(async (ref) => { await this.#refreshOne(ref) }))
      .then(() => {}).finally(() => { this.#refreshing = undefined })
    await this.#refreshing
  }

  async #refreshOne (ref: SecretRef): Promise<void> {
    const source = `secret ${ref.namespace}/${ref.name}`
    const previous = this.#loaded.get(key(ref))
    let secret: SecretObject | undefined
    try {
      secret = await this.#api.readSecret(ref.namespace, ref.name)
    } catch (error) {
      // A passing API outage must not turn private pulls into anonymous ones: keep what we had.
      this.#report(ref, previous ?? { resourceVersion: undefined, credentials: new Map() }, `cannot read ${source}: ${(error as Error).message}`)
      return
    }
    if (secret === undefined) {
      this.#report(ref, { resourceVersion: undefined, credentials: new Map() }, `${source} does not exist; no credentials from it`)
      return
    }
    if (previous !== undefined && previous.resourceVersion !== undefined && previous.resourceVersion === secret.metadata.resourceVersion) return
    const parsed = credentialsFromSecret(secret, source)
    this.#report(ref, { resourceVersion: secret.metadata.resourceVersion, credentials: parsed.credentials },
      parsed.problems.length === 0 ? undefined : parsed.problems.join('; '))
  }

  #report (ref: SecretRef, next: Loaded, problem: string | undefined): void {
    const previous = this.#loaded.get(key(ref))
    this.#loaded.set(key(ref), { ...next, problem })
    if (problem !== undefined && problem !== previous?.problem) this.#options.onProblem?.(problem)
  }
}

function key (ref: SecretRef): string {
  return `${ref.namespace}/${ref.name}`
}

async function untilAborted (work: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await work
    return
  }
  const stopped = (): Error => new Error('the pull Secrets were not read before the admission deadline')
  if (signal.aborted) throw stopped()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(stopped()) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
