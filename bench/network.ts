import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { manifestAccept } from '../src/registry/types.js'
import { startCluster } from '../test/support/cluster.js'
import { loadClient, type LoadClient } from './load.js'
import { cpuSecondsOf, memoryOf } from './processes.js'
import type { BenchMode, BenchRegistry } from './registry.js'
import { pinnedImagesOf, podReview, templateReview } from './reviews.js'
import { startDigester, startOurs, type Running, type Workspace } from './servers.js'
import { median, percentile, sortedCopy } from './stats.js'
import type { Toxiproxy } from './toxiproxy.js'

/**
 * Issue 17 §1: the registry (and, in token mode, its token server) across a real round trip. toxiproxy sits between
 * every client and the registry; the webhooks themselves are posted to directly, as in the other sections.
 *
 * Round trips are counted in two ways, both reported:
 * - a latency in units of the emulated round trip (`*_rtts` = latency ÷ rtt): what a user feels, local work included;
 * - for the first admission of a fresh process, (latency at 80 ms − latency at 0 ms) ÷ 80 ms: the round trips the
 *   path itself added, without the process's own start-up work (JIT, first TLS context), which is the same at both.
 * toxiproxy accepts TCP connections itself, so TCP handshakes cost nothing here; a TLS 1.3 handshake costs one round
 * trip (ClientHello → ServerHello…Finished; the request follows the client's Finished), each HTTP exchange one.
 */

export const roundTrips = [0, 20, 80] as const
export const templateSizes = [1, 5, 10] as const

export interface NetworkCell {
  images: number
  samples: { ours: number, digester: number, floor: number }
  ours_p50_ms: number
  ours_p99_ms: number
  digester_p50_ms: number
  /** one HEAD of one manifest on a kept-alive connection through the same proxy, token already held */
  floor_p50_ms: number
  /** p50 ÷ rtt (null at 0 ms): what a user waits, local work (ours and the registry's) included */
  ours_rtts: number | null
  /**
   * (p50 at this rtt − p50 at 0 ms) ÷ rtt, both p50s from the same `added_pairs` admissions, sent alternately at 0 ms
   * and at this rtt: the round trips the path added; the targets are checked on this
   */
  ours_added_rtts: number | null
  /** the paired admissions behind ours_added_rtts (null at 0 ms) */
  added_pairs: PairedAdmissions | null
  digester_rtts: number | null
  floor_rtts: number | null
  /** ours p50 ÷ digester p50 */
  ours_over_digester: number
}

export interface PairedAdmissions {
  pairs: number
  at_0_p50_ms: number
  at_rtt_p50_ms: number
  /** CPU per admission over all of them (user + system, /proc; 10 ms ticks over 2 × pairs admissions) */
  ours_cpu_ms: number
  /** docker-registry's CPU per admission over the same admissions: most of the local work */
  registry_cpu_ms: number
}

export interface FirstAdmission {
  /** round trips the emulated path added to the first admission: (first at 80 ms − first at 0 ms) ÷ 80 */
  rtts: number
  /** the fewest round trips that admission can take on this path (see minimumRoundTrips) */
  minimum_rtts: number
  rtt_ms: number
  first_ms_at_rtt: number
  first_ms_at_0: number
  runs_ms_at_rtt: number[]
  runs_ms_at_0: number[]
}

export interface IdleAdmission {
  rtt_ms: number
  idle_seconds: number
  /** (the admission after the idle period − local_ms) ÷ rtt; the target is checked on this */
  rtts: number
  /**
   * median of 5 admissions at 0 ms taken right after it, each like it on a new connection to the webhook: the local
   * work at that moment (the 0 ms cell, minutes earlier, drifts by several ms; see ours_added_rtts)
   */
  local_ms: number
  /** the admission after the idle period ÷ rtt, local work included */
  raw_rtts: number
  ms: number
  /** median of three admissions just before the idle period, for comparison */
  before_ms: number
  /** the floor's kept-alive HEAD just before and just after the idle period (sent first: it wakes the proxy and registry) */
  floor_before_ms: number
  floor_after_ms: number
  /** our process's TCP connections to the registry (through the proxy) before the idle period, and how many survived it */
  registry_sockets_before: number
  registry_sockets_kept: number
  registry_sockets_after: number
}

