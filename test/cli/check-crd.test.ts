import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 15 §1: `check --crd` validates against the CustomResourceDefinition as the apiserver will.

const rulesCrd = 'test/fixtures/crd/actortemplates-rules.ate.dev.yaml'
const transitionNote = '  note: spec: rule "self == oldSelf" not checked offline: transition rule (it reads oldSelf; the apiserver runs it only on update)'

t.test('a valid tag template: admissible, pins listed, the transition rule said not checked', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--crd', rulesCrd, 'examples/agent.yaml'], io), 0)
  t.equal(io.out(), [
    'examples/agent.yaml: ActorTemplate team-a/agent: admissible',
    '  spec.pauseImage: registry.k8s.io/pause:3.10 would be pinned',
    '  spec.containers[0].image: ghcr.io/acme/agent:1.4 would be pinned',
    transitionNote,
    ''
  ].join('\n'))
  t.equal(io.err(), '')
})

t.test('the issue\'s examples are rejected with the apiserver\'s field paths, exit 1', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--crd', rulesCrd, 'test/fixtures/crd/issue-15-examples.yaml'], io), 1)
  const notRun = '  <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'
  const file = 'test/fixtures/crd/issue-15-examples.yaml'
  t.equal(io.out(), [
    `${file}#1: ActorTemplate team-a/bad-name: would be rejected (1 problem)`,
    '  spec.containers[0].name: Invalid value: "Agent_1": Name must be a valid DNS label',
    transitionNote,
    `${file}#2: ActorTemplate team-a/env-both: would be rejected (1 problem)`,
    '  spec.containers[0].env[0]: Invalid value: exactly one of the fields in [value valueFrom] must be set',
    transitionNote,
    `${file}#3: ActorTemplate team-a/microvm-durable: would be rejected (1 problem)`,
    '  spec: Invalid value: DurableDir volumes are not supported when sandboxClass is \'microvm\'',
    transitionNote,
    `${file}#4: ActorTemplate team-a/no-snapshots: would be rejected (2 problems)`,
    '  spec.snapshotsConfig: Required value',
    notRun,
    `${file}#5: ActorTemplate team-a/unknown-field: would be rejected (1 problem)`,
    '  spec.replicas: unknown field (strict decoding error: kubectl rejects it by default; with --validate=false the apiserver drops it)',
    transitionNote,
    ''
  ].join('\n'))
})

t.test('without --crd the output says only the webhook\'s rules were checked', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', 'test/fixtures/crd/issue-15-examples.yaml'], io), 0)
  t.match(io.err(), /^note: only the webhook's rules were checked, not the CRD's schema and CEL rules; pass --crd FILE/)
})

t.test('--crd is repeatable; the CRD serving the template\'s apiVersion and kind judges it', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--crd', 'test/fixtures/crd/features.example.com.yaml', '--crd', rulesCrd, 'examples/pinned.yaml'], io), 0)
  t.match(io.out(), /team-a\/pinned: admissible/)
  const other = captureIo()
  t.equal(await main(['check', '--crd', 'test/fixtures/crd/features.example.com.yaml', 'examples/pinned.yaml'], other), 1)
  t.match(other.out(), /no --crd file serves ate\.dev\/v1alpha1 ActorTemplate; the apiserver would answer "no matches for kind"/)
})

t.test('a rule that cannot run offline makes the template not fully checked, exit 1', async (t) => {
  const dir = t.testdir()
  const crd = join(dir, 'crd.yaml')
  await writeFile(crd, JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'actortemplates.ate.dev' },
    spec: {
      group: 'ate.dev',
      names: { kind: 'ActorTemplate', plural: 'actortemplates' },
      versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-validations': [{ rule: "isURL('https://x')" }] } } }]
    }
  }))
  const io = captureIo()
  t.equal(await main(['check', '--crd', crd, 'examples/pinned.yaml'], io), 1)
  t.equal(io.out(), [
    'examples/pinned.yaml: ActorTemplate team-a/pinned: not fully checked (1 rule could not run offline)',
    '  note: <root>: rule "isURL(\'https://x\')" not checked offline: unbound function: isURL',
    ''
  ].join('\n'))
})

t.test('bad --crd files are input errors, exit 2', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['nonexistent.yaml', /^cannot read --crd nonexistent\.yaml: ENOENT/],
    ['examples/agent.yaml', /^--crd examples\/agent\.yaml: no CustomResourceDefinition found/]
  ]
  for (const [file, message] of cases) {
    const io = captureIo()
    t.equal(await main(['check', '--crd', file, 'examples/agent.yaml'], io), 2, file)
    t.match(io.err(), message)
  }
})

t.test('YAML is judged as kubectl sends it: an unquoted yes is a boolean, with a hint to quote it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'atw-check-yaml-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const template = (value: string): string => `apiVersion: ate.dev/v1alpha1
kind: ActorTemplate
metadata: {name: agent, namespace: team-a}
spec:
  pauseImage: registry.k8s.io/pause:3.10
  snapshotsConfig: {location: gs://acme/snapshots}
  containers:
  - name: agent
    image: ghcr.io/acme/agent:1.4
    env:
    - {name: VERBOSE, value: ${value}}
`
  await writeFile(join(dir, 'unquoted.yaml'), template('yes'))
  await writeFile(join(dir, 'quoted.yaml'), template('"yes"'))
  const unquoted = captureIo()
  t.equal(await main(['check', '--crd', rulesCrd, join(dir, 'unquoted.yaml')], unquoted), 1)
  t.match(unquoted.out(), 'spec.containers[0].env[0].value: Invalid value: "boolean": spec.containers[0].env[0].value in body must be of type string: "boolean"')
  t.match(unquoted.out(), '  hint: kubectl reads YAML 1.1, where unquoted yes, no, on, off, y and n are booleans and 0755, 1_000, 1e3 numbers; quote text values ("yes")')
  const quoted = captureIo()
  t.equal(await main(['check', '--crd', rulesCrd, join(dir, 'quoted.yaml')], quoted), 0, quoted.out())
  t.notMatch(quoted.out(), /hint: kubectl reads YAML 1.1/)
})
