import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import { createMetrics } from '../../src/http/metrics.js'
import { createRegistryStack } from '../../src/registry/create-resolver.js'
import { StaticCredentials } from '../../src/registry/credentials.js'
import { deadlineIn } from '../../src/registry/types.js'
import { buildOciImage, writeOciLayout } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { registryConfigFor } from '../support/resolver-harness.js'

// Issue 14 §3: the dashboard shows cache and single-flight hits. Concurrent identical lookups share one registry call
// (issue 7); each caller that joined one already in flight is counted as atw_cache_hits_total{source="single-flight"},
// and only the lookup that went to the registry is timed as registry time. Real registry, real metrics registry.

function sample (text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const line = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)
  return line?.[1] === undefined ? undefined : Number(line[1])
}

t.test('issue 14: single-flight joins are counted as cache hits, and their requests are not counted twice', async (t) => {
  const registry = await startRegistry({ mode: 'http', t })
  const pushed = await push(registry, await writeOciLayout(join(await mkdtemp(join(tmpdir(), 'atw-sf-')), 'image'), buildOciImage(), 'v1'), 'team/app', 'v1')
  const base = loadConfig({}, {})
  const config: Readonly<Config> = {
    ...base,
    registries: [{ insecure: false, allowLinkLocal: false, allowedRealmHosts: [], ...registryConfigFor(registry) }],
    // No digest cache and no burst window: the only reuse possible here is joining the lookup in flight.
    resolver: { ...base.resolver, cacheTtlSeconds: 0, burstWindowMs: 0 }
  }
  const metrics = createMetrics({ defaultMetrics: false })
  const stack = createRegistryStack(config, new StaticCredentials(), metrics)
  t.teardown(stack.close)
  const reference = `${registry.host}/team/app:v1`
  const before = registry.requests().length

  // Started in one tick: the first call puts its lookup in flight before the others run, so they join it.
  const results = await Promise.all([1, 2, 3].map(async () => await stack.resolver.resolveOne(reference, deadlineIn(10_000))))
  t.same(results.map((result) => result.ok ? result.digest : result.error.code), [pushed.digest, pushed.digest, pushed.digest])
  const manifestRequests = registry.requests().slice(before).filter((logged) => logged.path.includes('/manifests/'))
  t.equal(manifestRequests.length, 1, 'one manifest request on the wire for three callers')

  const text = await metrics.registry.metrics()
  const host = registry.host
  t.equal(sample(text, 'atw_cache_hits_total{source="single-flight"}'), 2, 'the two joiners are single-flight hits')
  t.equal(sample(text, `atw_resolutions_total{registry="${host}",outcome="pinned"}`), 3, 'all three callers got a pinned answer')
  t.equal(sample(text, `atw_registry_lookup_duration_seconds_count{registry="${host}",status="pinned"}`), 1, 'registry time is observed once')
  t.equal(sample(text, `atw_registry_requests_total{registry="${host}"}`), manifestRequests.length, 'requests are counted as sent')

  // Later, with nothing in flight, a lookup goes to the registry again and is no single-flight hit.
  await stack.resolver.resolveOne(reference, deadlineIn(10_000))
  const after = await metrics.registry.metrics()
  t.equal(sample(after, 'atw_cache_hits_total{source="single-flight"}'), 2)
  t.equal(sample(after, `atw_registry_lookup_duration_seconds_count{registry="${host}",status="pinned"}`), 2)
})
