import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { maximumTemplate } from '../test/support/battery-reviews.js'
import { startHostileRegistry, type HostileRegistry } from '../test/support/hostile-registry.js'
import { memoryOf } from './processes.js'
import type { BenchRegistry } from './registry.js'
import { startOurs, type Workspace } from './servers.js'

/**
 * Issue 17 §3: peak resident set (the kernel's VmHWM) of the webhook process under the hostile cases of the hardening
 * issue (13), each in a fresh process with the shipped defaults and the image's NODE_OPTIONS, driven through its real
 * HTTPS endpoint at concurrency 16. The warm c=64 case comes from the warm section, the cold 80 ms case from the
 * network section, idle from the start-up section.
 */

export interface MemoryCase {
  peak_mb: number
  /** resident set when the load ended */
  rss_mb: number
  admissions: number
  /** what the case sends, in words */
  load: string
}

export interface MemoryOptions {
  admissions: { manyImages: number, manyHosts: number, tokens60k: number, tokens4m: number }
  log: (line: string) => void
}

const path = '/mutate?timeout=10s'
const concurrency = 16

async function closedPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { if (address !== null && typeof address === 'object') resolve(address.port); else reject(new Error('no port')) })
    })
  })
}

/** A fresh server, `admissions` distinct bodies sent `concurrency` at a time; its peak RSS when done. */
async function measureCase (work: Workspace, name: string, config: Record<string, unknown>, admissions: number, body: (index: number) => string,
  load: string): Promise<MemoryCase> {
  const server = await startOurs(work, `ours-memory-${name}`, config)
  try {
    let next = 0
    const statuses = new Map<number, number>()
    const worker = async (): Promise<void> => {
      const client = new Client(server.origin, { connect: { ca: work.tls.caPem, servername: 'localhost' } })
      try {
        for (;;) {
          const index = next++
          if (index >= admissions) return
          const response = await client.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: body(index) })
          await response.body.text()
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
        }
      } finally {
        await client.close()
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    // Not a failure: the hostile cases are mostly denied. Every admission must have been answered, though.
    const answered = [...statuses.values()].reduce((sum, count) => sum + count, 0)
    if (answered !== admissions) throw new Error(`memory ${name}: ${answered} of ${admissions} admissions answered`)
    const { peakMb, rssMb } = memoryOf(server.child.pid)
    return { peak_mb: peakMb, rss_mb: rssMb, admissions, load: `${load}; answers ${[...statuses].map(([status, count]) => `${count}×${status}`).join(', ')}` }
  } finally {
    await server.stop()
  }
}

const review = (index: number, image: (slot: number) => string): string => JSON.stringify(maximumTemplate(`mem-${index}`, image))

export async function benchHostileMemory (work: Workspace, http: BenchRegistry, options: MemoryOptions): Promise<Record<string, MemoryCase>> {
  const cases: Record<string, MemoryCase> = {}
  const { admissions } = options
  const registryHost = http.registry.host
  const httpConfig = { registries: [http.settings] }

  // The largest template the CRD allows (11 images, 640 env entries of 256 bytes), every image a tag never seen before.
  cases['many_image_refs'] = await measureCase(work, 'many-images', httpConfig, admissions.manyImages,
    (index) => review(index, (slot) => `${registryHost}/tenant-${index}/app-${slot}:v${index}`),
    `${admissions.manyImages} maximum templates, ${admissions.manyImages * 11} distinct references (not in the registry: 404)`)
  options.log(`memory many_image_refs: peak ${cases['many_image_refs'].peak_mb.toFixed(1)} MB`)

  // Every image on a registry host of its own: IP literals across 127/8 on a port where nothing listens.
  const port = await closedPort()
  const hostAt = (index: number): string => `127.${1 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}:${port}`
  cases['many_registry_hosts'] = await measureCase(work, 'many-hosts', {}, admissions.manyHosts,
    (index) => review(index, (slot) => `${hostAt(index * 11 + slot)}/team/app:v1`),
    `${admissions.manyHosts} maximum templates, ${admissions.manyHosts * 11} distinct registry hosts (connection refused)`)
  options.log(`memory many_registry_hosts: peak ${cases['many_registry_hosts'].peak_mb.toFixed(1)} MB`)

  for (const [name, tokenBytes, count] of [['big_tokens_60k', 60 * 1024, admissions.tokens60k], ['big_tokens_4m', 4 * 1024 * 1024 - 4096, admissions.tokens4m]] as const) {
    const teardowns: Array<() => unknown> = []
    const hostile: HostileRegistry = await startHostileRegistry({ teardown: (fn) => { teardowns.push(fn) } }, { auth: 'bearer', tokenBytes })
    try {
      cases[name] = await measureCase(work, name, { registries: [{ host: hostile.host, insecure: true }] }, count,
        (index) => review(index, (slot) => `${hostile.host}/tenant-${index}-${slot}/app:v1`),
        `${count} maximum templates, a ${Math.round(tokenBytes / 1024)} KiB token for each of ${count * 11} repositories`)
      options.log(`memory ${name}: peak ${cases[name]?.peak_mb.toFixed(1) ?? '?'} MB`)
    } finally {
      for (const teardown of teardowns.reverse()) await teardown()
      await hostile.close()
    }
  }
  return cases
}

/** Resident set of a fresh server, two seconds after it turned ready, before any admission. */
export async function idleMemory (work: Workspace, http: BenchRegistry): Promise<MemoryCase> {
  const server = await startOurs(work, 'ours-memory-idle', { registries: [http.settings] })
  try {
    await sleep(2000)
    const { peakMb, rssMb } = memoryOf(server.child.pid)
    return { peak_mb: peakMb, rss_mb: rssMb, admissions: 0, load: 'none: 2 s after /readyz turned 200' }
  } finally {
    await server.stop()
  }
}
