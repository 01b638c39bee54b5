import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { loadConfig } from '../src/config.js'
import { createRegistryStack } from '../src/registry/create-resolver.js'
import { credentialsFromConfig } from '../src/registry/credentials-from-config.js'
import { manifestAccept } from '../src/registry/types.js'
import { startBenchRegistry, type BenchMode } from './registry.js'

/**
 * Issue 17: CPU of one uncached tag lookup through our registry stack, against a bare undici HEAD on a kept-alive
 * connection to the same registry, in one process, sequentially. `npx tsx bench/lookup-loop.ts [http|token] [N]`.
 */
const mode = (process.argv[2] ?? 'http') as BenchMode
const count = Number(process.argv[3] ?? 2000)
// Short, so the timers a lookup leaves behind fire inside the measured window (it waits this long after the loop).
const timeoutSeconds = 1
const dir = await mkdtemp(join(tmpdir(), 'atw-lookup-loop-'))
const bench = await startBenchRegistry(mode, dir)
try {
  const configFile = join(dir, 'lookup-loop.config.json')
  await writeFile(configFile, JSON.stringify({
    registries: [bench.settings],
    resolver: { cacheTtlSeconds: 0, burstWindowMs: 0, perRequestTimeoutSeconds: timeoutSeconds },
    credentials: { dockerConfigFiles: [bench.dockerConfigFile] }
  }))
  const config = loadConfig({ configFile }, {})
  const stack = createRegistryStack(config, credentialsFromConfig(config, () => {}))
  const image = bench.images[0] ?? ''
  const lookupOnce = async (): Promise<void> => {
    const signal = new AbortController().signal
    const result = await stack.resolver.resolveOne(image, { signal, at: Date.now() + 10_000 })
    if (!result.ok) throw new Error(JSON.stringify(result))
  }
  const caPem = bench.registry.caPem
  const client = new Client(`${bench.registry.tls ? 'https' : 'http'}://${bench.registry.host}`, caPem === undefined ? {} : { connect: { ca: caPem } })
  const path = `/v2/${image.slice(bench.registry.host.length + 1).replace(':', '/manifests/')}`
  const authorization = bench.registry.tokenServer === undefined ? undefined : `Bearer ${await bench.registry.tokenServer.issueToken({ subject: bench.registry.username ?? '', service: bench.registry.service ?? '', access: [{ type: 'repository', name: path.split('/')[2] ?? '', actions: ['pull'] }], expiresIn: 3600 })}`
  const bare = async (): Promise<void> => {
    const response = await client.request({ path, method: 'HEAD', headers: { accept: manifestAccept, ...(authorization === undefined ? {} : { authorization }) }, reset: false })
    await response.body.dump()
    if (response.statusCode !== 200) throw new Error(`bare HEAD ${path}: ${response.statusCode}`)
  }
  const measure = async (name: string, run: () => Promise<void>): Promise<string> => {
    for (let i = 0; i < 200; i++) await run()
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < count; i++) await run()
    const wallUs = (performance.now() - started) * 1000 / count
    await sleep(timeoutSeconds * 1000 + 500)
    const used = process.cpuUsage(cpu)
    return `${name}: ${wallUs.toFixed(0)} µs wall, ${(used.user / count).toFixed(0)} µs user, ${(used.system / count).toFixed(0)} µs sys per lookup (CPU includes the ${timeoutSeconds + 0.5} s after the loop)`
  }
  for (let round = 0; round < 3; round++) {
    console.log(await measure('ours', lookupOnce), '|', await measure('bare', bare))
  }
  await client.close()
  await stack.close()
} finally {
  await bench.close()
}
