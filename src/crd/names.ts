/**
 * Name checks of k8s.io/apimachinery/pkg/util/validation/validation.go, with its messages byte for byte; the CEL
 * format library and ObjectMeta validation both call them, as in Kubernetes.
 */
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const labelValueFmt = `(${qualifiedNameFmt})?`

export function maxLenError (length: number): string {
  return `must be no more than ${length} characters`
}

/** validation.RegexError: each example is followed by ", " and joined with " or ". */
export function regexError (message: string, format: string, examples: readonly string[]): string {
  const shown = examples.map((example, index) => `${index > 0 ? ' or ' : ''}'${example}', `).join('')
  return `${message} (e.g. ${shown}regex used for validation is '${format}')`
}

function matches (format: string, value: string): boolean {
  return new RegExp(`^${format}$`).test(value)
}

export function isDns1123Label (value: string): string[] {
  const errors: string[] = []
  if (value.length > 63) errors.push(maxLenError(63))
  if (!matches(dns1123LabelFmt, value)) {
    errors.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, ['my-name', '123-abc']))
  }
  return errors
}

export function isDns1123Subdomain (value: string): string[] {
  const errors: string[] = []
  if (value.length > 253) errors.push(maxLenError(253))
  if (!matches(dns1123SubdomainFmt, value)) {
    errors.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, ['example.com']))
  }
  return errors
}

/** IsQualifiedName: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export function isQualifiedName (value: string): string[] {
  const parts = value.split('/')
  const errors: string[] = []
  let name: string
  if (parts.length === 1) {
    name = parts[0] ?? ''
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? ''
    name = parts[1] ?? ''
    if (prefix.length === 0) errors.push('prefix part must be non-empty')
    else errors.push(...isDns1123Subdomain(prefix).map((message) => `prefix part ${message}`))
  } else {
    return [regexError("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", qualifiedNameFmt, ['MyName', 'my.name', '123-abc']) +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
  }
  if (name.length === 0) errors.push('name part must be non-empty')
  else if (name.length > 63) errors.push(`name part ${maxLenError(63)}`)
  if (!matches(qualifiedNameFmt, name)) {
    errors.push(`name part ${regexError("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", qualifiedNameFmt, ['MyName', 'my.name', '123-abc'])}`)
  }
  return errors
}

export function isValidLabelValue (value: string): string[] {
  const errors: string[] = []
  if (value.length > 63) errors.push(maxLenError(63))
  if (!matches(labelValueFmt, value)) {
    errors.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", labelValueFmt, ['MyValue', 'my_value', '12345']))
  }
  return errors
}
