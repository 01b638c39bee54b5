import { Gauge, type Registry } from 'prom-client'
import type { DriftGauges, DriftScanResult } from './drift-scan.js'

/**
 * The in-cluster report's metrics (issue 18), registered on the webhook's own prom-client Registry. The series are one
 * per tagged image of the ActorTemplates in the cluster: as many as the objects the apiserver stores, and a template
 * that is deleted loses its series at the next scan.
 */

export const driftMetricNames = {
  outdated: 'atw_template_image_outdated',
  lastScan: 'atw_drift_last_scan_timestamp_seconds',
  unknown: 'atw_drift_images_unknown'
} as const

export function driftGauges (registry: Registry): DriftGauges {
  const registers = [registry]
  const outdated = new Gauge({
    name: driftMetricNames.outdated,
    help: 'ActorTemplate image whose tag now resolves to another digest than the pinned one (1) or the same (0), by namespace, name and field',
    labelNames: ['namespace', 'name', 'field'],
    registers
  })
  const lastScan = new Gauge({ name: driftMetricNames.lastScan, help: 'When the last drift scan finished (Unix time, seconds)', registers })
  const unknown = new Gauge({ name: driftMetricNames.unknown, help: 'Tagged images whose lookup failed in the last drift scan (their outdated value is the earlier one)', registers })
  let previous = new Map<string, number>()
  const keyOf = (labels: { namespace: string, name: string, field: string }): string => JSON.stringify([labels.namespace, labels.name, labels.field])

  return {
    publish: (result: DriftScanResult) => {
      const next = new Map<string, number>()
      for (const image of result.images) next.set(keyOf(image), image.outdated ? 1 : 0)
      // A failed lookup says nothing new: keep what the last scan knew, so an alert's `for:` is not reset by an outage.
      for (const image of result.unknown) {
        const known = previous.get(keyOf(image))
        if (known !== undefined) next.set(keyOf(image), known)
      }
      outdated.reset()
      for (const [key, value] of next) {
        const [namespace = '', name = '', field = ''] = JSON.parse(key) as string[]
        outdated.set({ namespace, name, field }, value)
      }
      previous = next
      unknown.set(result.unknown.length)
      lastScan.set(result.scannedAtMs / 1000)
    }
  }
}
