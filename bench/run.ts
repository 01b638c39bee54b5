import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scriptOutput } from '../test/support/build-script.js'
import { writeTlsFiles } from '../test/support/tls.js'
import { benchCold } from './cold.js'
import { benchDigester } from './digester.js'
import { writeCharts } from './charts.js'
import { benchHostileMemory, idleMemory, type MemoryOptions } from './memory.js'
import { benchNetwork, type NetworkFigures, type NetworkOptions } from './network.js'
import { printableNetwork } from './network-report.js'
import { pinnedCore } from './processes.js'
import { startBenchRegistry, type BenchRegistry } from './registry.js'
import { buildResults, printable, rounded } from './report.js'
import { compileTypeScript, type Workspace } from './servers.js'
import { benchStartup } from './startup.js'
import { startToxiproxy } from './toxiproxy.js'
import { benchWarm } from './warm.js'

/**
 * `npm run bench` (issue 6): ours against the fastify floor and against google/k8s-digester, side by side in one run,
 * on loopback only. Writes bench/results.json and prints the table; see BENCHMARKS.md for how to read it.
 *
 * BENCH_QUICK=1   short rounds, for checking the bench itself (figures are not worth quoting)
 * BENCH_PROFILE=D our server runs with --cpu-prof, profiles in D (one per process)
 * BENCH_PIN=0     do not pin servers to a core of their own
 * BENCH_NODE_ARGS extra node flags for our server (space-separated), e.g. "--max-semi-space-size=4"
 * BENCH_OUR_MAIN=F run our server from F instead of the freshly compiled src (node_modules/.cache/atw-bench/dist/main.js)
 * BENCH_ONLY=S    run one section (startup, warm, cold, digester, network, memory), print its figures, leave results.json alone;
 *                 BENCH_ONLY=charts renders the charts again from bench/results.json
 * BENCH_IDLE_SECONDS=N  the network section's idle period (default 60, the figure)
 * BENCH_KEEP=1    keep the work directory (configs, server logs)
 * BENCH_LEVELS=L  the warm section's concurrencies, comma-separated (default 1,16,64), e.g. 16,64 for issue 17 §4
 * BENCH_BUILD_DIR=D compile into D (default node_modules/.cache/atw-bench); node_modules is shared between worktrees, so
 *                 two benches at once each need their own (D must sit where ../node_modules resolves, e.g. in the repo)
 */

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)))
const quick = process.env['BENCH_QUICK'] === '1'
const timing = quick ? { warmupMs: 500, roundMs: 1000, rounds: 3 } : { warmupMs: 2000, roundMs: 3000, rounds: 5 }
const levels = (process.env['BENCH_LEVELS'] ?? '1,16,64').split(',').map(Number)
const coldAdmissions = quick ? 10 : 40
const digesterAdmissions = quick ? 5 : 20
const digesterConcurrency = 16
const startupRuns = quick ? 3 : 7
const only = process.env['BENCH_ONLY']
const memoryOptions = (log: (line: string) => void): MemoryOptions => ({
  admissions: quick ? { manyImages: 50, manyHosts: 20, tokens60k: 20, tokens4m: 5 } : { manyImages: 400, manyHosts: 200, tokens60k: 150, tokens4m: 20 },
  log
})
const networkOptions = (log: (line: string) => void): NetworkOptions => ({
  oursSamples: quick ? 5 : 15,
  digesterSamples: (rttMs) => quick ? 2 : rttMs >= 80 ? 5 : 9,
  firstRuns: quick ? 1 : 3,
  idleSeconds: Number(process.env['BENCH_IDLE_SECONDS'] ?? 60),
  log
})

// Read before pinSelf() narrows this process's affinity, which availableParallelism() honours.
const machineCpus = availableParallelism()
const log = (line: string): void => { process.stderr.write(`bench: ${line}\n`) }

/**
 * Compiles src exactly as `npm run build` does, into a directory of the bench's own: other work on the same machine
 * may be building or testing dist/ at the same moment. node_modules/.cache resolves the same dependencies and is
 * outside every lint and git path.
 */
