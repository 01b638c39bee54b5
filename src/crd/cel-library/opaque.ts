import { type CelMap, type CelValue, isCelMap } from '@bufbuild/cel'

/**
 * @bufbuild/cel 0.6 has no opaque types and no optional values, which the Kubernetes library's formats return
 * (`format.dns1123Label()` is a Format, `.validate(s)` an optional<list<string>>). They are carried as one-key maps
 * whose key no JSON object from a CRD can produce; the methods below refuse any other map, so rules that misuse them
 * fail as they would on the apiserver, not silently.
 */
export const formatKey = '\u0000k8s.format'
export const optionalKey = '\u0000k8s.optional'

export function opaque (key: string, value: CelValue | string | readonly CelValue[]): ReadonlyMap<string, CelValue | string | readonly CelValue[]> {
  return new Map([[key, value]])
}

export function unwrap (target: CelMap, key: string): CelValue | undefined {
  if (!isCelMap(target) || target.size !== 1 || !target.has(key)) throw new Error(`no such overload: receiver is not a ${key === formatKey ? 'Format' : 'optional'}`)
  return target.get(key)
}
