import { X509Certificate } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect as connectTls } from 'node:tls'
import t from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { FakeResolver, pinnedAnswer } from '../fixtures/fake-resolver.js'
import { batteryMs, eventually, postJson, soak, steadyStream, webhookAgent } from '../support/battery-load.js'
import { templateReview } from '../support/battery-reviews.js'
import { budgetFor, judge } from '../support/battery-verdict.js'
import { metricValue, startBatteryWebhook } from '../support/battery-webhook.js'
import { buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { createCa, issueCert } from '../support/tls.js'

// Issue 7, change under load: the serving certificate replaced every second, and the registry restarted, while
// admissions keep coming. Not one request may fail because of the swap; the restart gives denials while the
// registry is down, pins again once it is back, and leaves no stuck socket.

t.test('certificate files replaced every second under load: 0 failed requests', async (t) => {
  const resolver = new FakeResolver(async (reference) => { await sleep(20); return pinnedAnswer(reference) })
  const webhook = await startBatteryWebhook(t, { fakeResolver: resolver, server: { certReloadIntervalSeconds: 0.2 } })
  const cas = [webhook.tls.ca, await createCa('atw battery rotation CA')]
  const trusted = cas.map((ca) => ca.certPem)
  // Half the clients keep their connections (they must survive a swap), half connect anew each time (they see it).
  const keepAlive = webhookAgent(trusted, 8)
  const fresh = webhookAgent(trusted, 8)
  t.teardown(async () => { await keepAlive.close(); await fresh.close() })
  const durationMs = batteryMs(8)
  const review = (index: number): ReturnType<typeof templateReview> => templateReview(`rotation-${index}`, ['ghcr.io/acme/agent:1.4'])
  const load = steadyStream({
    ratePerSecond: 20,
    durationMs,
    send: async (index) => await postJson(index % 2 === 0 ? keepAlive : fresh, `${webhook.url}/mutate?timeout=10s`, review(index), { reset: index % 2 === 1 })
  })
  const served = new Set<string>()
  const fingerprint = async (): Promise<string> => await new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port: webhook.server.port, ca: trusted, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '')
      socket.destroy()
    })
    socket.once('error', () => { resolve('') })
  })
  let swaps = 0
  let last = ''
  const started = performance.now()
  while (performance.now() - started < durationMs - 1000) {
    await sleep(1000 - ((performance.now() - started) % 1000))
    const ca = cas[swaps % 2] ?? webhook.tls.ca
    const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    if (swaps % 2 === 0) {
      // The way a careless writer does it: the key lags the certificate, so for a moment the pair does not match.
      await writeFile(webhook.tls.certFile, leaf.certPem)
      await sleep(120)
      await writeFile(webhook.tls.keyFile, leaf.keyPem)
    } else {
      // The way kubelet does it: each file replaced atomically.
      await writeFile(`${webhook.tls.keyFile}.tmp`, leaf.keyPem)
      await writeFile(`${webhook.tls.certFile}.tmp`, leaf.certPem)
      await rename(`${webhook.tls.keyFile}.tmp`, webhook.tls.keyFile)
      await rename(`${webhook.tls.certFile}.tmp`, webhook.tls.certFile)
    }
    swaps++
    last = new X509Certificate(leaf.certPem).fingerprint256
    served.add(await fingerprint())
  }
  const samples = await load
  const verdict = judge(samples, { uid: (index) => `rotation-${index}`, object: (index) => review(index).request.object, latestMs: () => 8000 + 1500 })
  t.same(verdict.failures.slice(0, 5), [], `${samples.length} admissions during ${swaps} swaps: failures ${verdict.failures.length}`)
  t.equal(verdict.allowed, samples.length, 'every one pinned')
  t.ok(await eventually(async () => await fingerprint() === last, 5000), 'new connections get the last certificate')
  const installed = webhook.logs.lines.filter((line) => line['msg'] === 'serving a new TLS certificate').length
  t.ok(installed >= swaps - 1, `${installed} certificates installed for ${swaps} swaps`)
  t.comment(`certificate swap: ${swaps} swaps (one a second for ${durationMs / 1000} s${soak() ? ', soak' : ''}), ${samples.length} admissions tried, ${verdict.answered} answered, ` +
    `failures ${verdict.failures.length}, ${served.size} distinct certificates seen by new connections, max latency ${Math.round(verdict.maxLatencyMs)} ms`)
})

