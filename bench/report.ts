import type { ColdFigures } from './cold.js'
import type { DigesterFigures } from './digester.js'
import type { NetworkFigures } from './network.js'
import { networkTargets, printableNetwork } from './network-report.js'
import { round } from './stats.js'
import type { LevelFigures } from './warm.js'

/**
 * bench/results.json and the printed table. Ratios are ours ÷ baseline (issue 6). Headline fields: warm at the
 * highest concurrency; cold, and the digester ratios, from the worse of the plain-HTTP and TLS+token modes. Targets
 * are checked on every concurrency and every mode, not only on the headline.
 */

export interface Target {
  name: string
  value: number
  goal: string
  met: boolean
  /** how far off, in words, when missed */
  shortfall?: string
}

export interface Results {
  warm: {
    rps: number, p50_ms: number, p99_ms: number, echo_rps: number, echo_p99_ms: number, throughput_ratio: number, p99_ratio: number,
    concurrency: number, cpu_us: number, echo_cpu_us: number, cpu_ratio: number, levels: LevelFigures[], registry_requests: number
  }
  cold: {
    template_images: number, registry_requests_per_tag: number, concurrent_same_tag_requests: number, p50_ms: number,
    modes: ColdFigures[]
  }
  digester: DigesterFigures & { cold_latency_ratio: number, warm_throughput_ratio: number }
  rss_mb: number
  /** the floor's peak RSS under the same warm load */
  floor_rss_mb: number
  ready_ms: number
  startup_runs_ms: number[]
  /** resident set of a fresh server right after /readyz turned 200, before any admission */
  idle_rss_mb: number
  network: NetworkFigures['network']
  first_admission: NetworkFigures['first_admission']
  idle_admission: NetworkFigures['idle_admission']
  /** issue 17 §3: peak RSS (VmHWM) per case; `idle` is the resident set of a fresh process */
  memory: Record<string, { peak_mb: number, load: string }>
  targets: Target[]
  meta: Record<string, unknown>
}

export interface Measured {
  levels: LevelFigures[]
  warmRegistryRequests: number
  peakRssMb: number
  floorPeakRssMb: number
  cold: ColdFigures[]
  digester: DigesterFigures
  readyMs: number
  startupRuns: number[]
  idleRssMb: number
  templateImages: number
  network: NetworkFigures
  memory: Record<string, { peak_mb: number, load: string }>
  meta: Record<string, unknown>
}

function atLeast (name: string, value: number, goal: number): Target {
  return { name, value, goal: `≥ ${goal}`, met: value >= goal, ...(value >= goal ? {} : { shortfall: `${round((1 - value / goal) * 100, 1)}% below ${goal}` }) }
}

function atMost (name: string, value: number, goal: number, unit = ''): Target {
  return { name, value, goal: `≤ ${round(goal, 3)}${unit}`, met: value <= goal, ...(value <= goal ? {} : { shortfall: `${round((value / goal - 1) * 100, 1)}% over ${round(goal, 3)}${unit}` }) }
}

function exactly (name: string, value: number, goal: number): Target {
  return { name, value, goal: `= ${goal}`, met: value === goal, ...(value === goal ? {} : { shortfall: `${round(value, 3)} instead of ${goal}` }) }
}

/** Issue 17 §3: 30% headroom under the pod's 256 Mi limit, a small idle process, and little above the bare floor. */
function memoryTargets (memory: Measured['memory']): Target[] {
  const floor = memory['floor_warm_c64']?.peak_mb ?? Number.NaN
  return [
    ...Object.entries(memory).filter(([name]) => name !== 'idle' && name !== 'floor_warm_c64')
      .map(([name, entry]) => atMost(`peak RSS, ${name.replaceAll('_', ' ')}`, entry.peak_mb, 180, ' MB')),
    atMost('idle RSS', memory['idle']?.peak_mb ?? Number.NaN, 85, ' MB'),
    atMost('warm peak RSS (c=64) − floor peak RSS', (memory['warm_c64']?.peak_mb ?? Number.NaN) - floor, 25, ' MB')
  ]
}