/** Local ports of `pid`'s established TCP connections to `host` ('127.0.0.1:PORT'), from `ss`. */
function socketsOf (pid: number, host: string): Set<string> {
  const [address, port] = host.split(':')
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `${address ?? ''}:${port ?? ''}`]).toString()
  return new Set(out.split('\n').filter((line) => line.includes(`pid=${pid},`)).map((line) => line.trim().split(/\s+/)[2] ?? ''))
}

export interface NetworkFigures {
  network: Record<string, Record<string, Record<string, NetworkCell>>>
  first_admission: Record<string, FirstAdmission>
  idle_admission: Record<string, IdleAdmission>
  /** absent when the run had no other registry build */
  registry_comparison?: RegistryComparison
}

/** Issue 17 §3's cold case, measured here because it needs the round trip: peak RSS of a fresh process under a burst. */
export interface ColdBurstMemory {
  peak_mb: number
  rss_mb: number
  admissions: number
  load: string
  wall_ms: number
}

/**
 * The ours ÷ digester cell (20 ms, 5 images) measured again against another build of distribution, in the same run:
 * docker-registry 2.8.2 spends most of a 5-image admission's local time on its own CPU (BENCHMARKS.md, issue 17).
 */
export interface RegistryComparison {
  /** e.g. "distribution v3.0.0" */
  registry: string
  rtt_ms: number
  /** by mode; each cell has its added_pairs (with the registry's CPU per admission) */
  cells: Record<string, NetworkCell>
}

export interface NetworkOptions {
  /** registries of another distribution build, one per mode, for RegistryComparison; none: the comparison is skipped */
  comparison?: { registry: string, registries: BenchRegistry[] } | undefined
  oursSamples: number
  /** the digester at 80 ms and 10 images takes seconds per admission: fewer samples there */
  digesterSamples: (rttMs: number) => number
  firstRuns: number
  idleSeconds: number
  log: (line: string) => void
}

/**
 * Plain HTTP without auth: the HEAD, 1. TLS + token: the TLS handshake 1, the HEAD answered 401 1, the token server
 * (another origin, so its own TLS handshake) 1 + 1, the HEAD with the token 1: 5. Lookups of several tags run in
 * parallel, so the count does not grow with the template.
 */
export function minimumRoundTrips (mode: BenchMode): number {
  return mode === 'http' ? 1 : 5
}

/** A bench registry seen through the proxy: every reference names the proxy's host:port. */
interface Proxied {
  mode: BenchMode
  bench: BenchRegistry
  host: string
  baseUrl: string
  images: string[]
  tenImages: string[]
  digests: Map<string, string>
  settings: Record<string, unknown>
  dockerConfigFile: string
  /** a bearer token for the floor's HEAD (token mode) */
  floorAuthorization: string | undefined
  restore: () => Promise<void>
}

/** `label` names the proxies and files of this registry; two registries of one mode need two labels. */
export async function proxyRegistry (bench: BenchRegistry, toxiproxy: Toxiproxy, dir: string, label: string = bench.mode): Promise<Proxied> {
  const { registry } = bench
  const host = await toxiproxy.proxy(`registry-${label}`, registry.host)
  let restore = async (): Promise<void> => {}
  const tokenServer = registry.tokenServer
  if (tokenServer !== undefined) {
    // The registry names its token realm in every challenge: point it at the proxy, so the token costs round trips too.
    const tokenHost = await toxiproxy.proxy(`token-${label}`, new URL(tokenServer.origin).host)
    const original = await readFile(registry.configFile, 'utf8')
    const proxiedOrigin = `${new URL(tokenServer.origin).protocol}//${tokenHost}`
    if (!original.includes(tokenServer.origin)) throw new Error(`the registry's config does not name its realm ${tokenServer.origin}`)
    await writeFile(registry.configFile, original.replaceAll(tokenServer.origin, proxiedOrigin))
    await registry.restart()
    restore = async () => {
      await writeFile(registry.configFile, original)
      await registry.restart()
    }
  }
  const rename = (image: string): string => `${host}${image.slice(registry.host.length)}`
  const digests = new Map([...bench.digests].map(([image, digest]) => [rename(image), digest]))
  const auths = registry.username === undefined || registry.password === undefined
    ? {}
    : { [host]: { auth: Buffer.from(`${registry.username}:${registry.password}`).toString('base64') } }
  const dockerConfigFile = join(dir, `network-${label}.config.json`)
  await writeFile(dockerConfigFile, JSON.stringify({ auths }), { mode: 0o600 })
  const floorAuthorization = tokenServer === undefined || registry.service === undefined
    ? undefined
    : `Bearer ${await tokenServer.issueToken({ subject: registry.username ?? '', service: registry.service, access: [{ type: 'repository', name: 'pause', actions: ['pull'] }], expiresIn: 3600 })}`
  return {
    mode: bench.mode,
    bench,
    host,
    baseUrl: `${registry.tls ? 'https' : 'http'}://${host}`,
    images: bench.images.map(rename),
    tenImages: bench.tenImages.map(rename),
    digests,
    settings: registry.tls ? { host, caFile: registry.caFile } : { host, insecure: true },
    dockerConfigFile,
    floorAuthorization,
    restore
  }
}

