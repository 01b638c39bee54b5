import type { Json } from './crd-corpus.js'

/**
 * Valid variants of the every-field base template: values at or just inside each limit, defaults left to the
 * apiserver, empty lists. Each returns a new spec; the differential test expects both sides to accept them.
 */

type Obj = Record<string, Json>
type Spec = Obj & { containers: Obj[] }

const firstContainer = (spec: Spec, change: (container: Obj) => Obj): Spec =>
  ({ ...spec, containers: spec.containers.map((container, index) => index === 0 ? change(container) : container) })
const without = (spec: Spec, key: string): Spec => Object.fromEntries(Object.entries(spec).filter(([name]) => name !== key)) as Spec
const readyz = (httpGet: Obj) => (container: Obj): Obj => ({ ...container, readyz: { httpGet } })
const env = (entries: Json[]) => (container: Obj): Obj => ({ ...container, env: entries })

export const validVariants: Array<[string, (spec: Spec) => Obj]> = [
  ['name-63', (spec) => firstContainer(spec, (c) => ({ ...c, name: 'a'.repeat(63) }))],
  ['name-1', (spec) => firstContainer(spec, (c) => ({ ...c, name: 'a' }))],
  ['name-digits', (spec) => firstContainer(spec, (c) => ({ ...c, name: '0-9' }))],
  ['containers-10', (spec) => ({ ...spec, containers: Array.from({ length: 10 }, (_, i) => ({ ...spec.containers[0], name: `c${i}`, volumeMounts: [] })) })],
  ['containers-empty', (spec) => ({ ...spec, containers: [] })],
  ['containers-absent', (spec) => without(spec, 'containers')],
  ['env-32', (spec) => firstContainer(spec, env(Array.from({ length: 32 }, (_, i) => ({ name: `VAR_${i}`, value: `${i}` }))))],
  ['env-printable-name', (spec) => firstContainer(spec, env([{ name: ' !"#$%&\'()*+,-./:;<>?@[\\]^_`{|}~', value: 'x' }]))],
  ['env-empty-value', (spec) => firstContainer(spec, env([{ name: 'EMPTY', value: '' }]))],
  ['env-secret-253', (spec) => firstContainer(spec, env([{ name: 'S', valueFrom: { secretKeyRef: { name: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, key: '-._aZ09' } } }]))],
  ['env-empty', (spec) => firstContainer(spec, env([]))],
  ['args-64', (spec) => firstContainer(spec, (c) => ({ ...c, args: Array.from({ length: 64 }, (_, i) => `--a${i}`) }))],
  ['command-64', (spec) => firstContainer(spec, (c) => ({ ...c, command: Array.from({ length: 64 }, (_, i) => `x${i}`) }))],
  ['port-1', (spec) => firstContainer(spec, readyz({ port: 1 }))],
  ['port-65535', (spec) => firstContainer(spec, readyz({ port: 65535, path: '/' }))],
  ['path-default', (spec) => firstContainer(spec, readyz({ port: 8080 }))],
  ['path-escapes', (spec) => firstContainer(spec, readyz({ port: 8080, path: '/a%20b/%7E' }))],
  ['path-punctuation', (spec) => firstContainer(spec, readyz({ port: 8080, path: "/-._~!$&'()*+,;=:@/" }))],
  ['path-1024', (spec) => firstContainer(spec, readyz({ port: 8080, path: `/${'p'.repeat(1023)}` }))],
  ['mount-dots-in-names', (spec) => firstContainer(spec, (c) => ({ ...c, volumeMounts: [{ name: 'data', mountPath: '/a.b/c..d/...' }] }))],
  ['mount-none', (spec) => firstContainer(spec, (c) => ({ ...c, volumeMounts: [] }))],
  ['class-absent', (spec) => without(spec, 'sandboxClass')],
  ['microvm-no-volumes', (spec) => ({ ...firstContainer(without(spec, 'volumes'), (c) => ({ ...c, volumeMounts: [] })), sandboxClass: 'microvm' })],
  ['volumes-empty', (spec) => ({ ...firstContainer(spec, (c) => ({ ...c, volumeMounts: [] })), volumes: [] })],
  ['snapshots-data-data', (spec) => ({ ...spec, snapshotsConfig: { location: 'gs://b/', onPause: 'Data', onCommit: 'Data' } })],
  ['snapshots-full-full', (spec) => ({ ...spec, snapshotsConfig: { location: 'gs://b/', onPause: 'Full', onCommit: 'Full' } })],
  ['snapshots-defaults', (spec) => ({ ...spec, snapshotsConfig: { location: 'gs://b/' } })],
  ['selector-empty', (spec) => ({ ...spec, workerSelector: {} })],
  ['selector-exists', (spec) => ({ ...spec, workerSelector: { matchExpressions: [{ key: 'pool', operator: 'Exists' }] } })],
  ['secret-optional-false', (spec) => firstContainer(spec, env([{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: false } } }]))]
]
