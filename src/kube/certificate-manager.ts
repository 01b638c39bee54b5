import { setTimeout as sleep } from 'node:timers/promises'
import { advance } from '../certs/advance.js'
import type { CertificatePair } from '../certs/generate.js'
import { decide, type Decision, type RotationPolicy, type ServingNames } from '../certs/rotation.js'
import { KubeApiError, KubeErrorReason, type KubeApi, type SecretObject } from './api.js'
import { publishCaBundle, type WebhookConfigurationRef } from './ca-bundle.js'
import { caBundleOf, certificateSetFromSecret, secretWithCertificateSet } from './cert-secret.js'

/**
 * Self-managed certificates. Every replica runs the same loop; they coordinate only through the Secret's resourceVersion:
 * each write is a create-if-absent or a replace at the version read, and the loser of a race re-reads and finds the
 * winner's CA. So there is never a second CA, and no leader election is needed.
 */

/** Structurally the server's Readiness: each blocker has a name, and /readyz lists the reasons. */
export interface ReadinessGate {
  block: (name: string, reason: string) => void
  unblock: (name: string) => void
}

/** The pino call shape, so the server's logger can be passed as is. */
export interface ManagerLog {
  info: (details: object, message: string) => void
  warn: (details: object, message: string) => void
}

export interface CertificateManagerOptions {
  api: KubeApi
  namespace: string
  secretName: string
  names: ServingNames
  webhookConfigurations: readonly WebhookConfigurationRef[]
  policy: RotationPolicy
  checkIntervalMs: number
  /** puts the serving pair where the server reads it; true when something changed */
  writeServingFiles: (pair: CertificatePair) => Promise<boolean>
  readiness?: ReadinessGate | undefined
  log?: ManagerLog | undefined
  now?: (() => Date) | undefined
  /** first and longest delay between retries after a failed check */
  retryDelayMs?: { min: number, max: number } | undefined
}

export interface CheckResult {
  /** the last decision: 'none' once the stored set is current */
  decision: Decision
  /** decisions this check applied and stored, in order */
  applied: Decision[]
  bundleInPlace: boolean
  servingChanged: boolean
  /** when this replica should check again */
  nextCheckAt: Date
}

export const ReadinessBlocker = { certificate: 'certificate', caBundle: 'ca-bundle' } as const

/** More steps than any legal sequence (create, prune, trust, issue) needs; beyond it, something keeps racing us. */
const MAX_STEPS = 8
const quietLog: ManagerLog = { info: () => {}, warn: () => {} }

