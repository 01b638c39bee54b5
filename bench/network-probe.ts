import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { scriptOutput } from '../test/support/build-script.js'
import { startCluster, type Cluster } from '../test/support/cluster.js'
import { writeTlsFiles } from '../test/support/tls.js'
import { loadClient, type LoadClient } from './load.js'
import { floorClient, imagesOf, ourConfig, ourReview, proxyRegistry, startNetworkDigester, timedAdmission } from './network.js'
import { cpuSecondsOf, cpuTimesOf } from './processes.js'
import { startBenchRegistry, type BenchMode } from './registry.js'
import { podReview } from './reviews.js'
import { startOurs, type Running, type Workspace } from './servers.js'
import { median, percentile, sortedCopy } from './stats.js'
import { startToxiproxy } from './toxiproxy.js'

/**
 * Issue 17 §1, one registry mode at a time, for finding out where a network cell's time goes: steady-state admissions
 * through toxiproxy (as the bench's network section sends them) with the CPU each process spent per registry HEAD,
 * read from /proc: our server (user and system apart), docker-registry, and this process (the load and the floor).
 *
 *   PROBE_MODE=token|http PROBE_RTTS=0,20 PROBE_SIZES=5,10 PROBE_SAMPLES=30 PROBE_DIGESTER=1 npx tsx bench/network-probe.ts
 *
 * PROBE_DIGESTER=1 sends a k8s-digester admission after each of the first 9 of ours, as the bench does (it needs a
 * kube-apiserver, started here). BENCH_NODE_ARGS adds flags to our server (e.g. `--import` of a tracing preload);
 * BENCH_OUR_MAIN picks its build (default dist/main.js: run `npm run build` first).
 */

const repoRoot = resolve(import.meta.dirname, '..')
const mode = (process.env['PROBE_MODE'] ?? 'token') as BenchMode
const roundTrips = (process.env['PROBE_RTTS'] ?? '0,20,80').split(',').map(Number)
const sizes = (process.env['PROBE_SIZES'] ?? '5,10').split(',').map(Number)
const samples = Number(process.env['PROBE_SAMPLES'] ?? 30)
const withDigester = process.env['PROBE_DIGESTER'] === '1'
const digesterSamples = 9

const dir = await mkdtemp(join(tmpdir(), 'atw-network-probe-'))
const work: Workspace = {
  repoRoot,
  dir,
  tls: await writeTlsFiles(join(dir, 'tls')),
  ourMain: resolve(process.env['BENCH_OUR_MAIN'] ?? join(repoRoot, 'dist', 'main.js')),
  digesterBinary: '',
  ourNodeArgs: (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((flag) => flag !== '')
}
await mkdir(join(dir, mode))
const bench = await startBenchRegistry(mode, join(dir, mode))
const toxiproxy = await startToxiproxy(await scriptOutput('build-toxiproxy.sh'), join(dir, 'toxiproxy.log'))
const proxied = await proxyRegistry(bench, toxiproxy, dir)
const running: Running[] = []
let cluster: Cluster | undefined
try {
  const ours = await startOurs(work, 'ours-probe', ourConfig(proxied))
  running.push(ours)
  let digester: Running | undefined
  if (withDigester) {
    work.digesterBinary = await scriptOutput('build-digester.sh')
    cluster = await startCluster()
    digester = await startNetworkDigester(work, cluster.kubeconfig, [proxied], 'digester')
    running.push(digester)
  }
  const registryPid = bench.registry.pid()
  if (registryPid === undefined) throw new Error('the registry is not running')
  for (const rttMs of roundTrips) {
    await toxiproxy.setRoundTrip(rttMs)
    for (const size of sizes) {
      const images = imagesOf(proxied, size)
      const client = loadClient({ origin: ours.origin, path: '/mutate?timeout=30s', body: ourReview(images), ca: work.tls.caPem }, 1)
      const floor = floorClient(proxied)
      const digesterClient: LoadClient | undefined = digester === undefined
        ? undefined
        : loadClient({ origin: digester.origin, path: '/v1/mutate', body: podReview(images), ca: work.tls.caPem }, 1)
      try {
        // Untimed: connections open and tokens held.
        await timedAdmission('ours', client, proxied, images)
        if (digesterClient !== undefined) await timedAdmission('digester', digesterClient, proxied, images)
        await floor.head()
        const oursBefore = cpuTimesOf(ours.child.pid)
        const registryBefore = cpuSecondsOf(registryPid)
        const selfBefore = process.cpuUsage()
        const times: number[] = []
        const floorTimes: number[] = []
        for (let index = 0; index < samples; index++) {
          times.push(await timedAdmission('ours', client, proxied, images))
          if (digesterClient !== undefined && index < digesterSamples) await timedAdmission('digester', digesterClient, proxied, images)
          floorTimes.push(await floor.head())
        }
        const oursAfter = cpuTimesOf(ours.child.pid)
        const self = process.cpuUsage(selfBefore)
        // The registry also answered the floor's HEADs (and the digester's requests, when it runs).
        const heads = samples * (size + 1)
        const sorted = sortedCopy(times)
        console.log(`${mode} ${rttMs} ms, ${size} images: ours p50 ${median(times).toFixed(1)} ms (p10 ${percentile(sorted, 10).toFixed(1)}, ` +
          `p90 ${percentile(sorted, 90).toFixed(1)}), floor p50 ${median(floorTimes).toFixed(1)} ms`)
        console.log(`  ours per admission: user ${((oursAfter.user - oursBefore.user) * 1000 / samples).toFixed(2)} ms, ` +
          `system ${((oursAfter.system - oursBefore.system) * 1000 / samples).toFixed(2)} ms; per registry HEAD (${heads}): ` +
          `docker-registry ${((cpuSecondsOf(registryPid) - registryBefore) * 1000 / heads).toFixed(2)} ms` +
          `${digesterClient === undefined ? '' : ' (digester requests included)'}, this process ${((self.user + self.system) / 1000 / heads).toFixed(2)} ms`)
      } finally {
        await Promise.all([client.close(), floor.close(), digesterClient?.close()])
      }
    }
  }
} finally {
  for (const server of running) await server.stop()
  await cluster?.stop()
  await proxied.restore()
  await toxiproxy.close()
  await bench.close()
}
