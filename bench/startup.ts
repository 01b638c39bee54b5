import { memoryOf } from './processes.js'
import type { BenchRegistry } from './registry.js'
import { startOurs, type Workspace } from './servers.js'
import { median } from './stats.js'

/**
 * Start-up (issue 6 §4): time from spawn() of the real `serve` command (compiled, as deployed) to the first 200
 * from /readyz, polled every 5 ms over fresh TLS connections, and the resident set at that moment. Medians of
 * `runs` fresh processes.
 */
export async function benchStartup (work: Workspace, registry: BenchRegistry, runs: number): Promise<{ ready_ms: number, idle_rss_mb: number, runs: number[] }> {
  const samples: number[] = []
  const rss: number[] = []
  for (let run = 0; run < runs; run++) {
    const server = await startOurs(work, `ours-start-${run}`, { registries: [registry.settings] })
    samples.push(server.readyMs)
    rss.push(memoryOf(server.child.pid).rssMb)
    await server.stop()
  }
  return { ready_ms: median(samples), idle_rss_mb: median(rss), runs: samples }
}
