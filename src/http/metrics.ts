import { AsyncLocalStorage } from 'node:async_hooks'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { RegistryObserver } from '../registry/create-resolver.js'
import type { LookupEvent } from '../registry/resolver.js'
import type { ExchangeEvent } from '../registry/transport.js'

/**
 * Prometheus metrics on a registry of our own (never prom-client's global one, so tests and several apps in one
 * process do not collide). The resolver reports each lookup through onLookup and the transport each HTTP exchange
 * through onExchange; an admission wraps its work in `tally` to learn how many registry requests it caused, for its
 * log line. A lookup shared through single flight runs in the async context of the admission that started it, so
 * its requests are counted once, for that admission.
 */

export type Webhook = 'mutate' | 'validate'

export interface Metrics extends Required<RegistryObserver> {
  readonly registry: Registry
  observeAdmission: (webhook: Webhook, decision: string, reason: string, seconds: number) => void
  /** counts one request in flight until the returned function is called */
  startRequest: (webhook: Webhook) => () => void
  onLookup: (event: LookupEvent) => void
  onExchange: (event: ExchangeEvent) => void
  /** digests taken from the stored object on UPDATE, without asking the registry */
  countOldObjectReuse: (count: number) => void
  /** the notAfter of the serving certificate in use; called at start and on every reload (alerts before expiry) */
  setServingCertificateExpiry: (notAfter: Date) => void
  tally: <T>(work: () => Promise<T>) => Promise<{ result: T, registryRequests: number }>
}

export interface MetricsOptions {
  /** process and Node.js runtime metrics; on by default */
  defaultMetrics?: boolean
  /** distinct registry label values kept before the rest are counted as "other" */
  maxRegistryLabels?: number
}

// Registry names come from user-written references; an unbounded label set would let anyone who can create a
// template grow our memory and the Prometheus series count.
function boundedLabel (limit: number): (value: string) => string {
  const seen = new Set<string>()
  return (value) => {
    if (seen.has(value)) return value
    if (seen.size >= limit) return 'other'
    seen.add(value)
    return value
  }
}

export function createMetrics (options: MetricsOptions = {}): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  const registries = [registry]
  const registryLabel = boundedLabel(options.maxRegistryLabels ?? 50)
  const tallies = new AsyncLocalStorage<{ requests: number }>()

  const admissions = new Counter({
    name: 'atw_admissions_total',
    help: 'Admission reviews answered, by webhook, decision (allowed, patched, denied, errored) and reason',
    labelNames: ['webhook', 'decision', 'reason'],
    registers: registries
  })
  const admissionSeconds = new Histogram({
    name: 'atw_admission_duration_seconds',
    help: 'Time from receiving an admission review to answering it',
    labelNames: ['webhook'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: registries
  })
  const inflight = new Gauge({
    name: 'atw_admission_requests_in_flight',
    help: 'Admission reviews being handled right now',
    labelNames: ['webhook'],
    registers: registries
  })
  const resolutions = new Counter({
    name: 'atw_resolutions_total',
    help: 'Tag lookups by registry and outcome (pinned, cached, or an error code such as REGISTRY_NOT_FOUND)',
    labelNames: ['registry', 'outcome'],
    registers: registries
  })
  const cacheHits = new Counter({
    name: 'atw_cache_hits_total',
    help: 'Digests reused without asking the registry, by source (resolver-cache, single-flight: joined a lookup already in flight, old-object)',
    labelNames: ['source'],
    registers: registries
  })
  // A gauge set on load rather than computed per scrape: the process knows the pair it serves, Prometheus does the
  // arithmetic against time() (issue 14 §3), and the value survives in the TSDB when the pod is gone.
  const certificateExpiry = new Gauge({
    name: 'atw_serving_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the TLS certificate the admission port serves, in seconds since the Unix epoch; updated on every reload',
    registers: registries
  })
  const stalePins = new Counter({
    name: 'atw_stale_pins_total',
    help: 'Failed lookups answered with a digest resolved earlier (resolver.staleIfErrorSeconds), by registry and reason (unavailable, timeout, rate-limited, unreachable)',
    labelNames: ['registry', 'reason'],
    registers: registries
  })
  const lookupSeconds = new Histogram({
    name: 'atw_registry_lookup_duration_seconds',
    help: 'Registry time of one tag lookup (token and manifest requests together), by registry and status (pinned or an error code)',
    labelNames: ['registry', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: registries
  })
  const registryRequests = new Counter({
    name: 'atw_registry_requests_total',
    help: 'HTTP requests sent to registries (token requests included), by registry',
    labelNames: ['registry'],
    registers: registries
  })
  const requestSeconds = new Histogram({
    name: 'atw_registry_request_duration_seconds',
    help: 'One HTTP exchange with a registry or its token server, by registry and HTTP status ("error" when none arrived)',
    labelNames: ['registry', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: registries
  })

  return {
    registry,
    observeAdmission: (webhook, decision, reason, seconds) => {
      admissions.inc({ webhook, decision, reason })
      admissionSeconds.observe({ webhook }, seconds)
    },
    startRequest: (webhook) => {
      inflight.inc({ webhook })
      let done = false
      return () => {
        if (!done) inflight.dec({ webhook })
        done = true
      }
    },
    onLookup: (event) => {
      const label = registryLabel(event.registry)
      resolutions.inc({ registry: label, outcome: event.outcome })
      if (event.outcome === 'cached') {
        cacheHits.inc({ source: 'resolver-cache' })
        return
      }
      // The lookup still counts as failed under its error code; a stale pin is counted on top, so outages stay visible.
      if (event.stale !== undefined) stalePins.inc({ registry: label, reason: event.stale })
      // A joined lookup asked no registry itself: the lookup it joined observes the registry time, once.
      if (event.joined === true) {
        if (event.outcome === 'pinned') cacheHits.inc({ source: 'single-flight' })
        return
      }
      lookupSeconds.observe({ registry: label, status: event.outcome }, event.durationMs / 1000)
    },
    onExchange: (event) => {
      const label = registryLabel(event.registry)
      registryRequests.inc({ registry: label })
      requestSeconds.observe({ registry: label, status: String(event.status) }, event.durationMs / 1000)
      const current = tallies.getStore()
      if (current !== undefined) current.requests++
    },
    countOldObjectReuse: (count) => {
      if (count > 0) cacheHits.inc({ source: 'old-object' }, count)
    },
    setServingCertificateExpiry: (notAfter) => {
      certificateExpiry.set(notAfter.getTime() / 1000)
    },
    tally: async (work) => {
      const store = { requests: 0 }
      const result = await tallies.run(store, work)
      return { result, registryRequests: store.requests }
    }
  }
}