const worst = (values: number[], pick: (a: number, b: number) => number): number => values.reduce((a, b) => pick(a, b))

export function buildResults (measured: Measured): Results {
  const top = measured.levels.at(-1)
  if (top === undefined) throw new Error('no warm levels measured')
  const coldPerTag = worst(measured.cold.map((mode) => mode.registry_requests_per_tag), Math.max)
  const concurrent = worst(measured.cold.map((mode) => mode.concurrent_same_tag_requests), Math.max)
  const coldRatio = worst(measured.digester.cold.map((mode) => mode.latency_ratio), Math.max)
  const targets: Target[] = [
    ...measured.levels.map((level) => atLeast(`warm throughput ÷ floor, c=${level.concurrency}`, level.throughput_ratio, 0.8)),
    ...measured.levels.map((level) => atMost(`warm p99 ÷ floor p99, c=${level.concurrency}`, level.p99_ratio, 1.5)),
    ...measured.cold.map((mode) => exactly(`cold registry requests per tag, ${mode.mode}`, mode.registry_requests_per_tag, 1)),
    ...measured.cold.map((mode) => exactly(`${mode.concurrent_admissions} concurrent same-tag admissions → registry requests, ${mode.mode}`, mode.concurrent_same_tag_requests, 1)),
    ...measured.digester.cold.map((mode) => atMost(`cold latency ours ÷ k8s-digester, ${mode.mode}`, mode.latency_ratio, 1 / 3)),
    atLeast(`warm throughput ours ÷ k8s-digester, c=${measured.digester.warm.concurrency}`, measured.digester.warm.throughput_ratio, 20),
    atMost('peak RSS under warm load', measured.peakRssMb, 100, ' MB'),
    atMost('start to /readyz 200', measured.readyMs, 1000, ' ms'),
    ...networkTargets(measured.network),
    ...memoryTargets(measured.memory)
  ]
  return {
    warm: {
      rps: top.rps,
      p50_ms: top.p50_ms,
      p99_ms: top.p99_ms,
      echo_rps: top.echo_rps,
      echo_p99_ms: top.echo_p99_ms,
      throughput_ratio: top.throughput_ratio,
      p99_ratio: top.p99_ratio,
      concurrency: top.concurrency,
      cpu_us: top.cpu_us,
      echo_cpu_us: top.echo_cpu_us,
      cpu_ratio: top.cpu_ratio,
      levels: measured.levels,
      registry_requests: measured.warmRegistryRequests
    },
    cold: {
      template_images: measured.templateImages,
      registry_requests_per_tag: coldPerTag,
      concurrent_same_tag_requests: concurrent,
      p50_ms: worst(measured.cold.map((mode) => mode.p50_ms), Math.max),
      modes: measured.cold
    },
    digester: { ...measured.digester, cold_latency_ratio: coldRatio, warm_throughput_ratio: measured.digester.warm.throughput_ratio },
    rss_mb: measured.peakRssMb,
    floor_rss_mb: measured.floorPeakRssMb,
    ready_ms: measured.readyMs,
    startup_runs_ms: measured.startupRuns,
    idle_rss_mb: measured.idleRssMb,
    ...measured.network,
    memory: measured.memory,
    targets,
    meta: measured.meta
  }
}

/** Every number rounded for people; results.json gets the same rounding so the table and the file agree. */
export function rounded<T> (value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => typeof item === 'number' && !Number.isInteger(item) ? round(item, 3) : item)) as T
}

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')
}

const f = (value: number, digits = 2): string => value.toFixed(digits)

/** At c ≥ 16 the bottleneck keeps its core busy; when neither the floor nor its client does, req/s says little about capacity. */
function starved (levels: readonly LevelFigures[]): string[] {
  return levels.filter((level) => level.concurrency >= 16 && Math.max(level.echo_cores, level.echo_client_cores) < 0.7)
    .map((level) => `note: at c=${level.concurrency} neither the floor (${f(level.echo_cores)} cores) nor its client ` +
      `(${f(level.echo_client_cores)}) kept a core busy: the floor's req/s is not its capacity here; compare CPU per admission`)
}

