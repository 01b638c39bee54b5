import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { batteryMs, eventually, getPath, openSockets, postJson, probeWhile, soak, steadyStream, webhookAgent, type Sample } from '../support/battery-load.js'
import { templateReview } from '../support/battery-reviews.js'
import { budgetFor, judge } from '../support/battery-verdict.js'
import { metricValue, reviewOf, startBatteryWebhook } from '../support/battery-webhook.js'
import { startFaultyServer, type Fault, type FaultyServer } from '../support/faulty-server.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { createCa, issueCert } from '../support/tls.js'

// Issue 7, registry faults: for each fault a steady stream of admissions (5/s; 8 s here, 60 s under test:soak), all
// faults at once against one webhook, each fault behind its own misbehaving front to one real docker-registry.
// Every admission must be answered in time with a denial that names the registry and the fault; /healthz stays
// healthy; the failure metrics count each denial; sockets return to baseline once the fault clears.

const ratePerSecond = 5
const durationMs = batteryMs(8)
// Generous: the whole safety margin the webhook keeps back from the apiserver's ?timeout=.
const slackMs = 1500

interface FaultCase {
  name: string
  /** the registry as written in the reference */
  host: string
  code: ErrorCode
  message: RegExp
  /** the front the reference names */
  front: FaultyServer
  /** every server this case uses, front included */
  servers: FaultyServer[]
  /** alternate these ?timeout= values (a short one joining a long one's lookup must still answer in its own time) */
  timeouts: string[]
  inject: () => void
  clear: () => void
  /** whether a lookup succeeds once the fault is cleared (a wrong certificate or a dead token server stay broken) */
  recovers: boolean
}

async function closedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { if (address !== null && typeof address === 'object') resolve(address.port); else reject(new Error('no port')) })
    })
  })
}

const manifests = (server: FaultyServer): number => server.requests().filter((request) => request.url.includes('/manifests/')).length

