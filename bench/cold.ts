import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { loadClient } from './load.js'
import { settledRequests, type BenchRegistry } from './registry.js'
import { pinnedImagesOf, templateReview } from './reviews.js'
import { startOurs, type Workspace } from './servers.js'
import { median, percentile, sortedCopy } from './stats.js'

/**
 * Cold path (issue 6 §2): the digest cache is off (the default), so every admission asks the registry for all five
 * tags. Requests are counted in the registry's own log, not by our code.
 */

export interface ColdFigures {
  mode: string
  /** the very first admission of a fresh process: connection set-up, challenge and token included */
  first_ms: number
  first_registry_requests: number
  first_token_requests: number
  admissions: number
  p50_ms: number
  p99_ms: number
  /** registry requests per tag once connections and tokens are warm (target: exactly 1) */
  registry_requests_per_tag: number
  token_requests: number
  /** 100 concurrent admissions of a template holding one and the same tag */
  concurrent_admissions: number
  concurrent_same_tag_requests: number
  concurrent_wall_ms: number
}

const headers = { 'content-type': 'application/json' }
const path = '/mutate?timeout=10s'

async function concurrentSameTag (origin: string, ca: string, body: string, count: number): Promise<{ wallMs: number, failures: string[] }> {
  const clients = Array.from({ length: count }, () => new Client(origin, { connect: { ca, servername: 'localhost' }, keepAliveTimeout: 30_000 }))
  try {
    // Every connection is open and idle before the burst, so all requests reach the server together.
    await Promise.all(clients.map(async (client) => { await (await client.request({ path: '/readyz', method: 'GET' })).body.dump() }))
    const started = performance.now()
    const answers = await Promise.all(clients.map(async (client) => {
      const response = await client.request({ path, method: 'POST', headers, body })
      return { status: response.statusCode, body: await response.body.text() }
    }))
    const wallMs = performance.now() - started
    const failures = answers.filter((answer) => answer.status !== 200 || pinnedImagesOf(answer.body).length !== 1)
      .map((answer) => `${answer.status} ${answer.body.slice(0, 200)}`)
    return { wallMs, failures }
  } finally {
    await Promise.all(clients.map(async (client) => { await client.close() }))
  }
}

export async function benchCold (work: Workspace, bench: BenchRegistry, admissions: number, concurrent: number): Promise<ColdFigures> {
  const { registry } = bench
  const base = { registries: [bench.settings], credentials: { dockerConfigFiles: [bench.dockerConfigFile] } }
  // Every admission must ask the registry: no cache and no burst window (its 1 s reuse would turn the 40 sequential
  // admissions into one lookup). The burst below runs against the shipped defaults.
  const server = await startOurs(work, `ours-cold-${bench.mode}`, { ...base, resolver: { cacheTtlSeconds: 0, burstWindowMs: 0 } })
  const burstServer = await startOurs(work, `ours-burst-${bench.mode}`, base)
  const body = templateReview(bench.images)
  const client = loadClient({ origin: server.origin, path, body, ca: work.tls.caPem }, 1)
  const tags = bench.images.length
  try {
    const timed = async (): Promise<number> => {
      const sent = performance.now()
      const answer = await client.once()
      const ms = performance.now() - sent
      if (answer.status !== 200 || pinnedImagesOf(answer.body).length !== tags) throw new Error(`cold ${bench.mode}: ${answer.status} ${answer.body.slice(0, 300)}`)
      return ms
    }
    registry.resetRequests()
    registry.tokenServer?.resetRequests()
    const firstMs = await timed()
    const firstRequests = await settledRequests(registry, tags)
    const firstTokens = registry.tokenServer?.requests().length ?? 0

    registry.resetRequests()
    registry.tokenServer?.resetRequests()
    const latencies: number[] = []
    for (let index = 0; index < admissions; index++) latencies.push(await timed())
    const steadyRequests = await settledRequests(registry, admissions * tags)
    const tokenRequests = registry.tokenServer?.requests().length ?? 0

    // The burst server learns the challenge and a token with one admission, then waits out its burst window, so the
    // burst starts from the same state as the sequential admissions: only the manifest request is left to share.
    const sameTag = templateReview(bench.images.slice(1, 2))
    const primed = await concurrentSameTag(burstServer.origin, work.tls.caPem, sameTag, 1)
    if (primed.failures.length > 0) throw new Error(`cold ${bench.mode}: priming the burst server failed: ${primed.failures[0] ?? ''}`)
    await settledRequests(registry, 1)
    await sleep(1500)
    registry.resetRequests()
    const burst = await concurrentSameTag(burstServer.origin, work.tls.caPem, sameTag, concurrent)
    if (burst.failures.length > 0) throw new Error(`cold ${bench.mode}: ${burst.failures.length} of ${concurrent} concurrent admissions failed: ${burst.failures[0] ?? ''}`)
    const burstRequests = await settledRequests(registry, 1)

    const sorted = sortedCopy(latencies)
    return {
      mode: bench.mode,
      first_ms: firstMs,
      first_registry_requests: firstRequests,
      first_token_requests: firstTokens,
      admissions,
      p50_ms: median(latencies),
      p99_ms: percentile(sorted, 99),
      registry_requests_per_tag: steadyRequests / (admissions * tags),
      token_requests: tokenRequests,
      concurrent_admissions: concurrent,
      concurrent_same_tag_requests: burstRequests,
      concurrent_wall_ms: burst.wallMs
    }
  } finally {
    await client.close()
    await Promise.all([server.stop(), burstServer.stop()])
  }
}
