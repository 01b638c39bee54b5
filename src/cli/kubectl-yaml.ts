import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml'

/**
 * The JSON kubectl sends for a YAML document. kubectl converts YAML with sigs.k8s.io/yaml, which reads plain
 * scalars the YAML 1.1 way of go-yaml v2 (resolve.go), not the YAML 1.2 way the `yaml` package uses: `value: yes`
 * reaches the apiserver as the boolean true, `port: 0755` as 493, `1_000` as 1000, `~` as null; a timestamp stays a
 * string, `12:30` too (go-yaml has no base 60). Quoted and block scalars are strings either way. Map keys become
 * strings as sigs.k8s.io/yaml writes them (`on:` is the key "true"). Found by the differential corpus
 * (test/cli/check-crd-corpus.test.ts): `check` must judge what the apiserver will receive.
 */

export class YamlToJsonError extends Error {
  override readonly name = 'YamlToJsonError'
}

const resolved = new Map<string, unknown>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((word): [string, unknown] => [word, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((word): [string, unknown] => [word, false]),
  ...['', '~', 'null', 'Null', 'NULL'].map((word): [string, unknown] => [word, null])
])

// encoding/json refuses these, so kubectl stops at the file: "error converting YAML to JSON: json: unsupported value: +Inf"
const nonFinite = new Map<string, string>([
  ...['.nan', '.NaN', '.NAN'].map((word): [string, string] => [word, 'NaN']),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((word): [string, string] => [word, '+Inf']),
  ...['-.inf', '-.Inf', '-.INF'].map((word): [string, string] => [word, '-Inf'])
])

// strconv.ParseInt(s, 0, 64) syntax: a sign, then 0x / 0b / 0o, a leading 0 for octal, or decimal.
const goInteger = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/
// go-yaml's yamlStyleFloat
const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/

function goIntegerValue (text: string): number | undefined {
  const match = goInteger.exec(text)
  if (match === null) return undefined
  const [, sign, digits = ''] = match
  const body = /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits
  const value = BigInt(body) * (sign === '-' ? -1n : 1n)
  // ParseInt (int64), then ParseUint (uint64) for what is larger; beyond both it is a string
  if (value < -(2n ** 63n) || value > 2n ** 64n - 1n) return undefined
  return Number(value)
}

/** go-yaml v2's resolve() for an untagged plain scalar. */
export function resolvePlainScalar (text: string): unknown {
  if (resolved.has(text)) return resolved.get(text)
  const unsupported = nonFinite.get(text)
  if (unsupported !== undefined) throw new YamlToJsonError(`error converting YAML to JSON: json: unsupported value: ${unsupported}`)
  const first = text.charAt(0)
  if (first === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : text
  if (!/^[-+0-9]$/.test(first)) return text
  const plain = text.replaceAll('_', '')
  const integer = goIntegerValue(plain)
  if (integer !== undefined) return integer
  if (yamlStyleFloat.test(plain)) {
    const float = Number(plain)
    if (Number.isFinite(float)) return float
  }
  return text
}

const stringTags = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:binary'])

function keyText (key: unknown): string {
  if (key === null) return 'null'
  if (typeof key === 'string') return key
  if (typeof key === 'number' || typeof key === 'boolean') return String(key)
  return JSON.stringify(key)
}

function convert (node: unknown, document: Document.Parsed, path: string): unknown {
  if (node === null || node === undefined) return null
  if (isAlias(node)) return convert(node.resolve(document), document, path)
  if (isMap(node)) {
    const object: Record<string, unknown> = {}
    const merged: Record<string, unknown> = {}
    for (const pair of node.items) {
      const key = convert(pair.key, document, path)
      if (isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.source === '<<') {
        const sources = convert(pair.value, document, path)
        for (const source of Array.isArray(sources) ? sources : [sources]) {
          if (source !== null && typeof source === 'object') for (const [name, value] of Object.entries(source)) merged[name] ??= value
        }
        continue
      }
      const name = keyText(key)
      object[name] = convert(pair.value, document, `${path}.${name}`)
    }
    return { ...merged, ...object }
  }
  if (isSeq(node)) return node.items.map((item, index) => convert(item, document, `${path}[${index}]`))
  if (isScalar(node)) {
    if (node.tag !== undefined && stringTags.has(node.tag)) return String(node.source ?? node.value)
    if (node.type !== 'PLAIN' || node.tag !== undefined) return node.value
    try {
      return resolvePlainScalar(node.source ?? String(node.value))
    } catch (error) {
      if (error instanceof YamlToJsonError) throw new YamlToJsonError(`${error.message} (at ${path.replace(/^\./, '') || 'the document'})`)
      throw error
    }
  }
  return (node as Node).toJSON()
}

/** The document's value as kubectl will send it; throws YamlToJsonError where kubectl stops at the file. */
export function kubectlValue (document: Document.Parsed): unknown {
  return convert(document.contents, document, '')
}
