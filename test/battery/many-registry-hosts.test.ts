import { createServer } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { deadlineIn } from '../../src/registry/types.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 13 §1, bullet 3: registry hosts come from users, and every host used to keep an undici Agent forever
// (~1.5 KB each: 40,000 hosts kept 65 MiB). Now Agents live in a bounded LRU (resolver.maxRegistryHosts) and are
// closed on eviction. 40,000 distinct hosts are 40,000 IP literals across the loopback /8 (no DNS here), each asked
// once on a port where nothing listens: a real connect that is refused. Heap measured after a full GC.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const MiB = 1024 * 1024
const hosts = Number(process.env.ATW_HOSTS ?? 40_000)
const batch = 500

async function heapAfterGc (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

async function closedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { if (address !== null && typeof address === 'object') resolve(address.port); else reject(new Error('no port')) })
    })
  })
}

const hostAt = (index: number): string => `127.${1 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`

t.test('issue 13: 40,000 distinct registry hosts leave bounded memory', async (t) => {
  const port = await closedPort()
  // The global lookup cap is not what this test is about; waves of 500 keep it to a couple of minutes on two cores.
  const harness = startResolver(t, { registries: [], resolver: { maxAttempts: 1, maxLookupsInFlight: batch } })
  await harness.resolver.resolveOne(`${hostAt(0)}:${port}/team/app:v1`, deadlineIn(10_000))
  const before = await heapAfterGc()
  const started = Date.now()
  let refused = 0
  const checkpoints: Array<[number, number]> = []
  for (let start = 1; start <= hosts; start += batch) {
    const references = Array.from({ length: Math.min(batch, hosts + 1 - start) }, (_, offset) => `${hostAt(start + offset)}:${port}/team/app:v1`)
    const results = await harness.resolver.resolveAll(references, deadlineIn(60_000))
    refused += [...results.values()].filter((result) => !result.ok && result.error.code === 'REGISTRY_UNREACHABLE').length
    // The harness records every lookup event for other tests; that list is the test's memory, not the webhook's.
    harness.events.length = 0
    const done = start + references.length - 1
    if (done === hosts / 2 || done === hosts) checkpoints.push([done, (await heapAfterGc() - before) / MiB])
  }
  const [half, all] = checkpoints.map(([, grown]) => grown)
  const secondHalf = (all ?? 0) - (half ?? 0)
  const agents = 'agentCount' in harness.transport ? String(harness.transport.agentCount) : 'not reported'
  t.equal(refused, hosts, 'every host was really tried (connection refused)')
  t.ok((all ?? Infinity) < 32, `heap grew ${(all ?? 0).toFixed(1)} MiB after GC over ${hosts} hosts`)
  // Bounded means flat once the caches are full. Measured after GC the plateau still wobbles by a few MiB (10-14 MiB
  // at 5,000-host checkpoints); unbounded Agents added 28 MiB per 20,000 hosts.
  t.ok(secondHalf < 12, `the second ${hosts / 2} hosts added ${secondHalf.toFixed(1)} MiB`)
  t.comment(`${hosts} distinct hosts in ${Date.now() - started} ms: heap after GC grew ${checkpoints.map(([count, grown]) => `${grown.toFixed(1)} MiB after ${count}`).join(', ')}; ` +
    `second half added ${secondHalf.toFixed(1)} MiB; Agents kept: ${agents}`)
})
