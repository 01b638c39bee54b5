import { celFunc, celMethod, CelScalar, type CelFunc, mapType } from '@bufbuild/cel'
import { isDns1123Label, isDns1123Subdomain } from '../names.js'
import { formatKey, opaque, unwrap } from './opaque.js'
import { optionalNone, optionalOf } from './optional.js'

/**
 * The Kubernetes CEL format library (k8s.io/apiserver/pkg/cel/library/format.go, k8s ≥ 1.31): `format.<name>()`
 * returns a Format and `.validate(s)` returns optional.none() when s is valid, else optional.of(list of messages).
 * Only the formats the ActorTemplate CRD's rules use are here. The checks and messages are those of
 * k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain), which format.go calls.
 */
export const formats: Readonly<Record<string, (value: string) => string[]>> = {
  dns1123Label: isDns1123Label,
  dns1123Subdomain: isDns1123Subdomain
}

const anyMap = mapType(CelScalar.DYN, CelScalar.DYN)

export const formatFunctions: CelFunc[] = [
  ...Object.keys(formats).map((name) => celFunc(`format.${name}`, [], anyMap, () => opaque(formatKey, name))),
  celMethod('validate', anyMap, [CelScalar.STRING], anyMap, function (value) {
    const name = unwrap(this, formatKey)
    const check = typeof name === 'string' ? formats[name] : undefined
    if (check === undefined) throw new Error('no such overload: unknown format')
    const errors = check(value)
    return errors.length === 0 ? optionalNone() : optionalOf(errors)
  })
]
