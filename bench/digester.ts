import { performance } from 'node:perf_hooks'
import { startCluster } from '../test/support/cluster.js'
import { loadClient, type LoadClient } from './load.js'
import { memoryOf } from './processes.js'
import { settledRequests, type BenchRegistry } from './registry.js'
import { pinnedImagesOf, podReview, templateReview } from './reviews.js'
import { startDigester, startOurs, type Running, type Workspace } from './servers.js'
import { median } from './stats.js'
import { alternate, startWarmOurs, warmBody, type Timing } from './warm.js'

/**
 * Side by side with google/k8s-digester (issue 6 §3), run as the webhook its manifests deploy: its controller
 * manager connects to a real kube-apiserver (test/support/cluster.ts) and serves /v1/mutate over TLS. Both
 * webhooks get the same AdmissionReview envelope over HTTPS keep-alive from the same client, ours for an
 * ActorTemplate and the digester's for a Pod, each holding the same five tags of the same registry. The apiserver
 * would add the same hop in front of either, so the bench posts to both directly.
 */

export interface DigesterColdFigures {
  mode: string
  admissions: number
  ours_p50_ms: number
  digester_p50_ms: number
  /** ours ÷ digester (target ≤ 1/3: at least 3× faster) */
  latency_ratio: number
  digester_registry_requests_per_tag: number
  digester_token_requests_per_tag: number
}

export interface DigesterFigures {
  mode: 'webhook'
  version: string
  ready_ms: number
  cold: DigesterColdFigures[]
  warm: { concurrency: number, ours_rps: number, digester_rps: number, ours_p99_ms: number, digester_p99_ms: number, ours_cpu_us: number, digester_cpu_us: number, throughput_ratio: number, registry: string }
  peak_rss_mb: number
}

const path = '/mutate?timeout=10s'

function checkPinned (who: string, body: string, bench: BenchRegistry): void {
  const pinned = pinnedImagesOf(body)
  const expected = bench.images.map((image) => `${image}@${bench.digests.get(image) ?? '?'}`)
  if (pinned.sort().join() !== expected.sort().join()) throw new Error(`${who} pinned [${pinned.join(', ')}]; expected [${expected.join(', ')}]`)
}

async function coldPair (work: Workspace, bench: BenchRegistry, digester: Running, admissions: number): Promise<DigesterColdFigures> {
  const ours = await startOurs(work, `ours-vs-digester-${bench.mode}`, {
    // Cold means asked: no cache, no burst window (the digester has neither).
    resolver: { cacheTtlSeconds: 0, burstWindowMs: 0 },
    registries: [bench.settings],
    credentials: { dockerConfigFiles: [bench.dockerConfigFile] }
  })
  const clients: Array<[string, LoadClient]> = [
    ['ours', loadClient({ origin: ours.origin, path, body: templateReview(bench.images), ca: work.tls.caPem }, 1)],
    ['digester', loadClient({ origin: digester.origin, path: '/v1/mutate', body: podReview(bench.images), ca: work.tls.caPem }, 1)]
  ]
  try {
    // One untimed admission each opens connections and, for us, caches the token: the steady state.
    for (const [who, client] of clients) {
      const answer = await client.once()
      if (answer.status !== 200) throw new Error(`${who} answered ${answer.status}: ${answer.body.slice(0, 300)}`)
      checkPinned(`${who} (${bench.mode})`, answer.body, bench)
    }
    const latencies: [number[], number[]] = [[], []]
    let digesterRequests = 0
    let digesterTokens = 0
    for (let index = 0; index < admissions; index++) {
      for (const [slot, [who, client]] of clients.entries()) {
        if (who === 'digester') {
          bench.registry.resetRequests()
          bench.registry.tokenServer?.resetRequests()
        }
        const sent = performance.now()
        const answer = await client.once()
        latencies[slot]?.push(performance.now() - sent)
        if (answer.status !== 200) throw new Error(`${who} answered ${answer.status}: ${answer.body.slice(0, 300)}`)
        if (who === 'digester') {
          digesterRequests += await settledRequests(bench.registry, bench.images.length)
          digesterTokens += bench.registry.tokenServer?.requests().length ?? 0
        }
      }
    }
    const oursP50 = median(latencies[0])
    const digesterP50 = median(latencies[1])
    return {
      mode: bench.mode,
      admissions,
      ours_p50_ms: oursP50,
      digester_p50_ms: digesterP50,
      latency_ratio: oursP50 / digesterP50,
      digester_registry_requests_per_tag: digesterRequests / (admissions * bench.images.length),
      digester_token_requests_per_tag: digesterTokens / (admissions * bench.images.length)
    }
  } finally {
    await Promise.all(clients.map(async ([, client]) => { await client.close() }))
    await ours.stop()
  }
}

