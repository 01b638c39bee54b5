import { celFunc, celMethod, CelScalar, type CelFunc, type CelValue, isCelList, mapType } from '@bufbuild/cel'
import { opaque, optionalKey, unwrap } from './opaque.js'

/**
 * The part of CEL's optional types (cel-go `ext`/`optional`, enabled by the apiserver since k8s 1.29,
 * k8s.io/apiserver/pkg/cel/environment/base.go) that format validation needs: none, of, hasValue, value, orValue.
 * An optional is a one-element (of) or empty (none) list under its marker key.
 */
export function optionalOf (value: CelValue | readonly string[]): ReadonlyMap<string, readonly (CelValue | readonly string[])[]> {
  return opaque(optionalKey, [value as CelValue]) as ReadonlyMap<string, readonly CelValue[]>
}

export function optionalNone (): ReadonlyMap<string, readonly CelValue[]> {
  return opaque(optionalKey, []) as ReadonlyMap<string, readonly CelValue[]>
}

function content (target: Parameters<typeof unwrap>[0]): CelValue | undefined {
  const inner = unwrap(target, optionalKey)
  if (!isCelList(inner)) throw new Error('malformed optional')
  return inner.size === 0 ? undefined : inner.get(0)
}

const anyMap = mapType(CelScalar.DYN, CelScalar.DYN)

export const optionalFunctions: CelFunc[] = [
  celFunc('optional.none', [], anyMap, () => optionalNone()),
  celFunc('optional.of', [CelScalar.DYN], anyMap, (value) => optionalOf(value)),
  celMethod('hasValue', anyMap, [], CelScalar.BOOL, function () { return content(this) !== undefined }),
  celMethod('value', anyMap, [], CelScalar.DYN, function () {
    const value = content(this)
    // cel-go: "optional.none() dereference"
    if (value === undefined) throw new Error('optional.none() dereference')
    return value
  }),
  celMethod('orValue', anyMap, [CelScalar.DYN], CelScalar.DYN, function (fallback) { return content(this) ?? fallback })
]
