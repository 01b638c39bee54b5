import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import { destination, pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { buildApp, Readiness } from '../src/http/app.js'
import { createMetrics } from '../src/http/metrics.js'
import { cachedResolver, warmImages } from './cached-resolver.js'
import { templateReview } from './reviews.js'

/**
 * Issue 17 §4: the warm admission's own CPU, in one process and without TLS or sockets, so a change to the handler is
 * measured in seconds rather than in noisy minutes of `BENCH_ONLY=warm`. Our app (every digest answered as from the
 * cache, the log line written to /dev/null like a file) and a bare fastify app answering the same bytes go through
 * fastify's inject() in alternating rounds; the difference is what our handler adds per admission.
 *
 *   npx tsx bench/admission-loop.ts [ADMISSIONS_PER_ROUND] [ROUNDS]
 *   node --cpu-prof --import tsx bench/admission-loop.ts   (where the added time goes)
 */

const perRound = Number(process.argv[2] ?? 5000)
const rounds = Number(process.argv[3] ?? 5)


const body = templateReview(warmImages)
const config = loadConfig({}, {})
const logger = pino({ level: config.logLevel }, destination({ dest: '/dev/null', sync: true }))
const ours = buildApp(config, { resolver: cachedResolver, metrics: createMetrics({ defaultMetrics: false }), readiness: new Readiness(), loggerInstance: logger })
const inject = { method: 'POST' as const, url: '/mutate?timeout=10s', headers: { 'content-type': 'application/json' }, payload: body }
const first = await ours.inject(inject)
if (first.statusCode !== 200 || !first.body.includes('"patch"')) throw new Error(`ours answered ${first.statusCode}: ${first.body.slice(0, 300)}`)
const answer = first.body
const floor = Fastify({ logger: false, bodyLimit: 7 * 1024 * 1024 })
floor.post('/mutate', async (_request, reply) => await reply.type('application/json').send(answer))

async function round (app: FastifyInstance): Promise<number> {
  const before = process.cpuUsage()
  for (let index = 0; index < perRound; index++) await app.inject(inject)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / perRound
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const oursUs: number[] = []
const floorUs: number[] = []
const started = performance.now()
await round(ours)
await round(floor)
for (let index = 0; index < rounds; index++) {
  oursUs.push(await round(ours))
  floorUs.push(await round(floor))
}
const [o, f] = [median(oursUs), median(floorUs)]
process.stdout.write(`${rounds} rounds of ${perRound} inject()s (${((performance.now() - started) / 1000).toFixed(1)} s): ` +
  `ours ${o.toFixed(1)} µs, floor ${f.toFixed(1)} µs per admission; ours adds ${(o - f).toFixed(1)} µs (answer ${answer.length} chars)\n`)
await Promise.all([ours.close(), floor.close()])
