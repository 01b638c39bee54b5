import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeTlsFiles } from '../test/support/tls.js'
import { loadClient } from './load.js'
import { memoryOf } from './processes.js'
import { startBenchRegistry } from './registry.js'
import { startFloor, type Running, type Workspace } from './servers.js'
import { median, round } from './stats.js'
import { alternate, startWarmOurs, warmBody } from './warm.js'

/**
 * A/B on the warm path: several builds (or node flags) of our server and the floor, in alternating rounds at one
 * concurrency, so an optimisation's before and after are measured in the same minutes on the same noisy machine.
 *
 *   npx tsx bench/ab.ts [-c 16] [-r 5] [-s 3] NAME=path/to/main.js[@--node-flag,--other-flag] ...
 *
 * e.g. before=dist/main.js after=/tmp/patched/main.js semi=dist/main.js@--max-semi-space-size=4
 */

interface Variant { name: string, main: string, nodeArgs: string[] }

function parse (argv: readonly string[]): { concurrency: number, rounds: number, seconds: number, variants: Variant[] } {
  let concurrency = 16
  let rounds = 5
  let seconds = 3
  const variants: Variant[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? ''
    if (arg === '-c') concurrency = Number(argv[++index])
    else if (arg === '-r') rounds = Number(argv[++index])
    else if (arg === '-s') seconds = Number(argv[++index])
    else {
      const match = /^([\w-]+)=([^@]+)(?:@(.*))?$/.exec(arg)
      if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not a variant: ${arg} (NAME=main.js[@--flag,...])`)
      variants.push({ name: match[1], main: resolve(match[2]), nodeArgs: match[3]?.split(',').filter((flag) => flag !== '') ?? [] })
    }
  }
  if (variants.length === 0) throw new Error('usage: tsx bench/ab.ts [-c N] [-r ROUNDS] [-s SECONDS] NAME=main.js[@--flag,...] ...')
  return { concurrency, rounds, seconds, variants }
}

const options = parse(process.argv.slice(2))
const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)))
const dir = await mkdtemp(join(tmpdir(), 'atw-ab-'))
await mkdir(join(dir, 'registry'))
const bench = await startBenchRegistry('http', join(dir, 'registry'))
const tls = await writeTlsFiles(join(dir, 'tls'))
const body = warmBody(bench.images)
const servers: Array<{ name: string, server: Running }> = []
try {
  let answer = ''
  for (const variant of options.variants) {
    const work: Workspace = { repoRoot, dir, tls, ourMain: variant.main, digesterBinary: '', ourNodeArgs: variant.nodeArgs }
    const started = await startWarmOurs(work, bench, `ab-${variant.name}`, body)
    servers.push({ name: variant.name, server: started.server })
    answer = started.answer
  }
  await writeFile(join(dir, 'floor-response.json'), answer)
  const floorWork: Workspace = { repoRoot, dir, tls, ourMain: '', digesterBinary: '', ourNodeArgs: [] }
  servers.push({ name: 'floor', server: await startFloor(floorWork, join(dir, 'floor-response.json')) })
  const clients = servers.map(({ server }) => loadClient({ origin: server.origin, path: '/mutate?timeout=10s', body, ca: tls.caPem }, options.concurrency))
  const rounds = await alternate(clients, options.concurrency, { warmupMs: 2000, roundMs: options.seconds * 1000, rounds: options.rounds },
    servers.map(({ server }) => server.child.pid))
  const floorRps = median(rounds.at(-1)?.map((result) => result.rps) ?? [])
  process.stdout.write(`c=${options.concurrency}, ${options.rounds} rounds of ${options.seconds} s, medians\n`)
  servers.forEach(({ name, server }, index) => {
    const results = rounds[index] ?? []
    const rps = median(results.map((result) => result.rps))
    const line = [name.padEnd(12), `${round(rps, 0)} req/s`.padEnd(14), `p50 ${round(median(results.map((result) => result.p50Ms)), 2)} ms`.padEnd(16),
      `p99 ${round(median(results.map((result) => result.p99Ms)), 2)} ms`.padEnd(16), `÷ floor ${round(rps / floorRps, 3)}`.padEnd(16),
      `CPU ${round(median(results.map((result) => result.serverCpuUs ?? Number.NaN)), 0)} µs/req`.padEnd(18),
      `peak RSS ${round(memoryOf(server.child.pid).peakMb, 1)} MB`]
    process.stdout.write(`${line.join('')}\n`)
  })
  await Promise.all(clients.map(async (client) => { await client.close() }))
} finally {
  await Promise.all(servers.map(async ({ server }) => { await server.stop() }))
  await bench.close()
  await rm(dir, { recursive: true, force: true })
}
