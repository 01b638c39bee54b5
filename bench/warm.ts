import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadClient, type LoadClient, type LoadResult } from './load.js'
import { cpuSecondsOf, memoryOf } from './processes.js'
import type { BenchRegistry } from './registry.js'
import { settledRequests } from './registry.js'
import { pinnedImagesOf, templateReview } from './reviews.js'
import { startFloor, startOurs, type Running, type Workspace } from './servers.js'
import { median } from './stats.js'

/**
 * Warm path (issue 6 §1): every digest of the template is already in our cache, so an admission is decode →
 * plan → patch → answer. Ours and the floor are measured in alternating rounds at each concurrency, so a noisy
 * neighbour hits both alike; each figure is the median of the rounds.
 */

export interface Timing {
  warmupMs: number
  roundMs: number
  rounds: number
}

export interface LevelFigures {
  concurrency: number
  rps: number
  p50_ms: number
  p99_ms: number
  echo_rps: number
  echo_p50_ms: number
  echo_p99_ms: number
  throughput_ratio: number
  p99_ratio: number
  /** server CPU per admission (user + system), median of the rounds */
  cpu_us: number
  echo_cpu_us: number
  /** cores each server kept busy (CPU per admission × req/s); well under 1 at c ≥ 16 means others took the machine */
  cores: number
  echo_cores: number
  /** cores the load generator used while driving the floor; near 1.0 the floor figure is the client's limit */
  echo_client_cores: number
  /**
   * floor CPU ÷ our CPU per admission: the throughput ratio if each server had a core to itself, which holds
   * steadier than req/s on a shared machine
   */
  cpu_ratio: number
  errors: number
}

export interface WarmOutcome {
  levels: LevelFigures[]
  /** registry requests seen while the warm rounds ran (a warm path asks nobody) */
  registryRequests: number
  peakRssMb: number
  /** the floor server's peak under the same load: what the runtime and fastify alone cost */
  floorPeakRssMb: number
  /** the answer our server gave for the bench body, which the floor returns verbatim */
  answer: string
}

export const warmBody = (images: readonly string[]): string => templateReview(images)

/** Our webhook with the digest cache on, primed with one admission of `body`; checks every image got pinned. */
export async function startWarmOurs (work: Workspace, registry: BenchRegistry, name: string, body: string): Promise<{ server: Running, answer: string }> {
  const server = await startOurs(work, name, { resolver: { cacheTtlSeconds: 3600 }, registries: [registry.settings] })
  const client = loadClient({ origin: server.origin, path: '/mutate?timeout=10s', body, ca: work.tls.caPem }, 1)
  try {
    const first = await client.once()
    if (first.status !== 200) throw new Error(`${name} answered ${first.status}: ${first.body.slice(0, 300)}`)
    const pinned = pinnedImagesOf(first.body)
    const expected = registry.images.map((image) => `${image}@${registry.digests.get(image) ?? '?'}`)
    if (pinned.sort().join() !== expected.sort().join()) throw new Error(`${name} pinned ${pinned.join(', ')}; expected ${expected.join(', ')}`)
    return { server, answer: first.body }
  } catch (error) {
    await server.stop()
    throw error
  } finally {
    await client.close()
  }
}

function summarise (concurrency: number, ours: LoadResult[], floor: LoadResult[]): LevelFigures {
  const cpuUs = median(ours.map((round) => round.serverCpuUs ?? Number.NaN))
  const echoCpuUs = median(floor.map((round) => round.serverCpuUs ?? Number.NaN))
  const rps = median(ours.map((round) => round.rps))
  const p99 = median(ours.map((round) => round.p99Ms))
  const echoRps = median(floor.map((round) => round.rps))
  const echoP99 = median(floor.map((round) => round.p99Ms))
  return {
    concurrency,
    rps,
    p50_ms: median(ours.map((round) => round.p50Ms)),
    p99_ms: p99,
    echo_rps: echoRps,
    echo_p50_ms: median(floor.map((round) => round.p50Ms)),
    echo_p99_ms: echoP99,
    throughput_ratio: rps / echoRps,
    p99_ratio: p99 / echoP99,
    cpu_us: cpuUs,
    echo_cpu_us: echoCpuUs,
    cores: (cpuUs * rps) / 1e6,
    echo_cores: (echoCpuUs * echoRps) / 1e6,
    echo_client_cores: median(floor.map((round) => round.clientCores)),
    cpu_ratio: echoCpuUs / cpuUs,
    errors: [...ours, ...floor].reduce((sum, round) => sum + round.errors, 0)
  }
}

/**
 * Alternating rounds of several clients at one concurrency, after a warm-up of each; returns the rounds per client.
 * With the servers' pids, each round also says how much CPU the server spent per request.
 */
export async function alternate (clients: readonly LoadClient[], concurrency: number, timing: Timing,
  pids: ReadonlyArray<number | undefined> = []): Promise<LoadResult[][]> {
  for (const client of clients) await client.run(concurrency, timing.warmupMs)
  const rounds: LoadResult[][] = clients.map(() => [])
  for (let round = 0; round < timing.rounds; round++) {
    // Alternate who goes first, so neither always follows the other's garbage collection.
    const order = round % 2 === 0 ? clients.map((_, index) => index) : clients.map((_, index) => index).reverse()
    for (const index of order) {
      const pid = pids[index]
      const cpuBefore = pid === undefined ? 0 : cpuSecondsOf(pid)
      const result = await (clients[index] as LoadClient).run(concurrency, timing.roundMs)
      if (pid !== undefined) result.serverCpuUs = ((cpuSecondsOf(pid) - cpuBefore) * 1e6) / Math.max(1, result.requests)
      rounds[index]?.push(result)
    }
  }
  return rounds
}

export async function benchWarm (work: Workspace, registry: BenchRegistry, levels: readonly number[], timing: Timing,
  log: (line: string) => void): Promise<WarmOutcome> {
  const body = warmBody(registry.images)
  const { server: ours, answer } = await startWarmOurs(work, registry, 'ours-warm', body)
  const responseFile = join(work.dir, 'floor-response.json')
  await writeFile(responseFile, answer)
  const floor = await startFloor(work, responseFile)
  try {
    registry.registry.resetRequests()
    const figures: LevelFigures[] = []
    for (const concurrency of levels) {
      const clients = [ours, floor].map((server) => loadClient({ origin: server.origin, path: '/mutate?timeout=10s', body, ca: work.tls.caPem }, concurrency))
      try {
        const [oursRounds = [], floorRounds = []] = await alternate(clients, concurrency, timing, [ours.child.pid, floor.child.pid])
        const level = summarise(concurrency, oursRounds, floorRounds)
        figures.push(level)
        log(`warm c=${concurrency}: ours ${level.rps.toFixed(0)} req/s p99 ${level.p99_ms.toFixed(2)} ms; floor ${level.echo_rps.toFixed(0)} req/s p99 ${level.echo_p99_ms.toFixed(2)} ms; ` +
          `server CPU per admission ${level.cpu_us.toFixed(0)} µs vs ${level.echo_cpu_us.toFixed(0)} µs`)
      } finally {
        await Promise.all(clients.map(async (client) => { await client.close() }))
      }
    }
    const peakRssMb = memoryOf(ours.child.pid).peakMb
    const floorPeakRssMb = memoryOf(floor.child.pid).peakMb
    return { levels: figures, registryRequests: await settledRequests(registry.registry), peakRssMb, floorPeakRssMb, answer }
  } finally {
    await Promise.all([ours.stop(), floor.stop()])
  }
}
