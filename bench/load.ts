import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { percentile, sortedCopy } from './stats.js'

/**
 * A closed-loop load generator over HTTPS keep-alive: `concurrency` callers each send the next request as soon as
 * the previous answer is read, on a pool of exactly that many connections. Latencies are kept whole (microsecond
 * resolution from performance.now()), so percentiles are exact rather than bucketed; autocannon rounds to whole
 * milliseconds, which is coarser than a warm admission.
 */

export interface Target {
  origin: string
  path: string
  body: string
  /** PEM trusted for the server's certificate */
  ca: string
}

export interface LoadResult {
  requests: number
  errors: number
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** CPU time the server used per answered request, when its pid was known */
  serverCpuUs?: number
  /** cores this load generator kept busy (1 = one full core): near 1, the client is the limit, not the server */
  clientCores: number
}

export interface LoadClient {
  run: (concurrency: number, durationMs: number) => Promise<LoadResult>
  /** one request; resolves with status and body, for checking what the server answers */
  once: () => Promise<{ status: number, body: string }>
  close: () => Promise<void>
}

const headers = { 'content-type': 'application/json' }

export function loadClient (target: Target, connections: number): LoadClient {
  const pool = new Pool(target.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    connect: { ca: target.ca, servername: 'localhost' }
  })
  const send = async (): Promise<{ status: number, body: string } | number> => {
    const response = await pool.request({ path: target.path, method: 'POST', headers, body: target.body })
    // Reading the body as text is what an apiserver does too (it decodes it); dump() would flatter the client side.
    const body = await response.body.text()
    return response.statusCode === 200 ? { status: 200, body } : response.statusCode
  }
  return {
    async once () {
      const response = await pool.request({ path: target.path, method: 'POST', headers, body: target.body })
      return { status: response.statusCode, body: await response.body.text() }
    },
    async run (concurrency, durationMs) {
      const latencies: number[] = []
      let errors = 0
      const started = performance.now()
      const cpuBefore = process.cpuUsage()
      const until = started + durationMs
      const caller = async (): Promise<void> => {
        while (performance.now() < until) {
          const sent = performance.now()
          try {
            const answer = await send()
            if (typeof answer === 'number') errors++
            else latencies.push(performance.now() - sent)
          } catch {
            errors++
          }
        }
      }
      await Promise.all(Array.from({ length: concurrency }, caller))
      const seconds = (performance.now() - started) / 1000
      const cpu = process.cpuUsage(cpuBefore)
      const sorted = sortedCopy(latencies)
      return {
        requests: latencies.length,
        errors,
        seconds,
        rps: latencies.length / seconds,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: percentile(sorted, 100),
        clientCores: (cpu.user + cpu.system) / 1e6 / seconds
      }
    },
    close: async () => { await pool.close() }
  }
}
