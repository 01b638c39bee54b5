/**
 * The registry budget of one admission. The apiserver appends `?timeout=<Go duration>` (client-go rest/request.go,
 * e.g. `10s`, `1m0s`, `500ms`) and gives up after it, so our answer must leave before: the timeout minus a safety
 * margin, never more than config admission.maxResolveSeconds.
 */

const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const component = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y

/** Milliseconds in a Go time.Duration string, or undefined when it is not one (or not positive). */
export function parseGoDuration (text: string): number | undefined {
  if (text === '' || text === '0') return undefined
  let total = 0
  component.lastIndex = 0
  while (component.lastIndex < text.length) {
    const start = component.lastIndex
    const match = component.exec(text)
    if (match === null || match.index !== start) return undefined
    total += Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN)
  }
  return Number.isFinite(total) && total > 0 ? total : undefined
}

export interface BudgetSettings {
  maxResolveSeconds: number
  safetyMarginMs: number
}

/**
 * Short timeouts (1–2 s) would leave nothing after the full margin; then half the timeout is used instead, so a
 * fast registry can still answer in time.
 */
export function resolveBudgetMs (timeoutQuery: string | undefined, settings: BudgetSettings): number {
  const cap = settings.maxResolveSeconds * 1000
  const timeout = timeoutQuery === undefined ? undefined : parseGoDuration(timeoutQuery)
  if (timeout === undefined) return cap
  return Math.min(cap, Math.max(timeout - settings.safetyMarginMs, timeout / 2))
}
