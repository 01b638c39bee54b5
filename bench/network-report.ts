import type { NetworkFigures } from './network.js'
import { round } from './stats.js'

/** Issue 17 §1's targets and table, from the network section's figures. */

export interface NetworkTarget {
  name: string
  value: number
  goal: string
  met: boolean
  shortfall?: string
}

function atMost (name: string, value: number, goal: number, unit: string): NetworkTarget {
  const met = value <= goal
  return { name, value, goal: `≤ ${round(goal, 3)}${unit}`, met, ...(met ? {} : { shortfall: `${round(value - goal, 2)}${unit} over` }) }
}

export function networkTargets (figures: NetworkFigures): NetworkTarget[] {
  const targets: NetworkTarget[] = []
  for (const [rtt, modes] of Object.entries(figures.network)) {
    for (const [mode, cells] of Object.entries(modes)) {
      for (const [size, cell] of Object.entries(cells)) {
        if (cell.ours_added_rtts !== null) targets.push(atMost(`steady state at ${rtt}, ${mode}, ${size}: round trips ours added to 0 ms (paired)`, cell.ours_added_rtts, 1.3, ' RTT'))
      }
      const five = cells['images_5']
      if (rtt === '20ms' && five !== undefined) targets.push(atMost(`ours ÷ k8s-digester at 20 ms, ${mode}, 5 images`, five.ours_over_digester, 0.1, ''))
    }
  }
  const comparison = figures.registry_comparison
  for (const [mode, cell] of Object.entries(comparison?.cells ?? {})) {
    targets.push(atMost(`ours ÷ k8s-digester at ${comparison?.rtt_ms ?? 20} ms, ${mode}, 5 images, against ${comparison?.registry ?? 'another registry'}`, cell.ours_over_digester, 0.1, ''))
  }
  for (const [mode, first] of Object.entries(figures.first_admission)) {
    targets.push(atMost(`first admission, ${mode}: round trips (minimum ${first.minimum_rtts})`, first.rtts, first.minimum_rtts + 1, ' RTT'))
  }
  for (const [mode, idle] of Object.entries(figures.idle_admission)) {
    targets.push(atMost(`after ${idle.idle_seconds} s idle at ${idle.rtt_ms} ms, ${mode}: round trips added to 0 ms right after`, idle.rtts, 1.5, ' RTT'))
  }
  return targets
}

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')
}

const f = (value: number | null, digits = 1): string => value === null ? '—' : value.toFixed(digits)

export function printableNetwork (figures: NetworkFigures): string {
  const rows = [['rtt', 'registry', 'images', 'ours p50', 'ours p99', 'digester p50', 'floor p50', 'ours RTTs', 'added', 'paired p50 0 ms → rtt',
    'CPU/admission ours, registry', 'digester RTTs', 'floor RTTs', 'ours ÷ digester']]
  for (const [rtt, modes] of Object.entries(figures.network)) {
    for (const [mode, cells] of Object.entries(modes)) {
      for (const cell of Object.values(cells)) {
        const pairs = cell.added_pairs
        rows.push([rtt, mode, String(cell.images), `${f(cell.ours_p50_ms)} ms`, `${f(cell.ours_p99_ms)} ms`, `${f(cell.digester_p50_ms)} ms`,
          `${f(cell.floor_p50_ms)} ms`, f(cell.ours_rtts, 2), f(cell.ours_added_rtts, 2),
          pairs === null ? '—' : `${f(pairs.at_0_p50_ms)} → ${f(pairs.at_rtt_p50_ms)} ms`,
          pairs === null ? '—' : `${f(pairs.ours_cpu_ms)}, ${f(pairs.registry_cpu_ms)} ms`,
          f(cell.digester_rtts, 2), f(cell.floor_rtts, 2), f(cell.ours_over_digester, 3)])
      }
    }
  }
  const first = table([['registry', 'first at 0 ms', 'first at rtt', 'rtt', 'round trips added', 'minimum'],
    ...Object.entries(figures.first_admission).map(([mode, entry]) => [mode, `${f(entry.first_ms_at_0)} ms`, `${f(entry.first_ms_at_rtt)} ms`,
      `${entry.rtt_ms} ms`, f(entry.rtts, 2), String(entry.minimum_rtts)])])
  const idle = table([['registry', 'before idle', 'after idle', 'at 0 ms right after', 'idle', 'rtt', 'RTTs', 'added', 'floor before → after', 'registry sockets kept'],
    ...Object.entries(figures.idle_admission).map(([mode, entry]) => [mode, `${f(entry.before_ms)} ms`, `${f(entry.ms)} ms`, `${f(entry.local_ms)} ms`,
      `${entry.idle_seconds} s`, `${entry.rtt_ms} ms`, f(entry.raw_rtts, 2), f(entry.rtts, 2), `${f(entry.floor_before_ms)} → ${f(entry.floor_after_ms)} ms`,
      `${entry.registry_sockets_kept} of ${entry.registry_sockets_before}`])])
  const comparison = figures.registry_comparison
  const other = comparison === undefined
    ? []
    : ['', `The same cell against ${comparison.registry} (its own proxies, digester and servers; same run)`, table([
        ['rtt', 'registry', 'images', 'ours p50', 'digester p50', 'added', 'CPU/admission ours, registry', 'ours ÷ digester'],
        ...Object.entries(comparison.cells).map(([mode, cell]) => [`${comparison.rtt_ms}ms`, mode, String(cell.images), `${f(cell.ours_p50_ms)} ms`,
          `${f(cell.digester_p50_ms)} ms`, f(cell.ours_added_rtts, 2),
          cell.added_pairs === null ? '—' : `${f(cell.added_pairs.ours_cpu_ms)}, ${f(cell.added_pairs.registry_cpu_ms)} ms`, f(cell.ours_over_digester, 3)])
      ])]
  return [
    'Across a round trip (toxiproxy latency on registry and token server; cache off; sequential admissions)', table(rows),
    ...other,
    '', 'First admission of a fresh process (5 images)', first,
    '', 'After idle (token still valid)', idle
  ].join('\n')
}
