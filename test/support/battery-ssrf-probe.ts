/**
 * Runs inside the battery's network namespace (test/support/battery-netns.ts, issue 7): canary listeners on every
 * address of the namespace (169.254.169.254 and fe80::1 among them) at ports 80 and 443, then one admission per SSRF
 * case through the real app and registry stack, then the positive controls that prove a canary would have seen a
 * connection. Prints one JSON object (SsrfReport) on stdout; test/battery/ssrf.test.ts judges it.
 */
import { createServer, type Server } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp, Readiness } from '../../src/http/app.js'
import { createMetrics } from '../../src/http/metrics.js'
import { createRegistryStack, type RegistryStack } from '../../src/registry/create-resolver.js'
import { StaticCredentials } from '../../src/registry/credentials.js'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import { batteryConfig, captureLogs } from './battery-webhook.js'
import { templateReview } from './battery-reviews.js'
import { startFaultyServer, type Fault } from './faulty-server.js'

export interface SsrfCaseResult {
  name: string
  reference: string
  allowed: boolean
  /** the error code from the audit annotation, e.g. BLOCKED_ADDRESS or INVALID_REFERENCE */
  code: string
  message: string
  /** connections the canaries accepted while this case ran */
  canaryHits: string[]
  /** requests the case's own fake registry received (redirect / realm cases; undefined for the others) */
  registryRequests: number | undefined
}

export interface SsrfReport {
  cases: SsrfCaseResult[]
  controls: SsrfCaseResult[]
  canaryPorts: number[]
}

const hits: string[] = []
const canaries: Server[] = []
for (const port of [80, 443]) {
  const server = createServer((socket) => {
    hits.push(`${socket.localAddress ?? '?'}:${socket.localPort ?? port} from ${socket.remoteAddress ?? '?'}`)
    socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '::', port, ipv6Only: false }, () => { resolve() })
  })
  canaries.push(server)
}

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }

interface Case { name: string, reference: string, registry?: { host: string, insecure?: boolean, mirror?: string, allowLinkLocal?: boolean }, front?: () => number }
const cases: Case[] = []
const controls: Case[] = []

const references: Array<[string, string]> = [
  ['a reference to 169.254.169.254', '169.254.169.254/team/app:v1'],
  ['a reference to 169.254.169.254:80', '169.254.169.254:80/team/app:v1'],
  ['a reference to [fe80::1]', '[fe80::1]/team/app:v1'],
  ['a reference to IPv4-mapped [::ffff:169.254.169.254]', '[::ffff:169.254.169.254]/team/app:v1'],
  ['a reference to IPv4-mapped hex [::ffff:a9fe:a9fe]', '[::ffff:a9fe:a9fe]/team/app:v1'],
  ['a reference to metadata.google.internal', 'metadata.google.internal/computemetadata/v1:latest'],
  ['a reference to METADATA.GOOGLE.INTERNAL', 'METADATA.GOOGLE.INTERNAL/team/app:v1'],
  ['a reference to decimal 2852039166', '2852039166:443/team/app:v1'],
  ['a reference to hex 0xa9fea9fe', '0xa9fea9fe:443/team/app:v1'],
  ['a name that resolves to 169.254.169.254', 'evil.test/team/app:v1'],
  ['a name that resolves to fe80::1', 'evil6.test/team/app:v1'],
  ['a name that resolves to loopback and 169.254.169.254', 'mixed.test/team/app:v1']
]
for (const [name, reference] of references) cases.push({ name, reference })

