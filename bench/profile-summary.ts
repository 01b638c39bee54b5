import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

/**
 * Summarises V8 .cpuprofile files (node --cpu-prof) by self time, per function and per package, and the total time
 * spent under each function (inclusive), so BENCHMARKS.md can quote where a warm admission goes.
 *
 *   npx tsx bench/profile-summary.ts PROFILE.cpuprofile [TOP] [FILTER]
 */

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

function where (url: string): string {
  if (url === '') return '(native)'
  const path = url.replace(/^file:\/\//, '')
  // The bench compiles src to node_modules/.cache/atw-bench/dist (candidate builds: atw-variants/NAME): report dist/….
  const compiled = /\/node_modules\/\.cache\/atw-[^/]+\/[^/]+\/(.*)$/.exec(path)
  if (compiled?.[1] !== undefined) return `dist/${compiled[1]}`
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : rest[0] ?? path
  }
  if (path.startsWith('node:')) return 'node (core)'
  return relative(process.cwd(), path)
}

function label (frame: CallFrame): string {
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${where(frame.url)}:${frame.lineNumber + 1}`
}

function summarise (file: string, top: number, filter: RegExp | undefined): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, index) => { selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)) })
  const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0)
  const idle = [...selfUs].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)?.callFrame.functionName ?? '')).reduce((sum, [, us]) => sum + us, 0)
  const busy = total - idle

  const selfByFunction = new Map<string, number>()
  const selfByPackage = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const name = node.callFrame.functionName
    if (name === '(idle)' || name === '(program)') continue
    selfByFunction.set(label(node.callFrame), (selfByFunction.get(label(node.callFrame)) ?? 0) + us)
    const pkg = name === '(garbage collector)' ? '(garbage collector)' : where(node.callFrame.url)
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us)
    // Inclusive time: every distinct frame on the stack gets the sample once.
    const seen = new Set<string>()
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)?.callFrame
      if (frame === undefined) break
      const key = label(frame)
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + us)
      seen.add(key)
    }
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`
  const rows = (map: Map<string, number>, count: number): string[] => [...map].filter(([key]) => filter === undefined || filter.test(key))
    .sort((a, b) => b[1] - a[1]).slice(0, count).map(([key, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
  return [
    `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)`,
    'self time by package:', ...rows(selfByPackage, top),
    'self time by function:', ...rows(selfByFunction, top),
    'inclusive time by function:', ...rows(inclusive, top)
  ].join('\n')
}

const [file, top, filter] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write('usage: tsx bench/profile-summary.ts PROFILE.cpuprofile [TOP] [FILTER]\n')
  process.exit(2)
}
process.stdout.write(`${summarise(file, Number(top ?? 25), filter === undefined ? undefined : new RegExp(filter))}\n`)
