import type { BenchRegistry } from './registry.js'
import { startOurs, type Workspace } from './servers.js'
import { median } from './stats.js'

/**
 * Start-up (issue 6 §4): time from spawn() of the real `serve` command (compiled, as deployed) to the first 200
 * from /readyz, polled every 5 ms over fresh TLS connections. Median of `runs` fresh processes.
 */
export async function benchStartup (work: Workspace, registry: BenchRegistry, runs: number): Promise<{ ready_ms: number, runs: number[] }> {
  const samples: number[] = []
  for (let run = 0; run < runs; run++) {
    const server = await startOurs(work, `ours-start-${run}`, { registries: [registry.settings] })
    samples.push(server.readyMs)
    await server.stop()
  }
  return { ready_ms: median(samples), runs: samples }
}