t.test('registry faults under a steady stream of admissions', async (t: Test) => {
  const registry = await startRegistry({ mode: 'http', t })
  const image = buildOciIndex()
  await push(registry, image, 'team/app', 'v1')
  const upstream = registry
  const front = async (): Promise<FaultyServer> => await startFaultyServer({ upstream, t })
  const cases: FaultCase[] = []
  // Faults that are answers, not silence, get a generous admission timeout: a starved 2-core CI machine must not turn
  // "more than 5 redirects" into "no answer before the admission deadline". The silent faults set their own.
  const simple = async (name: string, fault: Fault, code: ErrorCode, message: RegExp, timeouts = ['10s']): Promise<void> => {
    const server = await front()
    cases.push({ name, host: server.host, code, message, front: server, servers: [server], timeouts, inject: () => { server.setFault(fault) }, clear: () => { server.setFault({ kind: 'none' }) }, recovers: true })
  }
  const onManifests = { match: ({ path }: { path: string }) => path.includes('/manifests/') }
  await simple('429 with Retry-After: 30', { kind: 'status', status: 429, retryAfter: 30, ...onManifests }, ErrorCode.registryRateLimited,
    /answered 429 to an anonymous request; retry after 30s|is rate limiting us \(429 TOOMANYREQUESTS\); not asking again for \d+s/)
  for (const status of [500, 502, 503]) {
    await simple(`${status}`, { kind: 'status', status, ...onManifests }, ErrorCode.registryUnavailable, new RegExp(`answered ${status} to an anonymous request; the registry is failing; retry later`))
  }
  await simple('no response at all', { kind: 'hang', ...onManifests }, ErrorCode.registryTimeout,
    /no answer (before the admission deadline|within the per-request timeout)/, ['10s', '2s'])
  await simple('headers one byte per second', { kind: 'slow-headers', intervalMs: 1000, ...onManifests }, ErrorCode.registryTimeout, /no answer before the admission deadline/, ['4s'])
  await simple('a redirect loop', { kind: 'redirect-loop', ...onManifests }, ErrorCode.registryBadResponse, /more than 5 redirects/)
  await simple('a redirect to 169.254.169.254', { kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/', ...onManifests },
    ErrorCode.blockedAddress, /refusing to connect to 169\.254\.169\.254/)

  // Bodies only travel on GET: the inner front drops the digest from HEAD, so the client must GET, and the outer one
  // (the one the client talks to) breaks the GET.
  const chained = async (name: string, onGet: Fault, code: ErrorCode, message: RegExp): Promise<void> => {
    const innerServer = await front()
    const outer = await startFaultyServer({ upstream: innerServer.baseUrl, t })
    cases.push({
      name,
      host: outer.host,
      code,
      message,
      front: outer,
      servers: [outer, innerServer],
      timeouts: ['10s'],
      inject: () => {
        innerServer.setFault({ kind: 'strip-digest', match: ({ method, path }) => method === 'HEAD' && path.includes('/manifests/') })
        outer.setFault(onGet)
      },
      clear: () => { outer.setFault({ kind: 'none' }); innerServer.setFault({ kind: 'none' }) },
      recovers: true
    })
  }
  await chained('a reset mid-body', { kind: 'reset', after: 'partial-body', match: ({ method }) => method === 'GET' }, ErrorCode.registryUnreachable,
    /the connection was reset|Response body length does not match content-length header/)
  await chained('a Docker-Content-Digest that does not match the body', { kind: 'wrong-digest', match: ({ method }) => method === 'GET' },
    ErrorCode.digestMismatch, /Docker-Content-Digest sha256:[0-9a-f]{64} does not match the manifest it sent \(sha256:[0-9a-f]{64}\); refusing to pin/)

  // A registry whose token server is down, slow or sends garbage: the front challenges with a realm on that server.
  const tokenCase = async (name: string, realm: string, tokenServer: FaultyServer | undefined, code: ErrorCode, message: RegExp): Promise<void> => {
    const server = await front()
    const challenge: Fault = { kind: 'respond', status: 401, body: '{"errors":[{"code":"UNAUTHORIZED"}]}', headers: { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${realm}",service="battery"` } }
    cases.push({
      name,
      host: server.host,
      code,
      message,
      front: server,
      servers: tokenServer === undefined ? [server] : [server, tokenServer],
      timeouts: ['4s'],
      inject: () => { server.setFault(challenge) },
      clear: () => {
        server.setFault({ kind: 'none' })
        tokenServer?.setFault({ kind: 'respond', body: JSON.stringify({ token: 'battery-recovered', expires_in: 300 }), headers: { 'content-type': 'application/json' } })
      },
      recovers: tokenServer !== undefined
    })
  }
  const downPort = await closedPort()
  await tokenCase('a token server that is down', `http://127.0.0.1:${downPort}/token`, undefined, ErrorCode.registryUnreachable,
    new RegExp(`token server 127\\.0\\.0\\.1:${downPort}: connection refused`))
  const slowToken = await startFaultyServer({ t, fault: { kind: 'hang' } })
  await tokenCase('a slow token server', `${slowToken.baseUrl}/token`, slowToken, ErrorCode.registryTimeout,
    new RegExp(`token server ${slowToken.host}: no answer before the admission deadline`))
  const garbageToken = await startFaultyServer({ t, fault: { kind: 'respond', body: '<html>503 upstream gone</html>', headers: { 'content-type': 'text/html' } } })
  await tokenCase('a token server that returns garbage', `${garbageToken.baseUrl}/token`, garbageToken, ErrorCode.registryBadResponse,
    new RegExp(`token server ${garbageToken.host} sent a response without a token`))

  // A TLS certificate for the wrong name, signed by a CA the webhook trusts for this registry.
  const wrongCa = await createCa('atw battery wrong-name CA')
  const wrongLeaf = await issueCert(wrongCa, { dnsNames: ['wrong.example'] })
  const wrongTls = await startFaultyServer({ upstream, t, tls: { certPem: wrongLeaf.certPem, keyPem: wrongLeaf.keyPem, caPem: wrongCa.certPem } })
  const caFile = join(await mkdtemp(join(tmpdir(), 'atw-battery-ca-')), 'ca.crt')
  await writeFile(caFile, wrongCa.certPem)
  cases.push({
    name: 'a TLS certificate for the wrong name',
    host: wrongTls.host,
    code: ErrorCode.registryUnreachable,
    message: /TLS certificate is for another host \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    front: wrongTls,
    servers: [wrongTls],
    timeouts: ['4s'],
    inject: () => {},
    clear: () => {},
    recovers: false
  })

  const webhook = await startBatteryWebhook(t, {
    registries: cases.map((c) => c.host === wrongTls.host ? { host: c.host, caFile } : { host: c.host, insecure: true })
  })
  const reference = (c: FaultCase): string => `${c.host}/team/app:v1`
  const pinnedAs = (c: FaultCase): string => `${reference(c)}@${image.digest}`

  // Warm-up without faults: every registry that can answer has pinned once, so pools hold their keep-alive socket.
  const warmAgent = webhookAgent(webhook.tls.caPem)
  for (const c of cases) {
    const answer = await postJson(warmAgent, `${webhook.url}/mutate?timeout=10s`, templateReview(`warm-${c.name}`, [reference(c)]))
    if (c.recovers) t.equal(reviewOf(answer)?.response.allowed, true, `${c.name}: pins before the fault`)
  }
  await warmAgent.close()
  // An answer from the warm-up may be reused for the burst window (a valid pin); this test is about what faults do.
  await new Promise((resolve) => setTimeout(resolve, webhook.config.resolver.burstWindowMs))
  const baseline = { process: openSockets(), transport: webhook.stack?.transport.openSockets ?? 0, fronts: cases.flatMap((c) => c.servers).reduce((sum, s) => sum + s.openSockets(), 0) }
  for (const c of cases) {
    c.inject()
    for (const server of c.servers) server.resetRequests()
  }
  const metricsBefore = await webhook.metricsText()

  const loadAgent = webhookAgent(webhook.tls.caPem, 512)
  const healthAgent = webhookAgent(webhook.tls.caPem, 2)
  // The webhook, the fronts and the load all live in this process. When a busy CI machine stalls it, every answer is
  // late by the stall, whatever the webhook does; the deadline check forgives exactly the worst stall measured here.
  const stalls = monitorEventLoopDelay({ resolution: 10 })
  stalls.enable()
  const streams = Promise.all(cases.map(async (c, caseIndex) => {
    const uid = (index: number): string => `fault-${caseIndex}-${index}`
    const timeout = (index: number): string => c.timeouts[index % c.timeouts.length] ?? '4s'
    const samples = await steadyStream({
      ratePerSecond,
      durationMs,
      send: async (index) => await postJson(loadAgent, `${webhook.url}/mutate?timeout=${timeout(index)}`, templateReview(uid(index), [reference(c)]))
    })
    return { c, samples, uid, timeout }
  }))
  const health = await probeWhile(streams, 250, async () => {
    const started = performance.now()
    try {
      const answer = await getPath(healthAgent, `${webhook.url}/healthz`)
      return { status: answer.status, ms: performance.now() - started }
    } catch {
      return { status: 0, ms: performance.now() - started }
    }
  })
  const results = await streams
  stalls.disable()
  const worstStallMs = Math.round(stalls.max / 1e6)
  t.comment(`worst event-loop stall of this process during the load: ${worstStallMs} ms (added to the deadline slack)`)
  await loadAgent.close()
  const metrics = await webhook.metricsText()

  let total = 0
  for (const { c, samples, uid, timeout } of results) {
    total += samples.length
    await t.test(c.name, async (t) => {
      const verdict = judge(samples, {
        uid,
        object: (index) => templateReview(uid(index), [reference(c)]).request.object,
        latestMs: (index) => budgetFor(timeout(index), webhook.config.admission) + slackMs + worstStallMs,
        check: (response) => {
          if (response.allowed) return 'admitted during the fault'
          const message = response.status?.message ?? ''
          if (!message.includes(`cannot pin ${reference(c)}`)) return `the denial does not name ${reference(c)}: ${message}`
          if (!c.message.test(message)) return `the denial does not name the fault (${String(c.message)}): ${message}`
          if (response.status?.code !== 403 || response.status.reason !== 'Forbidden') return `status ${response.status?.code ?? '?'} ${response.status?.reason ?? '?'}`
          return undefined
        }
      })
      t.same(verdict.failures.slice(0, 5), [], `${verdict.failures.length} failures`)
      t.equal(verdict.answered, samples.length, `${samples.length} admissions, all answered`)
      t.equal(verdict.denied, samples.length, 'all denied; no unpinned image admitted')
      const counted = (text: string): number => metricValue(text, 'atw_resolutions_total', { registry: c.host, outcome: c.code })
      t.equal(counted(metrics) - counted(metricsBefore), samples.length,
        `atw_resolutions_total{registry="${c.host}",outcome="${c.code}"} counts every denial`)
      const sent = manifests(c.front)
      const peak = Math.max(...c.servers.map((s) => s.peakInFlight()))
      if (c.code === ErrorCode.registryRateLimited) {
        t.ok(peak <= 1, `no retry storm: at most one request per repo:tag at a time (peak ${peak})`)
        t.ok(sent <= Math.ceil(durationMs / 30_000) + 1, `Retry-After honoured: ${sent} manifest requests in ${durationMs / 1000} s`)
      } else {
        // Single flight: each lookup is one chain of at most maxAttempts tries of HEAD (+ GET), whatever the admission count.
        t.ok(sent <= samples.length * webhook.config.resolver.maxAttempts * 2, `bounded retries: ${sent} manifest requests for ${samples.length} admissions`)
      }
      t.comment(`${c.name}: tried ${samples.length}, answered ${verdict.answered}, denied ${verdict.denied}, failures ${verdict.failures.length}, ` +
        `max latency ${Math.round(verdict.maxLatencyMs)} ms, registry requests ${sent}, peak in flight per path ${peak}`)
      t.comment(`  e.g. ${verdict.messages[0] ?? ''}`)
    })
  }

  t.ok(health.length > 0 && health.every((probe) => probe.status === 200), `/healthz answered 200 to all ${health.length} probes during the faults`)
  t.ok(health.every((probe) => probe.ms < 2000), `/healthz stayed quick (slowest ${Math.round(Math.max(...health.map((p) => p.ms)))} ms)`)

  // The faults clear: pins come back, and the sockets return to the baseline.
  for (const c of cases) c.clear()
  const afterAgent = webhookAgent(webhook.tls.caPem)
  for (const c of cases.filter((c) => c.recovers && c.code !== ErrorCode.registryRateLimited)) {
    const answer = await postJson(afterAgent, `${webhook.url}/mutate?timeout=10s`, templateReview(`after-${c.name}`, [reference(c)]))
    const stored = reviewOf(answer)
    t.equal(stored?.response.allowed === true && stored.response.patch !== undefined ? 'pinned' : JSON.stringify(stored?.response.status?.message), 'pinned',
      `${c.name}: pins again once the fault clears (${pinnedAs(c).slice(-20)})`)
  }
  await afterAgent.close()
  await healthAgent.close()
  const fronts = (): number => cases.flatMap((c) => c.servers).reduce((sum, s) => sum + s.openSockets(), 0)
  const settled = await eventually(async () => fronts() <= baseline.fronts + 2 && (webhook.stack?.transport.openSockets ?? 0) <= baseline.transport + 2 &&
    await webhook.serverConnections() === 0 && openSockets() <= baseline.process + 4, 15_000)
  t.ok(settled, `sockets back to baseline: process ${baseline.process} → ${openSockets()}, registry pools ${baseline.transport} → ` +
    `${webhook.stack?.transport.openSockets ?? 0}, fault fronts ${baseline.fronts} → ${fronts()}, webhook connections → ${await webhook.serverConnections()}`)
  t.comment(`registry faults: ${cases.length} faults at once, ${ratePerSecond}/s each for ${durationMs / 1000} s${soak() ? ' (soak)' : ''}: ` +
    `${total} admissions tried, ${results.reduce((n, r) => n + r.samples.filter((s: Sample) => s.answer?.status === 200).length, 0)} answered; ` +
    `open sockets before ${baseline.process}, after ${openSockets()}`)
})