t.test('the registry restarted mid-load: denials while down, pins when back, no stuck sockets', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  const image = buildOciIndex()
  await push(registry, image, 'team/app', 'v1')
  const webhook = await startBatteryWebhook(t, { registries: [{ host: registry.host, insecure: true }] })
  const reference = `${registry.host}/team/app:v1`
  const agent = webhookAgent(webhook.tls.caPem, 64)
  const durationMs = batteryMs(10)
  const review = (index: number): ReturnType<typeof templateReview> => templateReview(`restart-${index}`, [reference])
  const started = performance.now()
  const load = steadyStream({ ratePerSecond: 5, durationMs, send: async (index) => await postJson(agent, `${webhook.url}/mutate?timeout=4s`, review(index)) })
  await sleep(durationMs * 0.3)
  const downAt = performance.now() - started
  await registry.stop()
  await sleep(durationMs * 0.3)
  const upAt = performance.now() - started
  await registry.restart()
  const backAt = performance.now() - started
  const samples = await load
  await agent.close()

  const verdict = judge(samples, {
    uid: (index) => `restart-${index}`,
    object: (index) => review(index).request.object,
    latestMs: () => budgetFor('4s', webhook.config.admission) + 1500,
    check: (response) => {
      if (response.allowed) return undefined
      const message = response.status?.message ?? ''
      return new RegExp(`cannot pin ${reference}: (registry ${registry.host}: )?(connection refused \\(is the registry running\\?\\)|the connection was reset|.*other side closed)`).test(message)
        ? undefined
        : `an unexpected denial: ${message}`
    }
  })
  t.same(verdict.failures.slice(0, 5), [], `${samples.length} admissions, failures ${verdict.failures.length}`)
  // An answer from just before the outage may still be reused within the burst window: a valid pin, not a failure.
  const settledDownAt = downAt + 500 + webhook.config.resolver.burstWindowMs
  const whileDown = samples.filter((sample) => sample.sentAt > settledDownAt && sample.sentAt + sample.latencyMs < upAt)
  const afterBack = samples.filter((sample) => sample.sentAt > backAt + 500)
  const outcome = (sample: (typeof samples)[number]): boolean | undefined => (sample.answer?.body as { response?: { allowed?: boolean } } | undefined)?.response?.allowed
  t.ok(whileDown.length > 0 && whileDown.every((sample) => outcome(sample) === false), `all ${whileDown.length} admissions while the registry was down were denied`)
  t.ok(afterBack.length > 0 && afterBack.every((sample) => outcome(sample) === true), `all ${afterBack.length} admissions after it came back were pinned`)
  const refused = metricValue(await webhook.metricsText(), 'atw_resolutions_total', { registry: registry.host, outcome: ErrorCode.registryUnreachable })
  t.ok(refused >= whileDown.length, `atw_resolutions_total counted ${refused} unreachable lookups`)
  t.ok(await eventually(async () => (webhook.stack?.transport.openSockets ?? 0) <= 1 && await webhook.serverConnections() === 0, 10_000),
    `no stuck sockets: registry pool ${webhook.stack?.transport.openSockets ?? 0}, webhook connections ${await webhook.serverConnections()}`)
  t.comment(`registry restart: ${samples.length} admissions tried over ${durationMs / 1000} s, ${verdict.answered} answered (${verdict.allowed} pinned, ${verdict.denied} denied), ` +
    `failures ${verdict.failures.length}; down from ${(downAt / 1000).toFixed(1)} s to ${(upAt / 1000).toFixed(1)} s, ready again at ${(backAt / 1000).toFixed(1)} s`)
})