async function build (): Promise<{ ourMain: string, digesterBinary: string, digesterVersion: string, toxiproxyBinary: string, otherRegistry: OtherRegistry }> {
  const outDir = resolve(process.env['BENCH_BUILD_DIR'] ?? join(repoRoot, 'node_modules', '.cache', 'atw-bench'))
  log(`compiling src (tsc -p tsconfig.build.json --outDir ${relative(repoRoot, outDir)}/dist)`)
  await rm(join(outDir, 'dist'), { recursive: true, force: true })
  compileTypeScript(repoRoot, ['-p', join(repoRoot, 'tsconfig.build.json')], join(outDir, 'dist'))
  // BENCH_OUR_MAIN measures a candidate build (e.g. a patched copy of the compiled tree) against the same baselines.
  const ourMain = resolve(process.env['BENCH_OUR_MAIN'] ?? join(outDir, 'dist', 'main.js'))
  if (!existsSync(ourMain)) throw new Error(`${ourMain} was not built`)
  log('k8s-digester (scripts/build-digester.sh; cached after the first build)')
  const digesterBinary = await scriptOutput('build-digester.sh')
  const digesterVersion = /\/digester\/([^/]+)\/digester$/.exec(digesterBinary)?.[1] ?? 'unknown'
  log('toxiproxy (scripts/build-toxiproxy.sh; cached after the first build)')
  const toxiproxyBinary = await scriptOutput('build-toxiproxy.sh')
  log('distribution v3 for the network section\'s registry comparison (scripts/build-registry-v3.sh; cached after the first build)')
  const otherBinary = await scriptOutput('build-registry-v3.sh')
  const otherRegistry = { binary: otherBinary, name: `distribution ${/\/distribution\/([^/]+)\/registry$/.exec(otherBinary)?.[1] ?? 'v3'}` }
  return { ourMain, digesterBinary, digesterVersion, toxiproxyBinary, otherRegistry }
}

/** The network section's second registry build (NetworkOptions.comparison): its binary and how the report names it. */
interface OtherRegistry { binary: string, name: string }

function gitDescribe (): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], { cwd: repoRoot }).toString().trim() !== ''
    return dirty ? `${commit}+dirty-src` : commit
  } catch {
    return 'unknown'
  }
}

/** The load generator keeps the cores the servers under test do not get (processes.ts pins those). */
function pinSelf (): void {
  const core = pinnedCore()
  if (core === undefined) return
  execFileSync('taskset', ['-a', '-p', '-c', core === 1 ? '0' : `0-${core - 1}`, String(process.pid)], { stdio: 'ignore' })
}