export function imagesOf (proxied: Proxied, count: number): string[] {
  return proxied.tenImages.slice(0, count)
}

/** Our template for `images` distinct references: an ActorTemplate needs a container, so one image is also its pause image. */
export function ourReview (images: string[]): string {
  return templateReview(images.length === 1 ? [images[0] ?? '', images[0] ?? ''] : images)
}

function checkPinned (who: string, body: string, proxied: Proxied, images: string[]): void {
  const pinned = new Set(pinnedImagesOf(body))
  const missing = images.filter((image) => !pinned.has(`${image}@${proxied.digests.get(image) ?? '?'}`))
  if (missing.length > 0) throw new Error(`${who} (${proxied.mode}) did not pin ${missing.join(', ')}: ${body.slice(0, 300)}`)
}

export async function timedAdmission (who: string, client: LoadClient, proxied: Proxied, images: string[]): Promise<number> {
  const sent = performance.now()
  const answer = await client.once()
  const ms = performance.now() - sent
  if (answer.status !== 200) throw new Error(`${who} (${proxied.mode}) answered ${answer.status}: ${answer.body.slice(0, 300)}`)
  checkPinned(who, answer.body, proxied, images)
  return ms
}

/** One HEAD of one manifest through the proxy on a connection that stays open: the least a lookup can cost. */
export function floorClient (proxied: Proxied): { head: () => Promise<number>, close: () => Promise<void> } {
  const ca = proxied.bench.registry.caPem
  const client = new Client(proxied.baseUrl, { keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000, ...(ca === undefined ? {} : { connect: { ca } }) })
  const headers: Record<string, string> = { accept: manifestAccept }
  if (proxied.floorAuthorization !== undefined) headers['authorization'] = proxied.floorAuthorization
  return {
    head: async () => {
      const sent = performance.now()
      const response = await client.request({ path: '/v2/pause/manifests/3.10', method: 'HEAD', headers, reset: false })
      await response.body.dump()
      const ms = performance.now() - sent
      if (response.statusCode !== 200) throw new Error(`floor HEAD (${proxied.mode}) answered ${response.statusCode}`)
      return ms
    },
    close: async () => { await client.close() }
  }
}

const path = '/mutate?timeout=30s'

function serverFor (ours: Map<BenchMode, Running>, entry: Proxied): Running {
  const server = ours.get(entry.mode)
  if (server === undefined) throw new Error(`no server for ${entry.mode}`)
  return server
}

/** BENCH_RESOLVER='{"maxLookupsInFlightPerRegistry":11}' tries other resolver settings in this section (not the shipped ones). */
const resolverOverride = JSON.parse(process.env['BENCH_RESOLVER'] ?? '{}') as Record<string, unknown>

export function ourConfig (proxied: Proxied): Record<string, unknown> {
  // Every admission asks the registry (no cache, no burst window): the path under test is the lookup itself.
  return { resolver: { cacheTtlSeconds: 0, burstWindowMs: 0, ...resolverOverride }, registries: [proxied.settings], credentials: { dockerConfigFiles: [proxied.dockerConfigFile] } }
}

