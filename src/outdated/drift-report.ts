import type { Registry } from 'prom-client'
import type { Resolver } from '../registry/types.js'
import { driftGauges } from './drift-metrics.js'
import { DriftScanner, type DriftScanSummary } from './drift-scan.js'

/**
 * Starts the optional in-cluster report (issue 18) inside `serve`: lists ActorTemplates in all namespaces with the
 * pod's service account (RBAC: `list` on actortemplates.ate.dev, nothing else), follows their tags with the webhook's
 * own resolver and exports the gauges on its metrics registry. Off unless the config sets an interval.
 */

export interface DriftReportOptions {
  intervalMs: number
  /** one scan's registry budget */
  lookupTimeoutMs: number
  annotationKey: string
  /** one Kubernetes list call (config kube.requestTimeoutSeconds) */
  requestTimeoutMs: number
  resolver: Resolver
  metrics: Registry
  /** after each scan that listed the cluster: counts for the log */
  onScan?: (summary: DriftScanSummary) => void
  onError: (error: unknown) => void
  /** default: the in-cluster service account, else $KUBECONFIG (tests pass one) */
  kubeconfig?: string | undefined
}

export interface DriftReport { stop: () => Promise<void> }

export async function startDriftReport (options: DriftReportOptions): Promise<DriftReport> {
  const { connectCluster } = await import('./cluster-templates.js')
  const cluster = await connectCluster({ kubeconfig: options.kubeconfig, allNamespaces: true, requestTimeoutMs: options.requestTimeoutMs })
  const scanner = new DriftScanner({
    list: cluster.list,
    resolver: options.resolver,
    annotationKey: options.annotationKey,
    intervalMs: options.intervalMs,
    lookupTimeoutMs: options.lookupTimeoutMs,
    gauges: driftGauges(options.metrics),
    onScan: options.onScan,
    onError: options.onError
  })
  scanner.start()
  return { stop: async () => { await scanner.stop() } }
}
