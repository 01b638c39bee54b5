/** Percentiles and medians for the bench; nearest-rank, so a reported p99 is a latency that was actually seen. */

export function percentile (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] ?? Number.NaN
}

export function sortedCopy (values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort()
}

export function median (values: readonly number[]): number {
  return percentile(sortedCopy(values), 50)
}

/** Rounds to `digits` significant decimals for the report; results.json keeps numbers, never strings. */
export function round (value: number, digits = 2): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