async function measureCell (work: Workspace, proxied: Proxied, ours: Running, digester: Running, count: number, rttMs: number,
  options: NetworkOptions): Promise<NetworkCell> {
  const images = imagesOf(proxied, count)
  const oursClient = loadClient({ origin: ours.origin, path, body: ourReview(images), ca: work.tls.caPem }, 1)
  const digesterClient = loadClient({ origin: digester.origin, path: '/v1/mutate', body: podReview(images), ca: work.tls.caPem }, 1)
  const floor = floorClient(proxied)
  try {
    // Untimed: connections open and tokens held, the steady state the section measures.
    await timedAdmission('ours', oursClient, proxied, images)
    await timedAdmission('digester', digesterClient, proxied, images)
    await floor.head()
    const samples = { ours: [] as number[], digester: [] as number[], floor: [] as number[] }
    const digesterSamples = options.digesterSamples(rttMs)
    for (let index = 0; index < options.oursSamples; index++) {
      samples.ours.push(await timedAdmission('ours', oursClient, proxied, images))
      if (index < digesterSamples) samples.digester.push(await timedAdmission('digester', digesterClient, proxied, images))
      samples.floor.push(await floor.head())
    }
    const inRtts = (ms: number): number | null => rttMs === 0 ? null : ms / rttMs
    const oursP50 = median(samples.ours)
    const digesterP50 = median(samples.digester)
    const floorP50 = median(samples.floor)
    return {
      images: count,
      samples: { ours: samples.ours.length, digester: samples.digester.length, floor: samples.floor.length },
      ours_p50_ms: oursP50,
      ours_p99_ms: percentile(sortedCopy(samples.ours), 99),
      digester_p50_ms: digesterP50,
      floor_p50_ms: floorP50,
      ours_rtts: inRtts(oursP50),
      ours_added_rtts: null,
      added_pairs: null,
      digester_rtts: inRtts(digesterP50),
      floor_rtts: inRtts(floorP50),
      ours_over_digester: oursP50 / digesterP50
    }
  } finally {
    await Promise.all([oursClient.close(), digesterClient.close(), floor.close()])
  }
}

/**
 * Our admissions of one template sent alternately at 0 ms and at `rttMs`, `pairs` of each. The local work (our
 * process's, the registry's, the proxy's, on two cores shared with everything else) is 10–30 ms for 5–10 images and
 * drifts by several ms between minutes; subtracting a 0 ms p50 measured minutes earlier moved the added count of a
 * 20 ms cell by ±0.5 round trips from run to run. Taken side by side, both p50s see the same machine.
 */
async function pairedAdmissions (work: Workspace, toxiproxy: Toxiproxy, proxied: Proxied, ours: Running, count: number,
  rttMs: number, pairs: number): Promise<PairedAdmissions> {
  const images = imagesOf(proxied, count)
  const client = loadClient({ origin: ours.origin, path, body: ourReview(images), ca: work.tls.caPem }, 1)
  const atZero: number[] = []
  const atRtt: number[] = []
  const registryPid = proxied.bench.registry.pid()
  if (registryPid === undefined) throw new Error(`the ${proxied.mode} registry is not running`)
  let cpu = { ours: 0, registry: 0 }
  try {
    await timedAdmission('ours', client, proxied, images)
    cpu = { ours: cpuSecondsOf(ours.child.pid), registry: cpuSecondsOf(registryPid) }
    for (let index = 0; index < pairs; index++) {
      await toxiproxy.setRoundTrip(0)
      atZero.push(await timedAdmission('ours', client, proxied, images))
      await toxiproxy.setRoundTrip(rttMs)
      atRtt.push(await timedAdmission('ours', client, proxied, images))
    }
    cpu = { ours: cpuSecondsOf(ours.child.pid) - cpu.ours, registry: cpuSecondsOf(registryPid) - cpu.registry }
  } finally {
    await client.close()
  }
  const perAdmissionMs = (seconds: number): number => seconds * 1000 / (2 * pairs)
  return {
    pairs,
    at_0_p50_ms: median(atZero),
    at_rtt_p50_ms: median(atRtt),
    ours_cpu_ms: perAdmissionMs(cpu.ours),
    registry_cpu_ms: perAdmissionMs(cpu.registry)
  }
}

