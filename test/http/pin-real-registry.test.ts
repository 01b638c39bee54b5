import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { Readiness } from '../../src/http/app.js'
import type { AdmissionReviewResponse } from '../../src/admission/response.js'
import type { Config } from '../../src/config.js'
import { createMetrics, type Metrics } from '../../src/http/metrics.js'
import { createRegistryStack } from '../../src/registry/create-resolver.js'
import { StaticCredentials } from '../../src/registry/credentials.js'
import { MediaType } from '../../src/registry/types.js'
import { startServer, type RunningServer } from '../../src/http/server.js'
import { loadReview, type ReviewFixture } from '../fixtures/reviews/index.js'
import { applyPatch, schemaErrors } from '../fixtures/schema/index.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry, type TokenRegistry } from '../support/registry.js'
import { registryConfigFor } from '../support/resolver-harness.js'
import { writeTlsFiles } from '../support/tls.js'
import { logCapture, testConfig } from './app-harness.js'

// The whole path with nothing faked: the webhook over TLS, our registry stack, a real docker-registry behind a
// token server. What the apiserver would store is checked by applying the patch and validating it against the schema.

interface Setup {
  registry: TokenRegistry
  server: RunningServer
  agent: Agent
  metrics: Metrics
  logs: Array<Record<string, unknown>>
  digests: { agent: string, pause: string }
}

async function setupWith (t: Test, options: { credentials?: boolean } = {}): Promise<Setup> {
  // A private registry: the token server refuses anonymous pulls.
  const registry = await startRegistry({ mode: 'token', t, tokenServer: { requireCredentials: true } })
  const [agent, pause] = await Promise.all([push(registry, buildOciIndex(), 'team/agent', '1.4'), push(registry, buildOciImage(), 'team/pause', '3.10')])
  const tls = await writeTlsFiles(await mkdtemp(join(tmpdir(), 'atw-real-')))
  const base = testConfig({ server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCert: tls.certFile, tlsKey: tls.keyFile, shutdownDelaySeconds: 0 } })
  const config: Readonly<Config> = { ...base, registries: [{ insecure: false, allowLinkLocal: false, allowedRealmHosts: [], ...registryConfigFor(registry) }] }
  const credentials = new StaticCredentials(options.credentials === false
    ? new Map()
    : new Map([[registry.host, { username: registry.username, password: registry.password, source: 'test config' }]]))
  const metrics = createMetrics({ defaultMetrics: false })
  const stack = createRegistryStack(config, credentials, metrics)
  const { logs, logger } = logCapture()
  const server = await startServer(config, { resolver: stack.resolver, metrics, readiness: new Readiness(), loggerInstance: logger })
  const client = new Agent({ connect: { ca: tls.caPem } })
  t.teardown(async () => {
    await client.close()
    await server.shutdown('test over')
    await stack.close()
  })
  return { registry, server, agent: client, metrics, logs, digests: { agent: agent.digest, pause: pause.digest } }
}

