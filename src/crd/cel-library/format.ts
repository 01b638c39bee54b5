import { celFunc, celMethod, CelScalar, type CelFunc, mapType } from '@bufbuild/cel'
import { formatKey, opaque, unwrap } from './opaque.js'
import { optionalNone, optionalOf } from './optional.js'

/**
 * The Kubernetes CEL format library (k8s.io/apiserver/pkg/cel/library/format.go, k8s ≥ 1.31): `format.<name>()`
 * returns a Format and `.validate(s)` returns optional.none() when s is valid, else optional.of(list of messages).
 * Only the formats the ActorTemplate CRD's rules use are here. The checks and messages are those of
 * k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain), which format.go calls.
 */
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`

function maxLenError (length: number): string {
  return `must be no more than ${length} characters`
}

function regexError (message: string, format: string, examples: readonly string[]): string {
  // validation.RegexError, byte for byte: each example is followed by ", " and joined with " or ".
  const shown = examples.map((example, index) => `${index > 0 ? ' or ' : ''}'${example}', `).join('')
  return `${message} (e.g. ${shown}regex used for validation is '${format}')`
}

export const formats: Readonly<Record<string, (value: string) => string[]>> = {
  dns1123Label: (value) => {
    const errors: string[] = []
    if (value.length > 63) errors.push(maxLenError(63))
    if (!new RegExp(`^${dns1123LabelFmt}$`).test(value)) {
      errors.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, ['my-name', '123-abc']))
    }
    return errors
  },
  dns1123Subdomain: (value) => {
    const errors: string[] = []
    if (value.length > 253) errors.push(maxLenError(253))
    if (!new RegExp(`^${dns1123SubdomainFmt}$`).test(value)) {
      errors.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, ['example.com']))
    }
    return errors
  }
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
