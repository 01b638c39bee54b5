/**
 * A steady stream of admissions while a disruption happens (issue 12 §3): one attempt every 1/rate seconds whether
 * or not earlier ones finished (an open loop, so a slow webhook cannot slow the stream down and hide failures), each
 * attempt checked by the caller, with its latency as the client saw it.
 */
export interface Outcome {
  ok: boolean
  /** What was seen: the stored image, or kubectl's error. */
  detail: string
}

export interface Admission extends Outcome {
  n: number
  /** Date.now() when the attempt started. */
  startedAt: number
  ms: number
}

export interface StreamOptions {
  ratePerSecond: number
  /** Attempts in flight at most; beyond it a tick is counted as skipped, so the machine is never flooded. */
  maxInFlight?: number
  attempt: (n: number) => Promise<Outcome>
}

export interface Stream {
  /** Stops starting attempts, waits for those in flight, returns every attempt in start order. */
  stop: () => Promise<{ admissions: Admission[], skipped: number }>
}

export function startStream (opts: StreamOptions): Stream {
  const admissions: Admission[] = []
  const inFlight = new Set<Promise<void>>()
  let skipped = 0
  let n = 0
  const launch = (): void => {
    if (inFlight.size >= (opts.maxInFlight ?? 20)) {
      skipped++
      return
    }
    const number = n++
    const startedAt = Date.now()
    const started = performance.now()
    const promise = opts.attempt(number)
      .catch((error: unknown) => ({ ok: false, detail: `attempt threw: ${String(error)}` }))
      .then((outcome) => { admissions.push({ ...outcome, n: number, startedAt, ms: performance.now() - started }) })
      .finally(() => { inFlight.delete(promise) })
    inFlight.add(promise)
  }
  // Attempts are due by the clock, not by timer callbacks, which drift on a busy machine and would lower the rate.
  const begin = performance.now()
  let due = 0
  const tick = (): void => {
    const target = Math.floor(((performance.now() - begin) / 1000) * opts.ratePerSecond) + 1
    for (; due < target; due++) launch()
  }
  tick()
  const timer = setInterval(tick, 20)
  return {
    stop: async () => {
      clearInterval(timer)
      await Promise.all([...inFlight])
      return { admissions: admissions.sort((a, b) => a.n - b.n), skipped }
    }
  }
}

/** Nearest-rank percentile of `values` (0 < p ≤ 100); NaN for none. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

export interface StreamSummary {
  sent: number
  failed: number
  p50Ms: number
  p99Ms: number
  ratePerSecond: number
}

export function summarize (admissions: readonly Admission[]): StreamSummary {
  const first = admissions[0]?.startedAt ?? 0
  const last = admissions.at(-1)?.startedAt ?? first
  const latencies = admissions.map((a) => a.ms)
  return {
    sent: admissions.length,
    failed: admissions.filter((a) => !a.ok).length,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    ratePerSecond: last > first ? Number(((admissions.length - 1) / ((last - first) / 1000)).toFixed(1)) : 0
  }
}