async function admit (setup: Setup, review: ReviewFixture, path = '/mutate?timeout=10s'): Promise<AdmissionReviewResponse> {
  const response = await request(`${setup.server.url}${path}`, {
    method: 'POST',
    dispatcher: setup.agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(review)
  })
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${await response.body.text()}`)
  return await response.body.json() as AdmissionReviewResponse
}

function templateReview (host: string): ReviewFixture {
  const review = loadReview('create-generate-name')
  review.request.object.spec['pauseImage'] = `${host}/team/pause:3.10`
  review.request.object.spec.containers[0] = { ...review.request.object.spec.containers[0], image: `${host}/team/agent:1.4` }
  review.request.object.spec.containers[1] = { ...review.request.object.spec.containers[1], image: `${host}/team/agent:1.4` }
  return review
}

t.test('CREATE pins to the digests the registry serves; UPDATE re-apply needs no registry request', async (t) => {
  const setup = await setupWith(t)
  const { registry, digests } = setup
  const review = templateReview(registry.host)
  registry.resetRequests()
  const { response } = await admit(setup, review)
  t.equal(response.allowed, true)
  t.equal(response.patchType, 'JSONPatch')
  const stored = applyPatch(review.request.object, response.patch ?? '')
  t.same(schemaErrors(stored), [], 'the stored object satisfies the schema, contains(@) included')
  t.equal(stored.spec['pauseImage'], `${registry.host}/team/pause:3.10@${digests.pause}`)
  t.equal(stored.spec.containers[0]?.['image'], `${registry.host}/team/agent:1.4@${digests.agent}`, 'an index pins to the index digest')
  t.equal(stored.spec.containers[1]?.['image'], `${registry.host}/team/agent:1.4@${digests.agent}`)
  t.equal(stored.spec.containers[2]?.['image'], review.request.object.spec.containers[2]?.['image'], 'the pinned reference is untouched')
  const annotation = JSON.parse((stored.metadata['annotations'] as Record<string, string>)['ate.dev/pinned-images'] ?? '{}') as Record<string, { mediaType: string }>
  t.equal(annotation['spec.containers[0].image']?.mediaType, MediaType.ociIndex)
  t.equal(annotation['spec.pauseImage']?.mediaType, MediaType.ociManifest)
  t.match(response.warnings, [
    new RegExp(`^spec\\.pauseImage: ${registry.host}/team/pause:3\\.10 pinned to ${digests.pause.slice(0, 19)}… \\(manifest\\)$`),
    new RegExp(`^spec\\.containers\\[0\\]\\.image: ${registry.host}/team/agent:1\\.4 pinned to ${digests.agent.slice(0, 19)}… \\(index\\)$`),
    /^spec\.containers\[1\]\.image: /
  ])
  const heads = (await registry.waitForRequests((requests) => requests.filter((r) => r.method === 'HEAD' && r.status === 200).length >= 2))
    .filter((r) => r.method === 'HEAD' && r.status === 200)
  t.same(heads.map((r) => r.path).sort(), ['/v2/team/agent/manifests/1.4', '/v2/team/pause/manifests/3.10'], 'the duplicate reference is asked once')
  const line = setup.logs.find((entry) => entry['msg'] === 'admission')
  t.ok(Number(line?.['registryRequests']) >= 2, `the log line counts ${String(line?.['registryRequests'])} registry requests`)
  t.notOk(JSON.stringify(setup.logs).includes(registry.password), 'the registry password is never logged')
  t.match(await setup.metrics.registry.metrics(), new RegExp(`atw_resolutions_total\\{registry="${registry.host}",outcome="pinned"\\} 2`))

  const update = loadReview('update-reapply')
  update.request.oldObject = { ...stored, metadata: { ...stored.metadata, name: 'agent-x7k2p', uid: 'u-1', resourceVersion: '1' } }
  update.request.object = { ...review.request.object, metadata: update.request.oldObject['metadata'] as ReviewFixture['request']['object']['metadata'] }
  registry.resetRequests()
  const reapplied = await admit(setup, update)
  const after = applyPatch(update.request.object, reapplied.response.patch ?? '')
  t.same(after.spec, stored.spec, 'spec equals the stored one (the CRD rule self == oldSelf holds)')
  t.same(after.metadata, update.request.oldObject['metadata'], 'annotation unchanged')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(registry.requests(), [], 'no registry request on re-apply')
  t.match(setup.logs.filter((entry) => entry['msg'] === 'admission').at(-1), { operation: 'UPDATE', decision: 'patched', registryRequests: 0 })
})

t.test('a missing tag and missing credentials are denials with the registry\'s own answer', async (t) => {
  const setup = await setupWith(t)
  const review = templateReview(setup.registry.host)
  review.request.object.spec.containers[1] = { name: 'helper', image: `${setup.registry.host}/team/agent:1.5` }
  const { response } = await admit(setup, review)
  t.equal(response.allowed, false)
  t.equal(response.status?.code, 403)
  t.equal(response.status?.reason, 'Forbidden')
  t.match(response.status?.message, new RegExp(`^spec\\.containers\\[1\\]\\.image: cannot pin ${setup.registry.host}/team/agent:1\\.5: .*answered 404 MANIFEST_UNKNOWN.*check the repository and tag, or push the image first`))
  t.equal(response.patch, undefined)

  const anonymous = await setupWith(t, { credentials: false })
  const denied = await admit(anonymous, templateReview(anonymous.registry.host))
  t.equal(denied.response.allowed, false)
  t.match(denied.response.status?.message, /^3 problems: spec\.pauseImage: cannot pin .*team\/pause:3\.10: token server .* answered 401 to an anonymous request; check the pull credentials configured for this registry;/)
  t.match(denied.response.status?.message, /spec\.containers\[0\]\.image: cannot pin .*team\/agent:1\.4/)
  t.match(denied.response.status?.message, /spec\.containers\[1\]\.image: cannot pin .*team\/agent:1\.4/)
})

t.test('validate after mutate: the pinned object is admitted, and never patched', async (t) => {
  const setup = await setupWith(t)
  const review = templateReview(setup.registry.host)
  const mutated = await admit(setup, review)
  const stored = applyPatch(review.request.object, mutated.response.patch ?? '')
  const validated = await admit(setup, { ...review, request: { ...review.request, object: stored } }, '/validate?timeout=10s')
  t.same(validated.response, { uid: review.request.uid, allowed: true })
})