/**
 * One 5-image admission on a new connection to our webhook, opened (and its TLS handshake done) before the clock
 * starts: only the registry side is under test.
 */
async function freshConnectionAdmission (work: Workspace, server: Running, proxied: Proxied, who: string): Promise<number> {
  const client = new Client(server.origin, { connect: { ca: work.tls.caPem, servername: 'localhost' } })
  try {
    await (await client.request({ path: '/readyz', method: 'GET' })).body.dump()
    const sent = performance.now()
    const response = await client.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: ourReview(proxied.images) })
    const body = await response.body.text()
    const ms = performance.now() - sent
    if (response.statusCode !== 200) throw new Error(`${who} (${proxied.mode}) answered ${response.statusCode}: ${body.slice(0, 300)}`)
    checkPinned(who, body, proxied, proxied.images)
    return ms
  } finally {
    await client.close()
  }
}

/** The first admission of fresh processes (5 images), median of `runs`. */
async function firstAdmissions (work: Workspace, proxied: Proxied, runs: number, label: string): Promise<number[]> {
  const times: number[] = []
  for (let run = 0; run < runs; run++) {
    const server = await startOurs(work, `ours-first-${proxied.mode}-${label}-${run}`, ourConfig(proxied))
    const client = loadClient({ origin: server.origin, path, body: ourReview(proxied.images), ca: work.tls.caPem }, 1)
    try {
      times.push(await timedAdmission('ours (first)', client, proxied, proxied.images))
    } finally {
      await client.close()
      await server.stop()
    }
  }
  return times
}

/**
 * 100 admissions of the 10-image template at once, each on its own open connection, against a fresh process at 80 ms
 * (TLS + token registry, no cache, no burst window: 1,000 lookups, all of them asked).
 */
async function coldBurst (work: Workspace, proxied: Proxied, count: number): Promise<ColdBurstMemory> {
  const server = await startOurs(work, `ours-burst-memory-${proxied.mode}`, ourConfig(proxied))
  const body = ourReview(proxied.tenImages)
  const clients = Array.from({ length: count }, () => new Client(server.origin, { connect: { ca: work.tls.caPem, servername: 'localhost' } }))
  try {
    await Promise.all(clients.map(async (client) => { await (await client.request({ path: '/readyz', method: 'GET' })).body.dump() }))
    const started = performance.now()
    const answers = await Promise.all(clients.map(async (client) => {
      const response = await client.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      return { status: response.statusCode, body: await response.body.text() }
    }))
    const wallMs = performance.now() - started
    for (const answer of answers) {
      if (answer.status !== 200) throw new Error(`cold burst (${proxied.mode}) answered ${answer.status}: ${answer.body.slice(0, 300)}`)
      checkPinned('ours (cold burst)', answer.body, proxied, proxied.tenImages)
    }
    const { peakMb, rssMb } = memoryOf(server.child.pid)
    return { peak_mb: peakMb, rss_mb: rssMb, admissions: count, wall_ms: wallMs, load: `${count} concurrent admissions × 10 images, ${proxied.mode} registry, no cache` }
  } finally {
    await Promise.all(clients.map(async (client) => { await client.close() }))
    await server.stop()
  }
}

/**
 * One digester for both modes of one registry build: it reads credentials from DOCKER_CONFIG (the token registry's
 * user, or the only registry's) and trusts the token registry's CA. `name` is its config directory's and its log's name.
 */
export async function startNetworkDigester (work: Workspace, kubeconfig: string, proxied: Proxied[], name: string): Promise<Running> {
  const token = proxied.find((entry) => entry.mode === 'token')
  const configDir = join(work.dir, name)
  await mkdir(configDir, { recursive: true })
  await writeFile(join(configDir, 'config.json'), await readFile(token?.dockerConfigFile ?? proxied[0]?.dockerConfigFile ?? '', 'utf8'), { mode: 0o600 })
  return await startDigester(work, { kubeconfig, caFile: token?.bench.registry.caFile, dockerConfigDir: configDir, logName: `${name}.log` })
}