export async function benchDigester (work: Workspace, version: string, registries: { http: BenchRegistry, token: BenchRegistry },
  admissions: number, warmConcurrency: number, timing: Timing, log: (line: string) => void): Promise<DigesterFigures> {
  const cluster = await startCluster()
  try {
    const digester = await startDigester(work, {
      kubeconfig: cluster.kubeconfig,
      caFile: registries.token.registry.caFile,
      dockerConfigDir: registries.token.dockerConfigDir
    })
    try {
      const cold: DigesterColdFigures[] = []
      for (const bench of [registries.http, registries.token]) {
        const figures = await coldPair(work, bench, digester, admissions)
        cold.push(figures)
        log(`digester cold ${bench.mode}: ours p50 ${figures.ours_p50_ms.toFixed(1)} ms, digester p50 ${figures.digester_p50_ms.toFixed(1)} ms ` +
          `(${figures.digester_registry_requests_per_tag.toFixed(2)} registry requests per tag)`)
      }

      const bench = registries.http
      const { server: ours } = await startWarmOurs(work, bench, 'ours-warm-vs-digester', warmBody(bench.images))
      const clients = [
        loadClient({ origin: ours.origin, path, body: warmBody(bench.images), ca: work.tls.caPem }, warmConcurrency),
        loadClient({ origin: digester.origin, path: '/v1/mutate', body: podReview(bench.images), ca: work.tls.caPem }, warmConcurrency)
      ]
      try {
        const [oursRounds = [], digesterRounds = []] = await alternate(clients, warmConcurrency, timing, [ours.child.pid, digester.child.pid])
        const errors = digesterRounds.reduce((sum, round) => sum + round.errors, 0)
        if (errors > 0) log(`digester warm: ${errors} failed admissions under load`)
        const oursRps = median(oursRounds.map((round) => round.rps))
        const digesterRps = median(digesterRounds.map((round) => round.rps))
        const warm = {
          concurrency: warmConcurrency,
          ours_rps: oursRps,
          digester_rps: digesterRps,
          ours_p99_ms: median(oursRounds.map((round) => round.p99Ms)),
          digester_p99_ms: median(digesterRounds.map((round) => round.p99Ms)),
          ours_cpu_us: median(oursRounds.map((round) => round.serverCpuUs ?? Number.NaN)),
          digester_cpu_us: median(digesterRounds.map((round) => round.serverCpuUs ?? Number.NaN)),
          throughput_ratio: oursRps / digesterRps,
          registry: bench.mode
        }
        log(`digester warm c=${warmConcurrency}: ours ${oursRps.toFixed(0)} req/s, digester ${digesterRps.toFixed(1)} req/s`)
        return { mode: 'webhook', version, ready_ms: digester.readyMs, cold, warm, peak_rss_mb: memoryOf(digester.child.pid).peakMb }
      } finally {
        await Promise.all(clients.map(async (client) => { await client.close() }))
        await ours.stop()
      }
    } finally {
      await digester.stop()
    }
  } finally {
    await cluster.stop()
  }
}