async function main (): Promise<void> {
  if (only === 'charts') {
    const results = JSON.parse(await readFile(join(repoRoot, 'bench', 'results.json'), 'utf8')) as Parameters<typeof writeCharts>[0]
    for (const file of await writeCharts(results, join(repoRoot, 'bench'))) log(`wrote ${relative(repoRoot, file)}`)
    return
  }
  const major = Number(process.versions.node.split('.')[0])
  if (major !== 24) log(`warning: running on Node ${process.versions.node}; the project targets Node 24 (use npm run bench)`)
  const { ourMain, digesterBinary, digesterVersion, toxiproxyBinary, otherRegistry } = await build()
  const dir = await mkdtemp(join(tmpdir(), 'atw-bench-'))
  const profileDir = process.env['BENCH_PROFILE']
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true })
  const work: Workspace = {
    repoRoot,
    dir,
    tls: await writeTlsFiles(join(dir, 'tls')),
    ourMain,
    digesterBinary,
    ourNodeArgs: [
      ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((flag) => flag !== ''),
      ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`])
    ]
  }
  const registries: BenchRegistry[] = []
  const loadBefore = loadavg()[0] ?? 0
  // Others' test runs on a shared two-core machine move every absolute figure; the ratios suffer less (alternating rounds).
  if (loadBefore > 1) log(`warning: load average ${loadBefore.toFixed(2)} before the bench; absolute figures will be noisy`)
  try {
    log('starting registries (plain HTTP; TLS + token) and pushing 5 images to each')
    await mkdir(join(dir, 'http'))
    await mkdir(join(dir, 'token'))
    const http = await startBenchRegistry('http', join(dir, 'http'))
    registries.push(http)
    const token = await startBenchRegistry('token', join(dir, 'token'))
    registries.push(token)
    // Started before pinSelf(), like the two above, so the comparison's registries get the same cores.
    const others: BenchRegistry[] = []
    if (only === undefined || only === 'network') {
      log(`starting ${otherRegistry.name} registries (plain HTTP; TLS + token) for the network section's comparison`)
      for (const mode of ['http', 'token'] as const) {
        await mkdir(join(dir, `other-${mode}`))
        const other = await startBenchRegistry(mode, join(dir, `other-${mode}`), otherRegistry.binary)
        registries.push(other)
        others.push(other)
      }
    }
    pinSelf()
    const network = async (): Promise<Awaited<ReturnType<typeof benchNetwork>>> => {
      const toxiproxy = await startToxiproxy(toxiproxyBinary, join(dir, 'toxiproxy.log'))
      try {
        return await benchNetwork(work, [http, token], toxiproxy, { ...networkOptions(log), comparison: { registry: otherRegistry.name, registries: others } })
      } finally {
        await toxiproxy.close()
      }
    }
    if (only !== undefined) {
      const sections: Record<string, () => Promise<unknown>> = {
        startup: async () => await benchStartup(work, http, startupRuns),
        warm: async () => await benchWarm(work, http, levels, timing, log),
        cold: async () => [await benchCold(work, http, coldAdmissions, 100), await benchCold(work, token, coldAdmissions, 100)],
        digester: async () => await benchDigester(work, digesterVersion, { http, token }, digesterAdmissions, digesterConcurrency, timing, log),
        network: async () => await network(),
        memory: async () => ({ idle: await idleMemory(work, http), ...await benchHostileMemory(work, http, memoryOptions(log)) })
      }
      const section = sections[only]
      if (section === undefined) throw new Error(`BENCH_ONLY must be one of ${Object.keys(sections).join(', ')}`)
      const figures = rounded(await section())
      if (only === 'network') process.stderr.write(`${printableNetwork(figures as NetworkFigures)}\n`)
      process.stdout.write(`${JSON.stringify(figures, (key, value: unknown) => key === 'answer' ? undefined : value, 2)}\n`)
      return
    }

    log(`start-up: ${startupRuns} fresh serve processes`)
    const startup = await benchStartup(work, http, startupRuns)
    log(`warm path at concurrency ${levels.join(', ')}`)
    const warm = await benchWarm(work, http, levels, timing, log)
    const cold = []
    for (const bench of [http, token]) {
      log(`cold path, ${bench.mode} registry`)
      cold.push(await benchCold(work, bench, coldAdmissions, 100))
    }
    log(`k8s-digester ${digesterVersion} as a webhook against a real kube-apiserver`)
    const digester = await benchDigester(work, digesterVersion, { http, token }, digesterAdmissions, digesterConcurrency, timing, log)
    log('across a round trip: toxiproxy at 0, 20 and 80 ms, both registries, k8s-digester alongside')
    const { cold_burst_memory: coldBurstMemory, ...networkFigures } = await network()
    log('memory: the hostile cases, each in a fresh process')
    const hostileMemory = await benchHostileMemory(work, http, memoryOptions(log))
    const memory = {
      idle: { peak_mb: startup.idle_rss_mb, load: 'none: VmRSS when /readyz first answered 200 (start-up section, median)' },
      warm_c64: { peak_mb: warm.peakRssMb, load: 'the warm rounds at c = 1, 16, 64' },
      floor_warm_c64: { peak_mb: warm.floorPeakRssMb, load: 'the bare-fastify floor under the same rounds' },
      cold_80ms_100x10: coldBurstMemory,
      ...hostileMemory
    }

    const results = rounded(buildResults({
      levels: warm.levels,
      warmRegistryRequests: warm.registryRequests,
      peakRssMb: warm.peakRssMb,
      floorPeakRssMb: warm.floorPeakRssMb,
      cold,
      digester,
      readyMs: startup.ready_ms,
      startupRuns: startup.runs,
      idleRssMb: startup.idle_rss_mb,
      templateImages: http.images.length,
      network: networkFigures,
      memory,
      meta: {
        date: new Date().toISOString(),
        commit: gitDescribe(),
        node: process.versions.node,
        cpus: machineCpus,
        serverCore: pinnedCore() ?? 'unpinned',
        quick,
        rounds: timing.rounds,
        roundSeconds: timing.roundMs / 1000,
        warmupSeconds: timing.warmupMs / 1000,
        coldAdmissions,
        digesterAdmissions,
        profiled: profileDir !== undefined,
        ourNodeArgs: work.ourNodeArgs,
        ourMain: relative(repoRoot, ourMain),
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg()[0] ?? 0
      }
    }))
    const file = join(repoRoot, 'bench', 'results.json')
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)
    for (const chart of await writeCharts(results, join(repoRoot, 'bench'))) log(`wrote ${relative(repoRoot, chart)}`)
    process.stdout.write(`${printable(results)}\n\nwrote ${file}\n`)
    const missed = results.targets.filter((target) => !target.met)
    if (missed.length > 0) process.stdout.write(`${missed.length} of ${results.targets.length} targets missed (see BENCHMARKS.md for why)\n`)
  } finally {
    await Promise.all(registries.map(async (registry) => { await registry.close() }))
    if (process.env['BENCH_KEEP'] === '1') log(`kept ${dir}`)
    else await rm(dir, { recursive: true, force: true })
  }
}

await main()