const comparisonRtt = 20
const comparisonImages = 5
/**
 * Untimed admissions at 0 ms before a fresh server's comparison cell: the main section's servers have answered 100+
 * (its 0, 20 and 80 ms cells) before their pairs are measured, and V8 optimises the hot path only after many calls.
 */
const comparisonWarmUps = 100

async function warmUp (work: Workspace, proxied: Proxied, ours: Running, admissions: number): Promise<void> {
  const images = imagesOf(proxied, comparisonImages)
  const client = loadClient({ origin: ours.origin, path, body: ourReview(images), ca: work.tls.caPem }, 1)
  try {
    for (let index = 0; index < admissions; index++) await timedAdmission('ours', client, proxied, images)
  } finally {
    await client.close()
  }
}

/** RegistryComparison: its own proxies, its own digester (credentials and CA differ), our server per registry. */
async function compareRegistry (work: Workspace, toxiproxy: Toxiproxy, kubeconfig: string, comparison: NonNullable<NetworkOptions['comparison']>,
  options: NetworkOptions): Promise<RegistryComparison> {
  const proxied: Proxied[] = []
  const running: Running[] = []
  try {
    for (const bench of comparison.registries) proxied.push(await proxyRegistry(bench, toxiproxy, work.dir, `other-${bench.mode}`))
    const digester = await startNetworkDigester(work, kubeconfig, proxied, 'network-digester-other')
    running.push(digester)
    const cells: Record<string, NetworkCell> = {}
    for (const entry of proxied) {
      const ours = await startOurs(work, `ours-network-other-${entry.mode}`, ourConfig(entry))
      running.push(ours)
      await toxiproxy.setRoundTrip(0)
      await warmUp(work, entry, ours, comparisonWarmUps)
      await toxiproxy.setRoundTrip(comparisonRtt)
      const cell = await measureCell(work, entry, ours, digester, comparisonImages, comparisonRtt, options)
      const pairs = await pairedAdmissions(work, toxiproxy, entry, ours, comparisonImages, comparisonRtt, options.oursSamples)
      cell.added_pairs = pairs
      cell.ours_added_rtts = (pairs.at_rtt_p50_ms - pairs.at_0_p50_ms) / comparisonRtt
      cells[entry.mode] = cell
      options.log(`${comparison.registry}, ${comparisonRtt} ms ${entry.mode} ${comparisonImages} images: ours p50 ${cell.ours_p50_ms.toFixed(1)} ms, ` +
        `digester p50 ${cell.digester_p50_ms.toFixed(1)} ms → ${cell.ours_over_digester.toFixed(3)}; CPU per admission ours ` +
        `${pairs.ours_cpu_ms.toFixed(1)} ms, registry ${pairs.registry_cpu_ms.toFixed(1)} ms`)
    }
    return { registry: comparison.registry, rtt_ms: comparisonRtt, cells }
  } finally {
    await toxiproxy.setRoundTrip(0).catch(() => {})
    await Promise.all(running.map(async (server) => { await server.stop() }))
    for (const entry of proxied) await entry.restore()
  }
}

