/**
 * Structural equality of two parsed JSON values, without recursion. Admission bodies are hostile input: a spec nested
 * 10,000 levels deep overflowed the stack of node:util isDeepStrictEqual and turned an UPDATE into HTTP 500 (issue 7).
 * Object key order does not matter; JSON has no NaN, and -0 equals 0 as it does for the apiserver.
 */
export function jsonEqual (a: unknown, b: unknown): boolean {
  const pending: Array<[unknown, unknown]> = [[a, b]]
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [x, y] = pair
    if (x === y) continue
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false
      for (let index = 0; index < x.length; index++) pending.push([x[index], y[index]])
      continue
    }
    const left = x as Record<string, unknown>
    const right = y as Record<string, unknown>
    const keys = Object.keys(left)
    if (keys.length !== Object.keys(right).length) return false
    for (const key of keys) {
      if (!Object.hasOwn(right, key)) return false
      pending.push([left[key], right[key]])
    }
  }
  return true
}
