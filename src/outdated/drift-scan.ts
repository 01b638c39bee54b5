import { isRecord } from '../admission/images.js'
import type { Deadline, Resolver } from '../registry/types.js'
import { compareTemplates, ImageStatus } from './compare.js'
import { distinctLookups, followedImages, type TemplateImages } from './followed.js'

/**
 * The optional in-cluster report of issue 18 (config `drift.intervalMinutes`, default off): every interval the webhook
 * lists the ActorTemplates (read-only `list`), follows their tags with its own resolver and publishes one gauge per
 * tagged image, 1 when the tag has moved, 0 when it has not. The list, the resolver, the gauges and the clock are
 * parameters, so the same `outdated` core runs here and in the CLI; the webhook wires them (see the issue 18 report).
 */

export interface DriftImage { namespace: string, name: string, field: string, outdated: boolean }

export interface ImageKey { namespace: string, name: string, field: string }

export interface DriftScanResult {
  /** moved and current images */
  images: DriftImage[]
  /** tagged images whose lookup failed this time: nothing new is known, so their gauges keep the last value */
  unknown: ImageKey[]
  templates: number
  scannedAtMs: number
}

/** What one scan found, in counts: a log line per scan without a line per image */
export interface DriftScanSummary { templates: number, images: number, outdated: number, unknown: number, durationMs: number }

export interface DriftGauges {
  /** one scan's answer: the gauge set is replaced, so deleted templates stop being reported */
  publish: (result: DriftScanResult) => void
}

export interface DriftScanOptions {
  list: () => Promise<Array<Record<string, unknown>>>
  resolver: Resolver
  annotationKey: string
  intervalMs: number
  /** one scan's registry budget */
  lookupTimeoutMs: number
  gauges: DriftGauges
  onScan?: ((summary: DriftScanSummary) => void) | undefined
  /** a failed list; the next interval tries again */
  onError?: (error: unknown) => void
  now?: () => number
}

function identity (object: Record<string, unknown>): { namespace: string, name: string } {
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {}
  return { namespace: String(metadata['namespace'] ?? ''), name: String(metadata['name'] ?? '') }
}

export class DriftScanner {
  readonly #options: DriftScanOptions
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  /** aborts a scan's registry lookups on stop */
  readonly #stopping = new AbortController()

  constructor (options: DriftScanOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Lists, looks every distinct tag up once and publishes the answer. */
  async scanOnce (): Promise<DriftScanResult> {
    const { list, resolver, annotationKey, lookupTimeoutMs, gauges, onScan } = this.#options
    const startedAtMs = this.#now()
    const templates: TemplateImages[] = (await list()).map((object) => {
      const { namespace, name } = identity(object)
      return { template: { namespace, name, where: `${namespace}/${name}` }, object, images: followedImages(object, annotationKey) }
    })
    const lookups = distinctLookups(templates)
    const resolutions = lookups.length === 0 ? new Map() : await resolver.resolveAll(lookups, this.#deadline(lookupTimeoutMs))
    const findings = compareTemplates(templates, resolutions)
    const images = findings.flatMap(({ template, images: found }) => found
      .filter((image) => image.status === ImageStatus.moved || image.status === ImageStatus.current)
      .map((image) => ({ namespace: template.namespace ?? '', name: template.name, field: image.field, outdated: image.status === ImageStatus.moved })))
    const unknown = findings.flatMap(({ template, images: found }) => found.filter((image) => image.status === ImageStatus.failed)
      .map((image) => ({ namespace: template.namespace ?? '', name: template.name, field: image.field })))
    const result = { images, unknown, templates: templates.length, scannedAtMs: this.#now() }
    gauges.publish(result)
    onScan?.({
      templates: result.templates,
      images: images.length,
      outdated: images.filter((image) => image.outdated).length,
      unknown: unknown.length,
      durationMs: result.scannedAtMs - startedAtMs
    })
    return result
  }

  /**
   * One scan's registry budget, cut short by stop(): a scan may take lookupTimeoutMs, more than a pod's termination
   * grace period (30 s in the manifests), and its answer is worth nothing to a process that is exiting.
   */
  #deadline (ms: number): Deadline {
    // The resolver compares `at` with the wall clock, not with the injected one.
    return { at: Date.now() + ms, signal: AbortSignal.any([AbortSignal.timeout(ms), this.#stopping.signal]) }
  }

  /** Scans now and every interval after; a scan never overlaps the one before (a slow registry delays the next). */
  start (): void {
    if (this.#timer !== undefined) return
    const tick = (): void => {
      this.#running ??= this.scanOnce().then(() => undefined, (error: unknown) => { this.#options.onError?.(error) })
        .finally(() => { this.#running = undefined })
    }
    tick()
    this.#timer = setInterval(tick, this.#options.intervalMs).unref()
  }

  /** Stops the timer, aborts the registry lookups of a scan in progress and waits for it to settle. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#stopping.abort()
    this.#timer = undefined
    await this.#running
  }
}