export async function benchNetwork (work: Workspace, registries: BenchRegistry[], toxiproxy: Toxiproxy, options: NetworkOptions):
Promise<NetworkFigures & { cold_burst_memory: ColdBurstMemory }> {
  const proxied: Proxied[] = []
  const cluster = await startCluster()
  const running: Running[] = []
  try {
    for (const bench of registries) proxied.push(await proxyRegistry(bench, toxiproxy, work.dir))
    const digester = await startNetworkDigester(work, cluster.kubeconfig, proxied, 'network-digester')
    running.push(digester)
    const ours = new Map<BenchMode, Running>()
    for (const entry of proxied) {
      const server = await startOurs(work, `ours-network-${entry.mode}`, ourConfig(entry))
      running.push(server)
      ours.set(entry.mode, server)
    }

    const network: NetworkFigures['network'] = {}
    for (const rttMs of roundTrips) {
      await toxiproxy.setRoundTrip(rttMs)
      const byMode: Record<string, Record<string, NetworkCell>> = {}
      for (const entry of proxied) {
        const cells: Record<string, NetworkCell> = {}
        for (const count of templateSizes) {
          const cell = await measureCell(work, entry, serverFor(ours, entry), digester, count, rttMs, options)
          cells[`images_${count}`] = cell
          options.log(`network ${rttMs} ms ${entry.mode} ${count} images: ours p50 ${cell.ours_p50_ms.toFixed(1)} ms, ` +
            `digester p50 ${cell.digester_p50_ms.toFixed(1)} ms, floor p50 ${cell.floor_p50_ms.toFixed(1)} ms`)
        }
        byMode[entry.mode] = cells
      }
      network[`${rttMs}ms`] = byMode
    }
    // Local work (our process, the registry's, the proxy's) is what remains at 0 ms; the rest is round trips.
    for (const [rtt, byMode] of Object.entries(network)) {
      const rttMs = Number.parseFloat(rtt)
      if (rttMs === 0) continue
      for (const entry of proxied) {
        for (const [size, cell] of Object.entries(byMode[entry.mode] ?? {})) {
          const pairs = await pairedAdmissions(work, toxiproxy, entry, serverFor(ours, entry), cell.images, rttMs, options.oursSamples)
          cell.added_pairs = pairs
          cell.ours_added_rtts = (pairs.at_rtt_p50_ms - pairs.at_0_p50_ms) / rttMs
          options.log(`added round trips ${rtt} ${entry.mode} ${size}: ${pairs.at_0_p50_ms.toFixed(1)} ms at 0 ms, ` +
            `${pairs.at_rtt_p50_ms.toFixed(1)} ms at ${rtt} (${pairs.pairs} pairs) → ${cell.ours_added_rtts.toFixed(2)}; CPU per admission ` +
            `ours ${pairs.ours_cpu_ms.toFixed(1)} ms, docker-registry ${pairs.registry_cpu_ms.toFixed(1)} ms`)
        }
      }
    }

    const comparison = options.comparison === undefined
      ? undefined
      : await compareRegistry(work, toxiproxy, cluster.kubeconfig, options.comparison, options)

    const firstRtt = roundTrips[roundTrips.length - 1] ?? 80
    const firstAt0 = new Map<BenchMode, number[]>()
    const firstAtRtt = new Map<BenchMode, number[]>()
    await toxiproxy.setRoundTrip(0)
    for (const entry of proxied) firstAt0.set(entry.mode, await firstAdmissions(work, entry, options.firstRuns, '0ms'))
    await toxiproxy.setRoundTrip(firstRtt)
    for (const entry of proxied) firstAtRtt.set(entry.mode, await firstAdmissions(work, entry, options.firstRuns, `${firstRtt}ms`))
    const first_admission: Record<string, FirstAdmission> = {}
    for (const entry of proxied) {
      const at0 = firstAt0.get(entry.mode) ?? []
      const atRtt = firstAtRtt.get(entry.mode) ?? []
      first_admission[entry.mode] = {
        rtts: (median(atRtt) - median(at0)) / firstRtt,
        minimum_rtts: minimumRoundTrips(entry.mode),
        rtt_ms: firstRtt,
        first_ms_at_rtt: median(atRtt),
        first_ms_at_0: median(at0),
        runs_ms_at_rtt: atRtt,
        runs_ms_at_0: at0
      }
      options.log(`first admission ${entry.mode}: ${median(at0).toFixed(1)} ms at 0 ms, ${median(atRtt).toFixed(1)} ms at ${firstRtt} ms ` +
        `→ ${(first_admission[entry.mode]?.rtts ?? Number.NaN).toFixed(2)} round trips (minimum ${minimumRoundTrips(entry.mode)})`)
    }

    const burstRegistry = proxied.find((entry) => entry.mode === 'token') ?? proxied[0]
    if (burstRegistry === undefined) throw new Error('no registry')
    const coldBurstMemory = await coldBurst(work, burstRegistry, 100)
    options.log(`cold burst at ${firstRtt} ms: 100 × 10 images in ${coldBurstMemory.wall_ms.toFixed(0)} ms, peak RSS ${coldBurstMemory.peak_mb.toFixed(1)} MB`)

    // Idle: fresh servers (their tokens are new, so still valid after the idle period: the test registry's tokens
    // live 300 s, as Docker Hub's do), warm at 20 ms, then left alone as rare CREATEs leave them.
    const idleRtt = 20
    await toxiproxy.setRoundTrip(idleRtt)
    for (const server of ours.values()) await server.stop()
    for (const entry of proxied) {
      const server = await startOurs(work, `ours-idle-${entry.mode}`, ourConfig(entry))
      running.push(server)
      ours.set(entry.mode, server)
    }
    const idle_admission: Record<string, IdleAdmission> = {}
    const before = new Map<BenchMode, { ms: number, floorMs: number, sockets: Set<string> }>()
    const floors = new Map(proxied.map((entry) => [entry.mode, floorClient(entry)]))
    try {
      for (const entry of proxied) {
        const client = loadClient({ origin: serverFor(ours, entry).origin, path, body: ourReview(entry.images), ca: work.tls.caPem }, 1)
        try {
          await timedAdmission('ours', client, entry, entry.images)
          const times = []
          for (let index = 0; index < 3; index++) times.push(await timedAdmission('ours', client, entry, entry.images))
          const floorMs = await floors.get(entry.mode)?.head() ?? Number.NaN
          before.set(entry.mode, { ms: median(times), floorMs, sockets: socketsOf(serverFor(ours, entry).child.pid, entry.host) })
        } finally {
          await client.close()
        }
      }
      options.log(`idle: ${options.idleSeconds} s without admissions at ${idleRtt} ms`)
      await sleep(options.idleSeconds * 1000)
      for (const entry of proxied) {
        const server = serverFor(ours, entry)
        const earlier = before.get(entry.mode) ?? { ms: Number.NaN, floorMs: Number.NaN, sockets: new Set<string>() }
        // The previous mode's reference admissions ran at 0 ms.
        await toxiproxy.setRoundTrip(idleRtt)
        // The floor goes first: whatever the proxy and the registry pay to wake up is not the webhook's doing.
        const floorAfterMs = await floors.get(entry.mode)?.head() ?? Number.NaN
        const ms = await freshConnectionAdmission(work, server, entry, 'ours after idle')
        const after = socketsOf(server.child.pid, entry.host)
        await toxiproxy.setRoundTrip(0)
        const local: number[] = []
        for (let index = 0; index < 5; index++) local.push(await freshConnectionAdmission(work, server, entry, 'ours at 0 ms after idle'))
        const localMs = median(local)
        idle_admission[entry.mode] = {
          rtt_ms: idleRtt,
          idle_seconds: options.idleSeconds,
          rtts: (ms - localMs) / idleRtt,
          local_ms: localMs,
          raw_rtts: ms / idleRtt,
          ms,
          before_ms: earlier.ms,
          floor_before_ms: earlier.floorMs,
          floor_after_ms: floorAfterMs,
          registry_sockets_before: earlier.sockets.size,
          registry_sockets_kept: [...earlier.sockets].filter((port) => after.has(port)).length,
          registry_sockets_after: after.size
        }
        options.log(`after ${options.idleSeconds} s idle, ${entry.mode}: ${ms.toFixed(1)} ms (before: ${earlier.ms.toFixed(1)} ms; at 0 ms ` +
          `right after: ${localMs.toFixed(1)} ms; floor ${earlier.floorMs.toFixed(1)} → ${floorAfterMs.toFixed(1)} ms); registry sockets ` +
          `${earlier.sockets.size} before, ${idle_admission[entry.mode]?.registry_sockets_kept ?? 0} of them still open after`)
      }
    } finally {
      await Promise.all([...floors.values()].map(async (floor) => { await floor.close() }))
    }
    return { network, first_admission, idle_admission, cold_burst_memory: coldBurstMemory, ...(comparison === undefined ? {} : { registry_comparison: comparison }) }
  } finally {
    await toxiproxy.setRoundTrip(0).catch(() => {})
    await Promise.all(running.map(async (server) => { await server.stop() }))
    for (const entry of proxied) await entry.restore()
    await cluster.stop()
  }
}