const targets: Array<[string, string]> = [
  ['169.254.169.254', 'http://169.254.169.254'],
  ['[fe80::1]', 'http://[fe80::1]'],
  ['[::ffff:169.254.169.254]', 'http://[::ffff:169.254.169.254]'],
  ['metadata.google.internal', 'http://metadata.google.internal'],
  ['a name that resolves to 169.254.169.254', 'http://evil.test'],
  ['a name that resolves to fe80::1', 'http://evil6.test']
]
for (const [label, origin] of targets) {
  const redirecting = await startFaultyServer({ t, fault: { kind: 'redirect', location: `${origin}/v2/team/app/manifests/v1` } })
  cases.push({ name: `a registry that redirects to ${label}`, reference: `${redirecting.host}/team/app:v1`, registry: { host: redirecting.host, insecure: true }, front: () => redirecting.requests().length })
  const challenge: Fault = { kind: 'respond', status: 401, body: '{}', headers: { 'www-authenticate': `Bearer realm="${origin}/token",service="ssrf"` } }
  const realm = await startFaultyServer({ t, fault: challenge })
  cases.push({ name: `a registry whose token realm is ${label}`, reference: `${realm.host}/team/app:v1`, registry: { host: realm.host, insecure: true }, front: () => realm.requests().length })
  const mirrorHost = `mirror-${cases.length}.example`
  cases.push({ name: `a registry mirror at ${label}`, reference: `${mirrorHost}/team/app:v1`, registry: { host: mirrorHost, insecure: true, mirror: origin } })
}

// Positive controls: the same addresses with allowLinkLocal set do reach the canaries.
controls.push({ name: 'control: 169.254.169.254 with allowLinkLocal', reference: '169.254.169.254/team/app:v1', registry: { host: '169.254.169.254', insecure: true, allowLinkLocal: true } })
controls.push({ name: 'control: [fe80::1] with allowLinkLocal', reference: '[fe80::1]/team/app:v1', registry: { host: '[fe80::1]', insecure: true, allowLinkLocal: true } })
controls.push({ name: 'control: evil.test with allowLinkLocal', reference: 'evil.test/team/app:v1', registry: { host: 'evil.test', insecure: true, allowLinkLocal: true } })

// Two webhooks: the controls' allowLinkLocal must not apply to the cases that name the same hosts.
const metrics = createMetrics({ defaultMetrics: false })
const { logger } = captureLogs('silent')
const stacks: RegistryStack[] = []
async function webhook (list: readonly Case[]): Promise<FastifyInstance> {
  const registries = list.flatMap((c) => c.registry === undefined ? [] : [c.registry])
  const config = batteryConfig({ tlsCert: 'unused', tlsKey: 'unused', registries, resolver: { maxAttempts: 1 } })
  const stack = createRegistryStack(config, new StaticCredentials(), metrics)
  stacks.push(stack)
  const app = buildApp(config, { resolver: stack.resolver, metrics, readiness: new Readiness(), loggerInstance: logger })
  await app.ready()
  return app
}
const guarded = await webhook(cases)
const unguarded = await webhook(controls)

async function run (app: FastifyInstance, c: Case, index: number): Promise<SsrfCaseResult> {
  const before = hits.length
  const response = await app.inject({
    method: 'POST',
    url: '/mutate?timeout=5s',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(templateReview(`ssrf-${index}`, [c.reference]))
  })
  // A connection the guard let through would be accepted a moment after the answer at the latest.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const review = response.json<AdmissionReviewResponse>()
  const denied = review.response.auditAnnotations?.['denied'] ?? ''
  return {
    name: c.name,
    reference: c.reference,
    allowed: review.response.allowed,
    code: denied.split(': ')[1] ?? '',
    message: review.response.status?.message ?? '',
    canaryHits: hits.slice(before),
    registryRequests: c.front?.()
  }
}

const report: SsrfReport = { cases: [], controls: [], canaryPorts: [80, 443] }
for (const [index, c] of cases.entries()) report.cases.push(await run(guarded, c, index))
for (const [index, c] of controls.entries()) report.controls.push(await run(unguarded, c, 1000 + index))

for (const app of [guarded, unguarded]) await app.close()
for (const stack of stacks) await stack.close()
for (const fn of teardowns.reverse()) await fn()
for (const server of canaries) server.close()
process.stdout.write(`${JSON.stringify(report)}\n`)
