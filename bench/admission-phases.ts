import { destination, pino } from 'pino'
import { mutateReview, type MutateContext } from '../src/admission/handle.js'
import { IssuedRecords } from '../src/admission/issued-records.js'
import { admissionLogEntry } from '../src/admission/log-entry.js'
import { decodeReview } from '../src/admission/review.js'
import { loadConfig } from '../src/config.js'
import { createMetrics } from '../src/http/metrics.js'
import { deadlineIn } from '../src/registry/types.js'
import { cachedResolver, warmImages } from './cached-resolver.js'
import { templateReview } from './reviews.js'

/**
 * Issue 17 §4: each part of a warm admission alone, in a hot loop (process CPU over N iterations, after 2 000 to warm
 * up), to set against what the same part costs in the server (`bench/warm-decomposition.sh` with `bench/ab.ts`).
 * The review is parsed once unless a line says otherwise; "new resolvedAt" gives every admission its own millisecond,
 * as a server answering a few admissions per millisecond sees.
 *
 *   npx tsx bench/admission-phases.ts [ITERATIONS]
 */

const iterations = Number(process.argv[2] ?? 20000)

const body = templateReview(warmImages)
const config = loadConfig({}, {})
const logger = pino({ level: 'info' }, destination({ dest: '/dev/null', sync: true })).child({ reqId: 'req-1' })
const metrics = createMetrics({ defaultMetrics: false })
const issued = new IssuedRecords()
let tick = Date.now()
const context = (now: () => Date, remember: IssuedRecords | undefined = issued): MutateContext =>
  ({ resolver: cachedResolver, deadline: deadlineIn(8000), annotationKey: config.admission.annotationKey, limits: config.admission, issued: remember, now })
const sameMillisecond = new Date()
const review = decodeReview(JSON.parse(body))
const outcome = await mutateReview(review, context(() => sameMillisecond))
const timing = { durationMs: 1, registryRequests: 0, budgetMs: 8000 }

async function time (name: string, work: () => unknown): Promise<void> {
  for (let index = 0; index < 2000; index++) await work()
  const before = process.cpuUsage()
  for (let index = 0; index < iterations; index++) await work()
  const used = process.cpuUsage(before)
  process.stdout.write(`${name.padEnd(50)} ${((used.user + used.system) / iterations).toFixed(2).padStart(7)} µs\n`)
}

const phases: Array<[string, () => unknown]> = [
  ['JSON.parse of the request body', () => JSON.parse(body)],
  ['decodeReview (ajv on the envelope)', () => decodeReview(JSON.parse(body))],
  ['mutateReview, same resolvedAt', async () => await mutateReview(review, context(() => sameMillisecond))],
  ['mutateReview, new resolvedAt', async () => await mutateReview(review, context(() => new Date(tick++)))],
  ['mutateReview, new resolvedAt, no issued records', async () => await mutateReview(review, context(() => new Date(tick++), undefined))],
  ['admissionLogEntry', () => admissionLogEntry('mutate', review, outcome, timing)],
  ['admissionLogEntry + pino line to /dev/null', () => { logger.info(admissionLogEntry('mutate', review, outcome, timing), 'admission') }],
  ['metrics of one admission', async () => {
    const finished = metrics.startRequest('mutate')
    await metrics.tally(async () => await Promise.resolve(1))
    metrics.countOldObjectReuse(0)
    metrics.observeAdmission('mutate', 'patched', 'pinned', 0.001)
    finished()
  }],
  ['JSON.stringify of the answer', () => JSON.stringify(outcome.review)]
]
for (const [name, work] of phases) await time(name, work)