export function printable (results: Results): string {
  const warm = table([
    ['concurrency', 'ours req/s', 'floor req/s', 'ratio', 'ours p50', 'floor p50', 'ours p99', 'floor p99', 'p99 ratio', 'CPU/req ours', 'floor', 'CPU ratio', 'cores ours/floor/client'],
    ...results.warm.levels.map((level) => [String(level.concurrency), f(level.rps, 0), f(level.echo_rps, 0), f(level.throughput_ratio),
      `${f(level.p50_ms)} ms`, `${f(level.echo_p50_ms)} ms`, `${f(level.p99_ms)} ms`, `${f(level.echo_p99_ms)} ms`, f(level.p99_ratio),
      `${f(level.cpu_us, 0)} µs`, `${f(level.echo_cpu_us, 0)} µs`, f(level.cpu_ratio), `${f(level.cores)}/${f(level.echo_cores)}/${f(level.echo_client_cores)}`])
  ])
  const cold = table([
    ['registry', 'first', 'first reqs', 'p50', 'p99', 'reqs/tag', 'token reqs', 'same tag ×100 → reqs'],
    ...results.cold.modes.map((mode) => [mode.mode, `${f(mode.first_ms, 1)} ms`, String(mode.first_registry_requests) + (mode.first_token_requests > 0 ? ` (+${mode.first_token_requests} token)` : ''),
      `${f(mode.p50_ms)} ms`, `${f(mode.p99_ms)} ms`, f(mode.registry_requests_per_tag), String(mode.token_requests), String(mode.concurrent_same_tag_requests)])
  ])
  const digester = results.digester
  const peer = table([
    ['registry', 'ours p50', 'digester p50', 'ours ÷ digester', 'digester reqs/tag', 'digester token reqs/tag'],
    ...digester.cold.map((mode) => [mode.mode, `${f(mode.ours_p50_ms)} ms`, `${f(mode.digester_p50_ms)} ms`, f(mode.latency_ratio, 3),
      f(mode.digester_registry_requests_per_tag), f(mode.digester_token_requests_per_tag)])
  ])
  const targets = table([
    ['target', 'value', 'goal', 'met'],
    ...results.targets.map((target) => [target.name, f(target.value, 3), target.goal, target.met ? 'yes' : `NO: ${target.shortfall ?? ''}`])
  ])
  return [
    `Warm path (5 digests cached; HTTPS keep-alive; medians of ${String(results.meta['rounds'])} rounds of ${String(results.meta['roundSeconds'])} s)`, warm,
    `registry requests during warm rounds: ${results.warm.registry_requests}`,
    ...starved(results.warm.levels),
    '', `Cold path (cache off; ${results.cold.template_images} images; ${results.cold.modes[0]?.admissions ?? 0} sequential admissions)`, cold,
    '', `k8s-digester ${digester.version}, ${digester.mode} mode (ready in ${f(digester.ready_ms, 0)} ms, peak RSS ${f(digester.peak_rss_mb, 1)} MB)`, peer,
    `warm c=${digester.warm.concurrency} (${digester.warm.registry} registry): ours ${f(digester.warm.ours_rps, 0)} req/s, digester ${f(digester.warm.digester_rps, 1)} req/s → ${f(digester.warm.throughput_ratio, 1)}×` +
      ` (server CPU per admission ${f(digester.warm.ours_cpu_us, 0)} µs vs ${f(digester.warm.digester_cpu_us, 0)} µs)`,
    '', `peak RSS under warm load: ${f(results.rss_mb, 1)} MB (floor ${f(results.floor_rss_mb, 1)} MB; idle after start: ${f(results.idle_rss_mb, 1)} MB); start → /readyz 200: ${f(results.ready_ms, 0)} ms (runs: ${results.startup_runs_ms.map((ms) => f(ms, 0)).join(', ')})`,
    '', printableNetwork(results),
    '', 'Peak RSS (VmHWM) by case', table([['case', 'peak', 'load'], ...Object.entries(results.memory).map(([name, entry]) => [name, `${f(entry.peak_mb, 1)} MB`, entry.load])]),
    '', targets
  ].join('\n')
}