export class CertificateManager {
  readonly #options: CertificateManagerOptions
  readonly #log: ManagerLog
  readonly #now: () => Date
  readonly #abort = new AbortController()
  #published: { bundle: string, since: Date } | undefined
  #served: CertificatePair | undefined
  #reloader: (() => Promise<unknown>) | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: CertificateManagerOptions) {
    this.#options = options
    this.#log = options.log ?? quietLog
    this.#now = options.now ?? (() => new Date())
    options.readiness?.block(ReadinessBlocker.certificate, 'no serving certificate written yet')
    options.readiness?.block(ReadinessBlocker.caBundle, 'caBundle not yet confirmed in the webhook configurations')
  }

  /** Called after new serving files are written, e.g. the server's reloadCertificates, so readiness waits for the swap. */
  setReloader (reload: () => Promise<unknown>): void {
    this.#reloader = reload
  }

  /** One pass: bring the Secret up to date, publish caBundle, write the serving files. Throws on Secret API failures. */
  async check (): Promise<CheckResult> {
    const { api, namespace, secretName, names, policy } = this.#options
    const applied: Decision[] = []
    let secret = await api.readSecret(namespace, secretName)
    for (let step = 0; step < MAX_STEPS; step++) {
      const now = this.#now()
      const set = certificateSetFromSecret(secret ?? emptySecret(namespace, secretName))
      const bundle = caBundleOf(set)
      const published = this.#published?.bundle === bundle ? this.#published.since : undefined
      const decision = decide(set, names, policy, now, published)
      if (decision.action !== 'none') {
        const next = secretWithCertificateSet(secret ?? emptySecret(namespace, secretName), await advance(set, decision, names, policy, now))
        try {
          secret = secret === undefined ? await api.createSecret(namespace, next) : await api.replaceSecret(namespace, next)
          applied.push(decision)
          this.#log.info({ secret: `${namespace}/${secretName}`, action: decision.action, reason: decision.reason }, 'certificate Secret updated')
        } catch (error) {
          const raced = error instanceof KubeApiError &&
            (error.reason === KubeErrorReason.conflict || error.reason === KubeErrorReason.notFound)
          if (!raced) throw error
          // Another replica (or a person) wrote first: the stored state is the truth; decide again from it.
          secret = await api.readSecret(namespace, secretName)
        }
        continue
      }
      // Publish before serve: a new leaf reaches the files only after this check has (re)patched caBundle, which also
      // undoes a stale patch from a replica that read the Secret just before a rotation.
      const bundleInPlace = await this.#publish(bundle, now)
      if (bundleInPlace && published === undefined) continue
      if (set.leaf === undefined) throw new Error('certificate set without a serving certificate after a "none" decision')
      const servingChanged = await this.#serve(set.leaf)
      const recheck = Math.min(decision.recheckAt.getTime(), now.getTime() + this.#options.checkIntervalMs)
      // A floor against busy loops when a step is overdue, never coarser than the check interval itself.
      const floor = now.getTime() + Math.min(1000, this.#options.checkIntervalMs)
      return { decision, applied, bundleInPlace, servingChanged, nextCheckAt: new Date(Math.max(recheck, floor)) }
    }
    throw new Error(`the certificate Secret ${namespace}/${secretName} changed under every one of ${MAX_STEPS} steps; retrying later`)
  }

  async #publish (bundle: string, now: Date): Promise<boolean> {
    const { readiness } = this.#options
    try {
      const result = await publishCaBundle(this.#options.api, this.#options.webhookConfigurations, bundle)
      if (result.patched.length > 0) this.#log.info({ configurations: result.patched }, 'caBundle patched')
      if (!result.inPlace) {
        this.#log.warn({ problems: result.problems }, 'caBundle is not in place')
        readiness?.block(ReadinessBlocker.caBundle, result.problems.join('; '))
        return false
      }
    } catch (error) {
      this.#log.warn({ problem: (error as Error).message }, 'cannot publish caBundle')
      readiness?.block(ReadinessBlocker.caBundle, `cannot publish caBundle: ${(error as Error).message}`)
      return false
    }
    if (this.#published?.bundle !== bundle) this.#published = { bundle, since: now }
    readiness?.unblock(ReadinessBlocker.caBundle)
    return true
  }

  async #serve (leaf: CertificatePair): Promise<boolean> {
    if (this.#served?.certPem === leaf.certPem && this.#served.keyPem === leaf.keyPem) return false
    const changed = await this.#options.writeServingFiles(leaf)
    if (this.#reloader !== undefined) await this.#reloader()
    this.#served = leaf
    this.#options.readiness?.unblock(ReadinessBlocker.certificate)
    if (changed) this.#log.info({}, 'serving certificate files written')
    return changed
  }

  /**
   * Checks until the serving files are written (retrying with backoff), then keeps checking in the background.
   * Resolves once the server can start on the files; readiness stays blocked until caBundle is confirmed as well.
   */
  async start (): Promise<void> {
    const delay = this.#options.retryDelayMs ?? { min: 1000, max: 30_000 }
    for (let failures = 0; ; failures++) {
      try {
        this.#schedule((await this.check()).nextCheckAt)
        return
      } catch (error) {
        if (this.#abort.signal.aborted) throw error
        const wait = Math.min(delay.max, delay.min * 2 ** failures)
        this.#log.warn({ problem: (error as Error).message, retryInMs: wait }, 'certificate check failed')
        await sleep(wait, undefined, { signal: this.#abort.signal })
      }
    }
  }

  #schedule (at: Date, failures = 0): void {
    if (this.#abort.signal.aborted) return
    const delay = this.#options.retryDelayMs ?? { min: 1000, max: 30_000 }
    this.#timer = setTimeout(() => {
      this.check().then((result) => { this.#schedule(result.nextCheckAt) }, (error: unknown) => {
        const wait = Math.min(delay.max, this.#options.checkIntervalMs, delay.min * 2 ** failures)
        this.#log.warn({ problem: (error as Error).message, retryInMs: wait }, 'certificate check failed')
        this.#schedule(new Date(this.#now().getTime() + wait), failures + 1)
      })
    }, Math.max(0, at.getTime() - this.#now().getTime())).unref()
  }

  stop (): void {
    this.#abort.abort()
    clearTimeout(this.#timer)
  }
}

function emptySecret (namespace: string, name: string): SecretObject {
  return {
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'actortemplate-webhook', 'app.kubernetes.io/component': 'certificates' } },
    type: 'Opaque'
  }
}
