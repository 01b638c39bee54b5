import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { eventually, postJson, webhookAgent, type Answer } from '../support/battery-load.js'
import { templateReview } from '../support/battery-reviews.js'
import { reviewOf } from '../support/battery-webhook.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { startWebhook } from '../support/webhook-process.js'

// Issue 13 §1, a tenant's CREATE with thousands of distinct image references, against the real `serve` process and
// the real registry: before the fix the webhook looked every one of them up at once (3,000: 18 s and 580 MiB RSS;
// 20,000: past 2 GiB and an unrelated admission failed). Now the CRD's limits deny it before any registry request.

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024
}

async function timed (send: () => Promise<Answer>): Promise<{ answer: Answer, ms: number }> {
  const started = performance.now()
  const answer = await send()
  return { answer, ms: performance.now() - started }
}

t.test('issue 13: 3,000 and 20,000 containers are denied at once, with no registry request', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  const image = buildOciIndex()
  await push(registry, image, 'acme/agent', 'v1')
  await push(registry, image, 'acme/agent', 'warm')
  const tls = await writeTlsFiles(join(await mkdtemp(join(tmpdir(), 'atw-bounded-')), 'tls'))
  const webhook = await startWebhook({
    tls,
    config: { registries: [{ host: registry.host, insecure: true }], server: { metricsPort: 0, shutdownDelaySeconds: 0 } },
    t
  })
  const agent = webhookAgent(tls.caPem, 8)
  t.teardown(async () => { await agent.close() })
  const admit = async (review: unknown, path = '/mutate'): Promise<Answer> => await postJson(agent, `${webhook.url}${path}?timeout=10s`, review)

  const hostile = (count: number): unknown => templateReview(`hostile-${count}`,
    Array.from({ length: count }, (_unused, index) => `${registry.host}/hostile/c${index}:v1`))
  const bodies = { 3000: JSON.stringify(hostile(3000)), 20_000: JSON.stringify(hostile(20_000)) }
  t.comment(`request bodies: 3,000 containers ${(bodies[3000].length / 1024 / 1024).toFixed(2)} MiB, ` +
    `20,000 containers ${(bodies[20_000].length / 1024 / 1024).toFixed(2)} MiB`)
  // Warm the process (first request compiles the route) so the latency is the admission's, not start-up's; another
  // tag, so the unrelated admission below really reaches the registry rather than the resolver's memo.
  t.equal(reviewOf(await admit(templateReview('warm-up', [`${registry.host}/acme/agent:warm`])))?.response.allowed, true, 'warm-up admitted')
  registry.resetRequests()
  const rssBefore = await rssMiB(webhook.pid)

  const [small, large, validate, unrelated] = await Promise.all([
    timed(async () => await admit(bodies[3000])),
    timed(async () => await admit(bodies[20_000])),
    timed(async () => await admit(bodies[3000], '/validate')),
    // An ordinary tenant at the same moment: its tag is resolved and pinned as usual.
    timed(async () => await admit(templateReview('unrelated', [`${registry.host}/acme/agent:v1`])))
  ])
  const rssAfter = await rssMiB(webhook.pid)

  for (const [name, { answer, ms }, count] of [['mutate 3,000', small, 3000], ['mutate 20,000', large, 20_000], ['validate 3,000', validate, 3000]] as const) {
    const review = reviewOf(answer)
    t.equal(review?.response.allowed, false, `${name}: denied`)
    t.equal(review?.response.status?.message, `spec.containers: ${count} containers; at most 10`, `${name}: names the field and the limit`)
    t.ok(ms < 1000, `${name}: answered in ${ms.toFixed(0)} ms (< 1 s)`)
  }
  const pinned = reviewOf(unrelated.answer)
  t.equal(pinned?.response.allowed, true, 'the unrelated admission is allowed')
  t.equal(pinned?.response.patchType, 'JSONPatch', 'and pinned')

  // The registry logs a request when its handler finishes: wait for the unrelated lookup, then count the hostile ones.
  // (Without the fix the wait fails and thousands of requests are there: count them rather than print them.)
  const seen = await registry.waitForRequests((requests) => requests.some((request) => request.path.includes('/acme/agent/')), 10_000)
    .catch(() => registry.requests())
  const hostileRequests = seen.filter((request) => request.path.includes('/hostile/')).length
  t.equal(hostileRequests, 0, 'no registry request for any hostile reference')
  // The admission line reaches this process through the child's stdout pipe: an answer can arrive first (seen once in CI).
  const denials = (): Array<Record<string, unknown>> => webhook.admissions().filter((line) => String(line['uid']).startsWith('hostile-'))
  await eventually(() => denials().length >= 3, 10_000)
  t.same(denials().map((line) => line['registryRequests']), [0, 0, 0], 'the webhook counted 0 registry requests for each denial')
  t.ok(rssAfter - rssBefore < 64, `RSS grew by ${(rssAfter - rssBefore).toFixed(1)} MiB (< 64 MiB)`)
  t.comment(`latency: 3,000 ${small.ms.toFixed(0)} ms, 20,000 ${large.ms.toFixed(0)} ms, validate 3,000 ${validate.ms.toFixed(0)} ms, ` +
    `unrelated ${unrelated.ms.toFixed(0)} ms; RSS ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB; ` +
    `registry requests for hostile references: ${hostileRequests}`)
})
