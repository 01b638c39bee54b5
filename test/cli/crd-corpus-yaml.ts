import { stringify } from 'yaml'
import type { Json } from './crd-corpus.js'

/**
 * Templates written as YAML the way people write them, with plain scalars that YAML 1.1 (what kubectl's
 * sigs.k8s.io/yaml reads) and YAML 1.2 read differently: `value: yes` is a boolean to kubectl, a string to a 1.2
 * parser. `check` reads the file itself, so it must read it as kubectl will. `RAW(…)` marks text written unquoted.
 */

type Obj = Record<string, Json>

const plainScalars = ['yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'NO', 'True', 'false', '1_000', '12:30', '2001-12-14',
  '2001-12-14T21:59:43.10-05:00', '0755', '08', '0x1F', '0o17', '1e3', '1e400', '.5', '+12', '-0x10', '~', 'null', '0b101', '18446744073709551616']

/** Plain scalars JSON cannot carry: kubectl stops at the file ("error converting YAML to JSON"), before any request. */
export const unconvertibleScalars = ['.inf', '-.Inf', '.NaN', '+.INF']

export function env (spec: Obj, value: string): Obj {
  const containers = (spec['containers'] as Obj[]).map((container, index) => index === 0
    ? { ...container, env: [{ name: 'FLAG', value: `RAW(${value})` }] }
    : container)
  return { ...spec, containers }
}

function port (spec: Obj, value: string): Obj {
  const containers = (spec['containers'] as Obj[]).map((container, index) => index === 0
    ? { ...container, readyz: { httpGet: { port: `RAW(${value})` } } }
    : container)
  return { ...spec, containers }
}

export const yamlVariants: Array<[string, (spec: Obj) => Obj]> = [
  ...plainScalars.map((value): [string, (spec: Obj) => Obj] => [`env value ${value} unquoted`, (spec) => env(spec, value)]),
  ...['8080', '0x1F90', '017620', '0o17620', '8_080', '8080.0', '8.08e3', '2:14:20'].map((value): [string, (spec: Obj) => Obj] =>
    [`readyz port ${value} unquoted`, (spec) => port(spec, value)]),
  ['location unquoted yes', (spec) => ({ ...spec, snapshotsConfig: { location: 'RAW(yes)' } })],
  ['sandboxClass unquoted ~', (spec) => ({ ...spec, sandboxClass: 'RAW(~)' })]
]

/** YAML text of the object, with every `RAW(x)` string written as the plain scalar x. */
export function yamlText (object: Json): string {
  return stringify(object, { lineWidth: 0 }).replace(/(["']?)RAW\((.*?)\)\1$/gm, '$2')
}
