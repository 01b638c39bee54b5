/**
 * One disruption scenario of issue 12 §3: a steady stream of `kubectl create` of tag-form ActorTemplates, each
 * checked (created and pinned to the pushed digest), before, during and after the disruption; with the figures the
 * issue asks for (admissions sent, failed, p50/p99 latency seen by kubectl, time to Ready).
 */
import { actorTemplate, createNamespace, manifest } from './harness.js'
import { startStream, summarize, type Admission, type Outcome, type StreamSummary } from '../support/admission-stream.js'
import type { NodeCluster } from '../support/node-cluster.js'

export interface Images {
  /** REGISTRY/REPO:TAG as users write it */
  tagged: string
  /** what the webhook must store: tagged@sha256:… */
  pinned: string
  /** a pauseImage already in digest form, so each create needs one lookup */
  pause: string
}

export interface ScenarioOptions {
  name: string
  /** Default 6 per second (the issue asks for at least 5). */
  ratePerSecond?: number
  /** Stream time before and after the disruption. Default 3 s each. */
  leadMs?: number
  trailMs?: number
  /** Does the disruption and waits for its end state; returns the time that took ("time to Ready"). */
  disrupt: () => Promise<number>
  /** What disrupt()'s time measures, for the report. Default 'time to Ready'. */
  timeLabel?: string
}

export interface ScenarioResult extends StreamSummary {
  name: string
  timeLabel: string
  timeToReadyMs: number
  /** Date.now() when disrupt() returned. */
  settledAt: number
  skipped: number
  admissions: Admission[]
  /** Distinct failure messages with their counts. */
  failures: Map<string, number>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** kubectl create, then check what the apiserver stored (create -o prints the stored object). */
export async function createPinned (cluster: NodeCluster, images: Images, namespace: string, name: string): Promise<Outcome> {
  const template = actorTemplate(name, namespace, images.pause, [{ name: 'agent', image: images.tagged }])
  const created = await cluster.kubectl(['create', '-f', '-', '-o', 'jsonpath={.spec.containers[0].image}'], { input: manifest(template), timeoutMs: 60_000 })
  if (created.code !== 0) return { ok: false, detail: created.stderr.trim() || `kubectl exited ${String(created.code)}` }
  const stored = created.stdout.trim()
  return stored === images.pinned ? { ok: true, detail: stored } : { ok: false, detail: `stored ${stored}, expected ${images.pinned}` }
}

/** A failure message without the parts that differ per attempt (object names, addresses, timings). */
function normalize (detail: string): string {
  return detail.replace(/"t-\d+"/g, '"t-N"').replace(/\b\d+(\.\d+)?(ms|s)\b/g, 'T').replace(/10\.244\.0\.\d+:\d+/g, 'POD:PORT').slice(0, 300)
}

export async function runScenario (cluster: NodeCluster, images: Images, opts: ScenarioOptions): Promise<ScenarioResult> {
  const namespace = `load-${opts.name}`
  await createNamespace(cluster, namespace)
  const stream = startStream({
    ratePerSecond: opts.ratePerSecond ?? 6,
    attempt: async (n) => await createPinned(cluster, images, namespace, `t-${n}`)
  })
  await sleep(opts.leadMs ?? 3_000)
  let timeToReadyMs: number
  try {
    timeToReadyMs = await opts.disrupt()
  } finally {
    await sleep(opts.trailMs ?? 3_000)
  }
  const settledAt = Date.now() - (opts.trailMs ?? 3_000)
  const { admissions, skipped } = await stream.stop()
  const failures = new Map<string, number>()
  for (const a of admissions.filter((a) => !a.ok)) failures.set(normalize(a.detail), (failures.get(normalize(a.detail)) ?? 0) + 1)
  return { name: opts.name, timeLabel: opts.timeLabel ?? 'time to Ready', ...summarize(admissions), timeToReadyMs, settledAt, skipped, admissions, failures }
}

export function describe (r: Pick<ScenarioResult, 'name' | 'timeLabel' | 'sent' | 'failed' | 'p50Ms' | 'p99Ms' | 'ratePerSecond' | 'timeToReadyMs' | 'skipped'>): string {
  return `${r.name}: admissions sent ${r.sent} (${r.ratePerSecond}/s${r.skipped > 0 ? `, ${r.skipped} ticks skipped` : ''}), failed ${r.failed}, ` +
    `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (kubectl), ${r.timeLabel} ${r.timeToReadyMs} ms`
}
