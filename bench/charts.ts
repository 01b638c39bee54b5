import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseVega, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

/**
 * Issue 17 §2: the bench's figures as SVG charts, rendered in Node by vega-lite (spec → vega) and vega's headless
 * View (renderer 'none', toSVG): no browser, no hand-drawn SVG. Written next to results.json; BENCHMARKS.md shows them.
 */

export interface ChartInput {
  /** network.<rtt>.<mode>.images_N */
  network?: Record<string, Record<string, Record<string, { images: number, ours_p50_ms: number, digester_p50_ms: number, floor_p50_ms: number }>>>
  warm?: { levels: Array<{ concurrency: number, rps: number, echo_rps: number, cpu_us: number, echo_cpu_us: number }> }
  memory?: Record<string, { peak_mb: number }>
}

const palette = { domain: ['ours', 'k8s-digester', 'floor'], range: ['#1f77b4', '#d62728', '#7f7f7f'] }

async function svgOf (spec: TopLevelSpec): Promise<string> {
  const view = new View(parseVega(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

function latencySpec (input: Required<Pick<ChartInput, 'network'>>): TopLevelSpec {
  const values = Object.entries(input.network).flatMap(([rtt, modes]) => Object.entries(modes).flatMap(([mode, cells]) =>
    Object.values(cells).flatMap((cell) => [
      { rtt: `round trip ${rtt}`, rttMs: Number.parseFloat(rtt), registry: mode === 'token' ? 'TLS + token' : 'plain HTTP', images: cell.images, who: 'ours', ms: cell.ours_p50_ms },
      { rtt: `round trip ${rtt}`, rttMs: Number.parseFloat(rtt), registry: mode === 'token' ? 'TLS + token' : 'plain HTTP', images: cell.images, who: 'k8s-digester', ms: cell.digester_p50_ms },
      { rtt: `round trip ${rtt}`, rttMs: Number.parseFloat(rtt), registry: mode === 'token' ? 'TLS + token' : 'plain HTTP', images: cell.images, who: 'floor', ms: cell.floor_p50_ms }
    ])))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Admission latency (p50) against template size', subtitle: 'registry behind toxiproxy; floor = one HEAD on a kept-alive connection; log scale' },
    data: { values },
    facet: {
      column: { field: 'rtt', type: 'nominal', sort: { field: 'rttMs' }, title: null },
      row: { field: 'registry', type: 'nominal', title: null }
    },
    spec: {
      width: 200,
      height: 160,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'images', type: 'quantitative', title: 'images in the template', scale: { domain: [1, 10] }, axis: { values: [1, 5, 10] } },
        y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
        color: { field: 'who', type: 'nominal', title: null, scale: palette }
      }
    },
    config: { font: 'sans-serif' }
  }
}

function warmSpec (input: Required<Pick<ChartInput, 'warm'>>): TopLevelSpec {
  const values = input.warm.levels.flatMap((level) => [
    { concurrency: level.concurrency, who: 'ours', rps: level.rps, cpu: level.cpu_us },
    { concurrency: level.concurrency, who: 'floor', rps: level.echo_rps, cpu: level.echo_cpu_us }
  ])
  const base = {
    width: 260,
    height: 180,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'concurrency', type: 'quantitative' as const, scale: { type: 'log' as const, base: 2 }, axis: { values: input.warm.levels.map((level) => level.concurrency) } },
      color: { field: 'who', type: 'nominal' as const, title: null, scale: palette }
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Warm path (digests cached) against concurrency', subtitle: 'HTTPS keep-alive, medians of alternating rounds; floor = bare fastify answering the same bytes' },
    data: { values },
    hconcat: [
      { ...base, title: 'admissions per second', encoding: { ...base.encoding, y: { field: 'rps', type: 'quantitative', title: 'req/s' } } },
      { ...base, title: 'server CPU per admission', encoding: { ...base.encoding, y: { field: 'cpu', type: 'quantitative', title: 'µs' } } }
    ],
    config: { font: 'sans-serif' }
  }
}

function memorySpec (input: Required<Pick<ChartInput, 'memory'>>): TopLevelSpec {
  const values = Object.entries(input.memory).map(([name, entry]) => ({ name: name.replaceAll('_', ' '), mb: entry.peak_mb }))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Peak RSS of the webhook process', subtitle: 'VmHWM; pod limit 256 Mi; target ≤ 180 MB (dashed)' },
    width: 420,
    layer: [
      { data: { values }, mark: 'bar', encoding: { y: { field: 'name', type: 'nominal', title: null, sort: '-x' }, x: { field: 'mb', type: 'quantitative', title: 'MB', scale: { domain: [0, 270] } } } },
      { data: { values: [{ mb: 180 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#d62728' }, encoding: { x: { field: 'mb', type: 'quantitative' } } },
      { data: { values: [{ mb: 268.4 }] }, mark: { type: 'rule', color: '#000' }, encoding: { x: { field: 'mb', type: 'quantitative' } } }
    ],
    config: { font: 'sans-serif' }
  }
}

/** Writes the charts whose figures are present; returns the files written. */
export async function writeCharts (input: ChartInput, dir: string): Promise<string[]> {
  const charts: Array<[string, TopLevelSpec]> = []
  if (input.network !== undefined) charts.push(['network-latency.svg', latencySpec({ network: input.network })])
  if (input.warm !== undefined) charts.push(['warm-throughput-cpu.svg', warmSpec({ warm: input.warm })])
  if (input.memory !== undefined) charts.push(['memory-peak.svg', memorySpec({ memory: input.memory })])
  const written: string[] = []
  for (const [name, spec] of charts) {
    const file = join(dir, name)
    await writeFile(file, `${await svgOf(spec)}\n`)
    written.push(file)
  }
  return written
}
